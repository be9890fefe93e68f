import { getQueueOverview, type QueueOverview } from './admin.js';
import type { PipelineHandle } from './contract.js';
import { isFailureCode, MEDIA_FAILURE_CODES, PIPELINE_FAILURE_CODES, type FailureCode } from './failures.js';
import { pipelineKeys } from './keys.js';
import type { PipelineRedis } from './redis.js';
import { readEstimateErrors, type EstimateErrors } from './routing/error-store.js';

/**
 * The numbers operators see in both places — `/metrics` (metrics-collectors.ts) and `/stats` in the bot — read by
 * this one function, so the two cannot disagree. They live in BullMQ and in the pipeline's counters hash in Redis,
 * not in a process: every worker adds to them, and the bot (which runs no jobs) reads the same totals.
 */
export interface OperatorNumbers {
  queue: QueueOverview;
  /** Jobs that failed for good, by code, since the counters hash was created (all workers). */
  failuresByCode: Record<FailureCode, number>;
  overlays: { gpu: number; cpu: number };
  /** Overlays that ran on the CPU instead of the GPU, by reason (as /mode shows them). */
  fallbacks: Record<string, number>;
  /** Auto mode's route estimates against what the path that ran took: count and mean absolute % error, last 24 h. */
  routing: EstimateErrors;
}

export const FAILURE_CODES: readonly FailureCode[] = [...MEDIA_FAILURE_CODES, ...PIPELINE_FAILURE_CODES];

export async function readOperatorNumbers(p: Pick<PipelineHandle, 'queue' | 'redis' | 'prefix'>): Promise<OperatorNumbers> {
  const [queue, counters, routing] = await Promise.all([
    getQueueOverview(p),
    p.redis.hgetall(pipelineKeys(p.prefix).counters),
    readEstimateErrors({ redis: p.redis, prefix: p.prefix }),
  ]);
  const failuresByCode = Object.fromEntries(FAILURE_CODES.map((c) => [c, 0])) as Record<FailureCode, number>;
  const fallbacks: Record<string, number> = {};
  for (const [field, value] of Object.entries(counters)) {
    const [kind, ...rest] = field.split(':');
    const name = rest.join(':');
    if (kind === 'failed' && isFailureCode(name)) failuresByCode[name] = Number(value);
    if (kind === 'fallback') fallbacks[name] = Number(value);
  }
  const overlays = { gpu: Number(counters['overlay:gpu'] ?? 0), cpu: Number(counters['overlay:cpu'] ?? 0) };
  return { queue, failuresByCode, overlays, fallbacks, routing };
}

/**
 * Counts a job's final failure once, even when it is processed twice (a worker that died after counting and before
 * BullMQ marked the job failed). /retry clears the marker: a retried job that fails again counts again.
 */
export async function countFinalFailure(r: PipelineRedis, jobId: string, code: FailureCode, ttlSec: number): Promise<boolean> {
  const keys = pipelineKeys(r.prefix);
  if ((await r.redis.set(keys.failureCounted(jobId), '1', 'EX', ttlSec, 'NX')) !== 'OK') return false;
  await r.redis.hincrby(keys.counters, `failed:${code}`, 1);
  return true;
}
