import { parseArgs } from 'node:util';
import { z } from 'zod';
import { ENGINES } from '../pipeline/contract.js';
import { CHAOS_EVENTS, EXTRA_CHAOS_EVENTS, type ChaosEvent } from './chaos.js';

/** `npm run loadtest -- [--users N] [--workers N] [--chaos [event,…]] [--timeout-sec S] [--report FILE] …`, checked with zod. */
export const loadTestConfigSchema = z.object({
  users: z.coerce.number().int().min(1).max(200).default(5),
  workers: z.coerce.number().int().min(1).max(8).default(2),
  /** Bare `--chaos` means every event; a comma list picks some. */
  chaos: z
    .string()
    .default('')
    .transform((s) => (s === 'all' ? [...CHAOS_EVENTS] : s.split(',').map((x) => x.trim()).filter(Boolean)))
    .pipe(z.array(z.enum([...CHAOS_EVENTS, ...EXTRA_CHAOS_EVENTS]))),
  timeoutSec: z.coerce.number().int().min(30).max(3600).default(600),
  report: z.string().optional(),
  seed: z.coerce.number().int().min(0).default(1),
  /** Gap between two users' first messages. */
  rampMs: z.coerce.number().int().min(0).max(60_000).default(1500),
  /** The bot's preview photo before Confirm (the real dialogue has it; it costs CPU). */
  preview: z.enum(['true', 'false']).default('true').transform((v) => v === 'true'),
  /**
   * How long a worker waits for the GPU worker before running the overlay on its own CPU. The GPU worker here runs
   * on the CPU provider, where the quality engine (ISNet) takes seconds per frame: this bounds what a job spends there.
   */
  gpuDeadlineMs: z.coerce.number().int().min(1000).max(600_000).default(30_000),
  /**
   * The engines users pick from (default all). The GPU worker here runs on the CPU provider, where the quality
   * engine (ISNet) takes seconds per frame; `--engines fast` keeps a short run short.
   */
  engines: z
    .string()
    .default(ENGINES.join(','))
    .transform((s) => s.split(',').map((x) => x.trim()))
    .pipe(z.array(z.enum(ENGINES)).min(1)),
  /** The workers' PROCESSING_MODE: `cpu` measures the CPU path alone (jobs per hour per worker). */
  mode: z.enum(['auto', 'gpu', 'cpu']).default('auto'),
  /** Keep the run's folder (logs, Redis AOF, work dirs) even when the run passed. */
  keep: z.boolean().default(false),
});

export type LoadTestConfig = z.infer<typeof loadTestConfigSchema>;
export type LoadTestInput = z.input<typeof loadTestConfigSchema>;

export function parseCli(argv: string[]): LoadTestConfig {
  // `--chaos` without a value (last, or followed by another flag) means all events.
  const args = argv.flatMap((a, i) => (a === '--chaos' && (i === argv.length - 1 || argv[i + 1]!.startsWith('--')) ? ['--chaos=all'] : [a]));
  const { values } = parseArgs({
    args,
    options: {
      users: { type: 'string' },
      workers: { type: 'string' },
      chaos: { type: 'string' },
      'timeout-sec': { type: 'string' },
      report: { type: 'string' },
      seed: { type: 'string' },
      'ramp-ms': { type: 'string' },
      preview: { type: 'string' },
      'gpu-deadline-ms': { type: 'string' },
      engines: { type: 'string' },
      mode: { type: 'string' },
      keep: { type: 'boolean' },
    },
    strict: true,
  });
  const { 'timeout-sec': timeoutSec, 'ramp-ms': rampMs, 'gpu-deadline-ms': gpuDeadlineMs, ...rest } = values;
  const r = loadTestConfigSchema.safeParse({ ...rest, timeoutSec, rampMs, gpuDeadlineMs });
  if (!r.success) throw new Error(`bad arguments: ${r.error.issues.map((i) => `--${String(i.path[0])}: ${i.message}`).join('; ')}`);
  return r.data;
}

export type { ChaosEvent };
