import { Counter, Histogram, type Registry } from 'prom-client';
import type { Metrics } from './metrics.js';

/**
 * The in-process half of the operators' numbers, on a registry the entry point created (one per process). The
 * cluster-wide half (queue depth, failures, overlays, fallbacks) is read from Redis at scrape time:
 * pipeline/metrics-collectors.ts.
 */

/** Seconds: a note on the GPU takes ~10 s, a long video on a 2-core CPU close to an hour. */
const JOB_BUCKETS = [5, 10, 20, 30, 60, 120, 300, 600, 1200, 1800, 3600];

export function createPrometheusMetrics(registry: Registry): Metrics {
  const registers = [registry];
  const processing = new Histogram({
    name: 'bubblecast_job_duration_seconds',
    help: 'Processing time of the attempt that completed a job (this worker), by output kind and overlay path.',
    labelNames: ['output', 'path'] as const,
    buckets: JOB_BUCKETS,
    registers,
  });
  const latency = new Histogram({
    name: 'bubblecast_job_latency_seconds',
    help: 'Enqueue to completion of a job (queueing and retries included), by output kind and overlay path.',
    labelNames: ['output', 'path'] as const,
    buckets: JOB_BUCKETS,
    registers,
  });
  const telegram = new Counter({
    name: 'bubblecast_telegram_retries_total',
    help: 'Bot API calls sent again by the retry policy (common/telegram/policy.ts), by method and reason.',
    labelNames: ['method', 'reason'] as const,
    registers,
  });
  const shotstack = new Counter({
    name: 'bubblecast_shotstack_retries_total',
    help: 'Shotstack calls sent again (shotstack/http.ts), by reason; rate_limit = a 429 waited out.',
    labelNames: ['reason'] as const,
    registers,
  });
  return {
    jobCompleted: (j) => {
      processing.observe({ output: j.output, path: j.path }, j.processingSec);
      latency.observe({ output: j.output, path: j.path }, j.latencySec);
    },
    telegramRetry: (method, reason) => telegram.inc({ method, reason }),
    shotstackRetry: (reason) => shotstack.inc({ reason }),
  };
}
