import { Counter, Gauge, type Registry } from 'prom-client';
import type { PipelineHandle } from './contract.js';
import { readOperatorNumbers, type OperatorNumbers } from './operator-numbers.js';

/**
 * The cluster-wide operators' numbers as Prometheus metrics, read from BullMQ and Redis when scraped (nothing polls
 * in between). Bot and worker both expose them, with the same values: sum them over instances and you count each
 * twice — aggregate with max() (see the README's metrics section).
 *
 * The `_total` ones are counters whose value is Redis' running total: reset and set on each scrape, which is what
 * Prometheus expects of a counter read from elsewhere (it copes with the drop if the hash is ever cleared).
 */
export function registerPipelineCollectors(registry: Registry, p: Pick<PipelineHandle, 'queue' | 'redis' | 'prefix'>): void {
  const read = oncePerScrape(() => readOperatorNumbers(p));
  const registers = [registry];
  new Gauge({
    name: 'bubblecast_queue_jobs',
    help: 'Jobs in the render queue by state (BullMQ getJobCounts; a paused queue reports its jobs as waiting).',
    labelNames: ['state'] as const,
    registers,
    async collect() {
      for (const [state, n] of Object.entries((await read()).queue.counts)) this.set({ state }, n);
    },
  });
  new Gauge({
    name: 'bubblecast_queue_paused',
    help: '1 while an admin has paused the render queue (/pause).',
    registers,
    async collect() {
      this.set((await read()).queue.paused ? 1 : 0);
    },
  });
  runningTotal(registry, 'bubblecast_job_failures_total', 'Jobs failed for good, by failure code (all workers).', 'code', (n) => n.failuresByCode, read);
  runningTotal(registry, 'bubblecast_overlays_total', 'Overlay stages finished, by path gpu|cpu (all workers).', 'path', (n) => n.overlays, read);
  runningTotal(registry, 'bubblecast_gpu_fallbacks_total', 'Overlays run on the CPU instead of the GPU, by reason (all workers).', 'reason', (n) => n.fallbacks, read);
  routingGauges(registry, read);
}

/** Auto mode's route estimates over the last 24 h (pipeline/routing/error-store.ts), per path that ran. */
function routingGauges(registry: Registry, read: () => Promise<OperatorNumbers>): void {
  const registers = [registry];
  new Gauge({
    name: 'bubblecast_routing_estimate_error_pct',
    help: 'Mean absolute % error of the auto-mode overlay time estimate against the real time, last 24 h, by path that ran (absent: none).',
    labelNames: ['path'] as const,
    registers,
    async collect() {
      this.reset();
      for (const [path, e] of Object.entries((await read()).routing)) if (e.mapePct !== null) this.set({ path }, e.mapePct);
    },
  });
  new Gauge({
    name: 'bubblecast_routing_estimates',
    help: 'Auto-mode overlay time estimates scored against the real time in the last 24 h, by path that ran.',
    labelNames: ['path'] as const,
    registers,
    async collect() {
      for (const [path, e] of Object.entries((await read()).routing)) this.set({ path }, e.count);
    },
  });
}

function runningTotal(
  registry: Registry,
  name: string,
  help: string,
  label: string,
  pick: (n: OperatorNumbers) => Record<string, number>,
  read: () => Promise<OperatorNumbers>,
): void {
  new Counter({
    name,
    help,
    labelNames: [label],
    registers: [registry],
    async collect() {
      const values = pick(await read());
      this.reset();
      for (const [value, n] of Object.entries(values)) this.inc({ [label]: value }, n);
    },
  });
}

/**
 * prom-client starts every metric's collect() in the same tick of a scrape: they share the one Redis read in flight
 * instead of making five. Nothing is kept after it settles, so the next scrape reads afresh.
 */
function oncePerScrape<T>(load: () => Promise<T>): () => Promise<T> {
  let inFlight: Promise<T> | null = null;
  return () => {
    inFlight ??= load().finally(() => {
      inFlight = null;
    });
    return inFlight;
  };
}
