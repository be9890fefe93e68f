import type { ProcessingMode } from './config.js';
import type { OverlayRecord } from './contract.js';
import { pipelineKeys } from './keys.js';
import type { PipelineRedis } from './redis.js';

/**
 * What each worker tells admins about itself, refreshed every PIPELINE_HEARTBEAT_INTERVAL_MS under a key that
 * expires after three missed beats, plus pipeline-wide counters of which overlay path ran and why the CPU had to.
 * `/mode` and `/stats` in the bot read these through `readPipelineHealth`.
 */
export interface GpuHealthSnapshot {
  configured: boolean;
  /** Host(s) of GPU_WORKER_URL, comma-joined (never the token, never the full URL with credentials). */
  host: string | null;
  lastCheckAt: string | null;
  ok: boolean | null;
  /** The worker's own status (ok, starting, draining, error) or the failure reason of the check. */
  status: string | null;
  provider: 'cuda' | 'cpu' | null;
  gpuName: string | null;
  /**
   * Each GPU worker of GPU_WORKER_URL (one or several): the summary fields above are the pool's (hosts joined,
   * healthy when any is). Absent in heartbeats of workers older than the pool.
   */
  workers?: GpuWorkerSnapshot[];
}

export interface GpuWorkerSnapshot {
  /** host[:port] only. */
  host: string;
  /** False while it failed its last check or sits out a backoff after failing a job. */
  ok: boolean | null;
  status: string | null;
  provider: 'cuda' | 'cpu' | null;
  gpuName: string | null;
  /** This pipeline worker's jobs on it now. */
  inFlight: number;
  /** End of the backoff after a failed job (ISO), or null. */
  downUntil: string | null;
}

export interface WorkerHeartbeat {
  workerId: string;
  hostname: string;
  pid: number;
  startedAt: string;
  at: string;
  mode: { effective: ProcessingMode; source: 'override' | 'env'; env: ProcessingMode };
  concurrency: number;
  activeJobs: string[];
  shuttingDown: boolean;
  gpu: GpuHealthSnapshot;
}

export interface PipelineCounters {
  overlayGpu: number;
  overlayCpu: number;
  /** Fallbacks to the CPU by reason, e.g. { 'unavailable:connection_failed': 3 }. */
  fallbacks: Record<string, number>;
  fallbackTotal: number;
}

export async function writeHeartbeat(r: PipelineRedis, hb: WorkerHeartbeat, ttlMs: number): Promise<void> {
  const keys = pipelineKeys(r.prefix);
  await r.redis
    .multi()
    .set(keys.heartbeat(hb.workerId), JSON.stringify(hb), 'PX', ttlMs)
    .zadd(keys.workers, Date.now(), hb.workerId)
    // Workers silent for a day are forgotten, so the set does not grow with every deploy.
    .zremrangebyscore(keys.workers, 0, Date.now() - 24 * 3600_000)
    // …and the set itself once no worker has beaten for a day (no key of the app lives without a TTL).
    .expire(keys.workers, 24 * 3600)
    .exec();
}

export async function removeHeartbeat(r: PipelineRedis, workerId: string): Promise<void> {
  const keys = pipelineKeys(r.prefix);
  await r.redis.multi().del(keys.heartbeat(workerId)).zrem(keys.workers, workerId).exec();
}

/** Heartbeats of the workers alive now (their key has not expired), newest first. */
export async function readHeartbeats(r: PipelineRedis): Promise<WorkerHeartbeat[]> {
  const keys = pipelineKeys(r.prefix);
  const ids = await r.redis.zrevrange(keys.workers, 0, 99);
  if (!ids.length) return [];
  const raw = await r.redis.mget(ids.map((id) => keys.heartbeat(id)));
  return raw.flatMap((v) => {
    if (!v) return [];
    try {
      return [JSON.parse(v) as WorkerHeartbeat];
    } catch {
      return [];
    }
  });
}

/** Counts one finished overlay stage by path, and its fallback reason if any. */
export async function countOverlay(r: PipelineRedis, record: OverlayRecord): Promise<void> {
  const keys = pipelineKeys(r.prefix);
  const m = r.redis.multi().hincrby(keys.counters, `overlay:${record.path}`, 1);
  if (record.fallbackReason) m.hincrby(keys.counters, `fallback:${record.fallbackReason}`, 1);
  await m.exec();
}

export async function readCounters(r: PipelineRedis): Promise<PipelineCounters> {
  const all = await r.redis.hgetall(pipelineKeys(r.prefix).counters);
  const fallbacks: Record<string, number> = {};
  for (const [k, v] of Object.entries(all)) {
    if (k.startsWith('fallback:')) fallbacks[k.slice('fallback:'.length)] = Number(v);
  }
  return {
    overlayGpu: Number(all['overlay:gpu'] ?? 0),
    overlayCpu: Number(all['overlay:cpu'] ?? 0),
    fallbacks,
    fallbackTotal: Object.values(fallbacks).reduce((a, b) => a + b, 0),
  };
}

export interface PipelineHealth {
  workers: WorkerHeartbeat[];
  counters: PipelineCounters;
}

export async function readPipelineHealth(r: PipelineRedis): Promise<PipelineHealth> {
  const [workers, counters] = await Promise.all([readHeartbeats(r), readCounters(r)]);
  return { workers, counters };
}
