import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ZodError } from 'zod';
import { ConfigError } from '../../common/config.js';
import { isFfmpegUnavailableError } from '../../common/errors.js';
import { checkFfmpegTools } from '../../common/ffmpeg.js';
import { logger } from '../../common/logger.js';
import type { CalibrationStatus } from '../../shotstack/calibration/index.js';
import { loadShotstackConfig } from '../../shotstack/config.js';
import { formatReadings } from '../../shotstack/readings.js';
import { classifyError } from '../classify.js';
import { loadPipelineConfig, type ProcessingMode } from '../config.js';
import { parseJobData, STAGES, type JobData, type JobProgress, type JobResult } from '../contract.js';
import { runPipeline } from '../run-pipeline.js';
import { gpuClientFromConfig, openRenderer, renderSettingsFromConfig } from '../services.js';
import { createOverlayProducer } from '../stages/overlay.js';
import { ProgressTracker } from '../stages/progress.js';
import { MemoryStateStore } from '../stages/state.js';
import { ProgressBar } from './progress-bar.js';

const USAGE = `usage: npm run render -- --head head.mp4 [--background main.mp4] --out final.mp4
  [--output video|overlay|note]   video (default: bubble over the background, rendered), overlay (transparent WebM),
                                  note (round video-note MP4)
  [--shape circle|rounded|rect] [--position topLeft|top|topRight|left|center|right|bottomLeft|bottom|bottomRight]
  [--size S|M|L] [--engine fast|quality] [--aspect 9:16|16:9|1:1] [--resolution sd|hd|1080] [--keep-work]
Engine: the CPU in this process, or the GPU worker when GPU_WORKER_URL (+ GPU_WORKER_TOKEN) is set
(PROCESSING_MODE applies). Renderer: Shotstack when SHOTSTACK_API_KEY is set, else a local renderer in this process.
With Shotstack and no SHOTSTACK_READINGS, the first render waits for a calibration (a few probe renders).
`;
/** How long the CLI waits for a calibration before giving up (it has no queue to retry it later). */
const CLI_READINGS_WAIT_MS = 15 * 60_000;

type Values = Record<string, string | boolean | undefined>;

/** What the command line and the environment asked for, checked; or the exit code when there is nothing to run. */
type Command =
  | { exit: number }
  | { values: Values; data: JobData; cfg: ReturnType<typeof loadPipelineConfig>; shotstackCfg: ReturnType<typeof loadShotstackConfig> };

/** Runs the command; returns the exit code (0 ok, 1 failed, 2 bad usage). */
export async function main(argv: string[]): Promise<number> {
  const cmd = parseCommand(argv);
  if ('exit' in cmd) return cmd.exit;
  // Before any work: without working ffmpeg/ffprobe the command stops with the binary named and how to get it.
  try {
    await checkFfmpegTools();
  } catch (e) {
    if (!isFfmpegUnavailableError(e)) throw e;
    return reportFailure(e);
  }
  return render(cmd);
}

