import type { PipelineHandle, RenderJob, Stage } from './contract.js';
import { STAGES } from './contract.js';
import { parseFailure, type FailureCode, type JobFailure } from './failures.js';
import { readPipelineHealth, type PipelineHealth } from './heartbeat.js';
import { pipelineKeys } from './keys.js';
import { getEffectiveMode, setModeOverride, type EffectiveMode } from './mode.js';
import type { ProcessingMode } from './config.js';

/**
 * What the bot's admin commands need, as thin wrappers over BullMQ and the pipeline's keys:
 * /queue → getQueueOverview, /failed → listFailed, /retry → retryJob / retryAllFailed, /pause /resume,
 * /mode → getModeView / setMode, /stats → getStats.
 */

export interface QueueOverview {
  counts: { waiting: number; active: number; delayed: number; prioritized: number; completed: number; failed: number };
  paused: boolean;
}

export async function getQueueOverview(p: Pick<PipelineHandle, 'queue'>): Promise<QueueOverview> {
  const [c, paused] = await Promise.all([
    p.queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'completed', 'failed'),
    p.queue.isPaused(),
  ]);
  return {
    counts: {
      // A paused queue reports its jobs as `waiting` in BullMQ 6.
      waiting: c.waiting ?? 0,
      active: c.active ?? 0,
      delayed: c.delayed ?? 0,
      prioritized: c.prioritized ?? 0,
      completed: c.completed ?? 0,
      failed: c.failed ?? 0,
    },
    paused,
  };
}

export interface FailedJobInfo {
  id: string;
  failure: JobFailure;
  attemptsMade: number;
  finishedAt: string | null;
  userId: number | null;
  chatId: number | null;
  output: string | null;
}

/** The newest failures first. */
export async function listFailed(p: Pick<PipelineHandle, 'queue'>, limit = 10): Promise<FailedJobInfo[]> {
  const jobs = (await p.queue.getFailed(0, Math.max(0, limit - 1))) as RenderJob[];
  return jobs
    .filter(Boolean)
    .map((j) => ({
      id: j.id!,
      failure: parseFailure(j.failedReason),
      attemptsMade: j.attemptsMade,
      finishedAt: j.finishedOn ? new Date(j.finishedOn).toISOString() : null,
      userId: j.data?.userId ?? null,
      chatId: j.data?.chatId ?? null,
      output: j.data?.output ?? null,
    }));
}

export type RetryOutcome = 'retried' | 'not_found' | 'not_failed';

/** Puts a failed job back in the queue with a fresh set of attempts; it resumes from its stored stages. */
export async function retryJob(p: Pick<PipelineHandle, 'queue' | 'redis' | 'prefix'>, jobId: string): Promise<RetryOutcome> {
  const job = (await p.queue.getJob(jobId)) as RenderJob | undefined;
  if (!job) return 'not_found';
  if ((await job.getState()) !== 'failed') return 'not_failed';
  const keys = pipelineKeys(p.prefix);
  // A new run may fail again and deserves its own notice (and count); a stale cancel flag must not stop it.
  await p.redis.del(keys.failureNotified(jobId), keys.failureCounted(jobId), keys.cancel(jobId));
  await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
  return 'retried';
}

/** Retries every failed job; returns how many there were. */
export async function retryAllFailed(p: Pick<PipelineHandle, 'queue' | 'redis' | 'prefix'>): Promise<number> {
  let retried = 0;
  for (;;) {
    const jobs = (await p.queue.getFailed(0, 99)) as RenderJob[];
    const ids = jobs.filter(Boolean).map((j) => j.id!);
    if (!ids.length) return retried;
    for (const id of ids) if ((await retryJob(p, id)) === 'retried') retried++;
    if (ids.length < 100) return retried;
  }
}

/** Stops workers from taking new jobs (running ones finish). */
export async function pauseQueue(p: Pick<PipelineHandle, 'queue'>): Promise<void> {
  await p.queue.pause();
}

export async function resumeQueue(p: Pick<PipelineHandle, 'queue'>): Promise<void> {
  await p.queue.resume();
}

