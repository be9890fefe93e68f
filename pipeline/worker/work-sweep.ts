import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../../common/logger.js';
import type { RenderQueue } from '../contract.js';
import { pipelineKeys } from '../keys.js';
import type { PipelineRedis } from '../redis.js';
import { jobIdOfFolder } from './work-folder.js';

/**
 * The periodic sweep of WORK_DIR. A job removes its own folder after delivery or on its final failure; this catches
 * what those miss — a worker killed mid-job, a job removed from the queue, a «Send again» window that has passed —
 * so the disk use stays bounded however long the worker runs. A folder is removed when
 *  - its job is finished (completed, failed for good, or gone from the queue) and no «Send again» window is open
 *    (the resend-parked key: the button resends the file in the folder), or
 *  - it is older than `maxAgeMs`, whatever its job's state,
 * but never while its job is running (here, or on another worker sharing the volume: BullMQ state `active`), and
 * never within `graceMs` of its last change (a job between two states is not judged on a passing glimpse).
 */
export interface WorkSweepOptions {
  workDir: string;
  queue: Pick<RenderQueue, 'getJobState'>;
  r: PipelineRedis;
  maxAgeMs: number;
  /** Default 1 h. */
  graceMs?: number;
  /** Jobs running in this process (checked besides BullMQ, which says `active` only once the lock is taken). */
  runningHere?: () => Iterable<string>;
  log: Logger;
}

export const SWEEP_GRACE_MS = 3600_000;

const FINISHED = new Set(['completed', 'failed', 'unknown']);

/** One pass; returns the folder names it removed. Errors are logged, never thrown (it runs from a timer). */
export async function sweepWorkDir(o: WorkSweepOptions): Promise<string[]> {
  const removed: string[] = [];
  try {
    const running = new Set(o.runningHere?.() ?? []);
    for (const name of await readdir(o.workDir)) {
      if (await shouldRemove(o, name, running)) {
        await rm(join(o.workDir, name), { recursive: true, force: true });
        removed.push(name);
      }
    }
    if (removed.length) o.log.info({ removed }, 'work folder sweep removed folders left behind');
  } catch (e) {
    o.log.warn({ err: (e as Error).message }, 'work folder sweep failed');
  }
  return removed;
}

async function shouldRemove(o: WorkSweepOptions, name: string, running: Set<string>): Promise<boolean> {
  const st = await stat(join(o.workDir, name)).catch(() => null);
  const ageMs = st ? Date.now() - st.mtimeMs : 0;
  if (!st?.isDirectory() || ageMs < (o.graceMs ?? SWEEP_GRACE_MS)) return false;
  const jobId = jobIdOfFolder(name);
  if (running.has(jobId)) return false;
  const state = await o.queue.getJobState(jobId);
  if (state === 'active') return false;
  if (ageMs >= o.maxAgeMs) return true;
  if (!FINISHED.has(state)) return false;
  return !(await o.r.redis.exists(pipelineKeys(o.r.prefix).resendParked(jobId)));
}

/** A sweep now and every `intervalMs` until `stop()` (the worker's close path calls it). */
export function startWorkSweep(o: WorkSweepOptions & { intervalMs: number }): { stop(): void; running(): Promise<unknown> } {
  let last: Promise<unknown> = sweepWorkDir(o);
  const timer = setInterval(() => {
    last = last.then(() => sweepWorkDir(o));
  }, o.intervalMs);
  timer.unref();
  return {
    stop: () => clearInterval(timer),
    // The pass in progress, so a close can wait for it before the Redis connection goes.
    running: () => last,
  };
}