const OPTIONS = {
  head: { type: 'string' },
  background: { type: 'string' },
  out: { type: 'string' },
  output: { type: 'string' },
  shape: { type: 'string' },
  position: { type: 'string' },
  size: { type: 'string' },
  engine: { type: 'string' },
  aspect: { type: 'string' },
  resolution: { type: 'string' },
  'keep-work': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** Flags, help, the configs and the job: every usage or config error is printed here, with exit code 2. */
function parseCommand(argv: string[]): Command {
  let values: Values;
  try {
    ({ values } = parseArgs({ args: argv, options: OPTIONS, strict: true }));
  } catch (e) {
    process.stderr.write(`error: ${(e as Error).message}\n${USAGE}`);
    return { exit: 2 };
  }
  if (values.help) {
    process.stdout.write(USAGE);
    return { exit: 0 };
  }
  if (!str(values, 'head') || !str(values, 'out')) {
    process.stderr.write(`error: --head and --out are required\n${USAGE}`);
    return { exit: 2 };
  }
  try {
    const cfg = loadPipelineConfig();
    const shotstackCfg = loadShotstackConfig();
    return { values, data: jobDataFrom(values), cfg, shotstackCfg };
  } catch (e) {
    if (e instanceof ZodError) {
      process.stderr.write(`error: ${e.issues.map((i) => `${i.path.join('.') || 'options'}: ${i.message}`).join('; ')}\n${USAGE}`);
      return { exit: 2 };
    }
    if (e instanceof ConfigError) {
      process.stderr.write(`${e.message}\n`);
      return { exit: 2 };
    }
    throw e;
  }
}

function str(values: Values, k: string): string | undefined {
  return typeof values[k] === 'string' ? values[k] : undefined;
}

/** The job the worker would get, from the flags (local files; only the options given, so the defaults apply). */
function jobDataFrom(values: Values): JobData {
  const opt = (k: string) => (str(values, k) ? { [k]: str(values, k) } : {});
  return parseJobData({
    chatId: 0,
    userId: 0,
    head: { source: 'local', path: resolve(str(values, 'head')!) },
    background: str(values, 'background') ? { source: 'local', path: resolve(str(values, 'background')!) } : null,
    output: (str(values, 'output') ?? 'video') as JobData['output'],
    options: { ...opt('shape'), ...opt('position'), ...opt('size'), ...opt('engine'), ...opt('aspect'), ...opt('resolution') },
  });
}

/** The pipeline in this process with a progress bar: the overlay (GPU worker or CPU), the render, a copy to --out. */
async function render({ values, data, cfg, shotstackCfg }: Exclude<Command, { exit: number }>): Promise<number> {
  const outPath = resolve(str(values, 'out')!);
  const workDir = await mkdtemp(join(tmpdir(), 'bubblecast-render-'));
  const log = logger.child({ component: 'render-cli' });
  const gpu = gpuClientFromConfig(cfg, log);
  // Without a GPU worker there is nothing to try first: plain CPU mode, no "fallback" noise in the record.
  const mode: ProcessingMode = gpu ? cfg.PROCESSING_MODE : 'cpu';
  const renderer = data.output === 'video' ? await openRenderer(shotstackCfg, { dataDir: workDir, logger: log }) : null;
  const bar = new ProgressBar(process.stderr);
  const started = Date.now();
  const progress = new ProgressTracker(data.output, (p: JobProgress) => bar.render(p, Date.now() - started), 200);
  try {
    const result = await runPipeline({
      jobId: 'cli',
      data,
      workDir,
      state: new MemoryStateStore(),
      deps: {
        resolveInput: async (ref) => {
          if (ref.source !== 'local') throw new Error('the CLI takes local files only');
          return ref.path;
        },
        produceOverlay: createOverlayProducer({ mode: async () => mode, gpu: gpu?.client ?? null, cpuQualityEngine: cfg.PIPELINE_CPU_QUALITY_ENGINE }),
        // No queue retries here: wait for a first calibration as long as it takes (the worker waits less, then retries).
        renderer: renderer ? { ...renderer.renderer, readingsWaitMs: CLI_READINGS_WAIT_MS } : null,
        deliver: async (d) => {
          await mkdir(dirname(outPath), { recursive: true });
          await copyFile(d.path, outPath);
          return { method: 'file', bytes: d.bytes, path: outPath };
        },
        settings: renderSettingsFromConfig(cfg),
      },
      progress,
      signal: new AbortController().signal,
      log,
    });
    bar.done();
    printSummary(result, renderer ? { isLocal: renderer.renderer.isLocal, readings: await renderer.renderer.readings.status().catch(() => null) } : null);
    process.stdout.write(`${outPath}\n`);
    return 0;
  } catch (e) {
    bar.done();
    return reportFailure(e);
  } finally {
    await renderer?.close().catch(() => undefined);
    if (!values['keep-work']) await rm(workDir, { recursive: true, force: true });
    else process.stderr.write(`work files kept in ${workDir}\n`);
  }
}

/** `failed: <category>:<code>: <detail>` on stderr, the job's failure as the worker would record it; exit code 1. */
function reportFailure(e: unknown): number {
  const { failure } = classifyError(e);
  process.stderr.write(`failed: ${failure.category}:${failure.code}: ${failure.message}\n`);
  return 1;
}

function printSummary(r: JobResult, renderer: { isLocal: boolean; readings: CalibrationStatus | null } | null): void {
  const sec = (ms: number | undefined) => (ms === undefined ? '   -  ' : `${(ms / 1000).toFixed(1).padStart(5)} s`);
  const lines = [
    `overlay: ${r.overlay.path} (provider ${r.overlay.provider}, engine ${r.overlay.engine}, mode ${r.overlay.mode}` +
      `${r.overlay.fallbackReason ? `, fell back: ${r.overlay.fallbackReason}` : ''})`,
    ...(renderer === null
      ? []
      : [
          `renderer: ${renderer.isLocal ? 'local (in-process)' : 'Shotstack'}` +
            (renderer.readings?.readings ? `, readings (${renderer.readings.origin}) ${formatReadings(renderer.readings.readings)}` : ''),
        ]),
    'stage timings:',
    ...STAGES.filter((s) => r.timingsMs[s] !== undefined).map((s) => `  ${s.padEnd(8)} ${sec(r.timingsMs[s])}`),
    `  ${'total'.padEnd(8)} ${sec(r.timingsMs.total)}`,
    `result: ${(r.delivered.bytes / 1e6).toFixed(2)} MB, ${r.durationSec.toFixed(1)} s`,
  ];
  process.stderr.write(`${lines.join('\n')}\n`);
}