export interface ModeView extends EffectiveMode {
  health: PipelineHealth;
}

/** The effective mode plus what the workers report (GPU health, provider, fallback counts). */
export async function getModeView(p: Pick<PipelineHandle, 'redis' | 'prefix'>, envMode: ProcessingMode): Promise<ModeView> {
  const r = { redis: p.redis, prefix: p.prefix };
  const [mode, health] = await Promise.all([getEffectiveMode(r, envMode), readPipelineHealth(r)]);
  return { ...mode, health };
}

/** Sets (or with null clears) the admin override of PROCESSING_MODE; workers apply it at their next job. */
export async function setMode(p: Pick<PipelineHandle, 'redis' | 'prefix'>, mode: ProcessingMode | null, by?: number): Promise<void> {
  await setModeOverride({ redis: p.redis, prefix: p.prefix }, mode, by);
}

export interface PipelineStats {
  since: string;
  completed: number;
  failed: number;
  /** Median wall time per stage of the completed jobs (stages that ran in them). */
  medianStageMs: Partial<Record<Stage, number>>;
  medianTotalMs: number | null;
  overlay: { gpu: number; cpu: number; gpuShare: number | null; fallbacks: number };
  failuresByCode: Partial<Record<FailureCode, number>>;
}

/** Stats over the retained jobs finished since `since` (default: midnight UTC today). */
export async function getStats(p: Pick<PipelineHandle, 'queue'>, o: { since?: Date; maxJobs?: number } = {}): Promise<PipelineStats> {
  const since = o.since ?? startOfTodayUtc();
  const max = o.maxJobs ?? 1000;
  const [completedJobs, failedJobs] = (await Promise.all([p.queue.getCompleted(0, max - 1), p.queue.getFailed(0, max - 1)])) as [
    RenderJob[],
    RenderJob[],
  ];
  const recent = (jobs: RenderJob[]) => jobs.filter((j) => j && (j.finishedOn ?? 0) >= since.getTime());
  const done = recent(completedJobs).filter((j) => j.returnvalue);
  const failed = recent(failedJobs);

  const medianStageMs: Partial<Record<Stage, number>> = {};
  for (const stage of STAGES) {
    const m = median(done.map((j) => j.returnvalue.timingsMs?.[stage]).filter((v): v is number => typeof v === 'number'));
    if (m !== null) medianStageMs[stage] = m;
  }
  const gpu = done.filter((j) => j.returnvalue.overlay?.path === 'gpu').length;
  const cpu = done.filter((j) => j.returnvalue.overlay?.path === 'cpu').length;
  const failuresByCode: Partial<Record<FailureCode, number>> = {};
  for (const j of failed) {
    const code = parseFailure(j.failedReason).code;
    failuresByCode[code] = (failuresByCode[code] ?? 0) + 1;
  }
  return {
    since: since.toISOString(),
    completed: done.length,
    failed: failed.length,
    medianStageMs,
    medianTotalMs: median(done.map((j) => j.returnvalue.timingsMs?.total).filter((v): v is number => typeof v === 'number')),
    overlay: {
      gpu,
      cpu,
      gpuShare: gpu + cpu > 0 ? gpu / (gpu + cpu) : null,
      fallbacks: done.filter((j) => j.returnvalue.overlay?.fallbackReason).length,
    },
    failuresByCode,
  };
}

function median(values: number[]): number | null {
  if (!values.length) return null;
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : Math.round((s[mid - 1]! + s[mid]!) / 2);
}

function startOfTodayUtc(): Date {
  const d = new Date();
  d.setUTCHours(0, 0, 0, 0);
  return d;
}

export { getEffectiveMode, setModeOverride, getModeOverride, type EffectiveMode } from './mode.js';
export { readPipelineHealth, readHeartbeats, readCounters, type PipelineHealth, type WorkerHeartbeat, type PipelineCounters, type GpuHealthSnapshot } from './heartbeat.js';
export { cancelJob, openPipeline, type PipelineHandle } from './contract.js';
