import { API_PREFIX, type ErrorBody, type JobStatusBody } from '../server/api.js';
import { classifyHttpError, GpuWorkerError, isNetworkError } from './errors.js';
import { connectionFailed, deadlinePassed, jobFailed } from './failures.js';
import { readJson } from './http.js';
import { backoff, pause, type ClientContext } from './settings.js';
import type { GpuWorkerProgress } from './types.js';

export type JobOutcome = { lost: true } | { lost: false; status: JobStatusBody };

/** Polls until the job ends. 'lost' = the worker no longer has it (restart) or dropped it on shutdown. */
export async function waitForJob(
  ctx: ClientContext,
  jobId: string,
  signal: AbortSignal,
  until: number,
  onProgress?: (p: GpuWorkerProgress) => void,
): Promise<JobOutcome> {
  let interval = ctx.poll.min;
  let failures = 0;
  for (;;) {
    let failure: GpuWorkerError | null = null;
    let asked = performance.now();
    try {
      // The worker holds the answer up to `interval` ms or until the job ends (long poll), so the client
      // hears of the end at once; an older worker answers at once and the sleep below spaces the polls.
      asked = performance.now();
      const answer = await pollOnce(ctx, jobId, interval, signal, onProgress);
      if ('failure' in answer) failure = answer.failure;
      else if (answer.outcome) return answer.outcome;
      else failures = 0;
    } catch (e) {
      if (e instanceof GpuWorkerError || signal.aborted || !isNetworkError(e)) throw e;
      failure = connectionFailed('poll', e, jobId);
    }
    if (failure) {
      if (++failures > ctx.pollFailureLimit) throw failure;
      ctx.log.warn({ jobId, failures, reason: failure.reason }, 'gpu worker poll failed; retrying');
      await pause(backoff(failures, 250, 4000), signal, until, failure);
    } else {
      await pause(Math.max(0, interval - (performance.now() - asked)), signal, until, deadlinePassed(jobId, ctx.deadlineMs));
      interval = Math.min(ctx.poll.max, interval * 1.5);
    }
  }
}

/**
 * One status request: the job's end (`outcome`), a failure worth polling again (`failure`), or still running
 * (`outcome: null`). A failure that polling cannot fix (auth, the job failed) is thrown.
 */
async function pollOnce(
  ctx: ClientContext,
  jobId: string,
  interval: number,
  signal: AbortSignal,
  onProgress?: (p: GpuWorkerProgress) => void,
): Promise<{ failure: GpuWorkerError } | { outcome: JobOutcome | null }> {
  const res = await ctx.call('GET', `${API_PREFIX}/jobs/${jobId}?waitMs=${Math.round(interval)}`, signal);
  if (res.status === 404) {
    res.body.resume();
    return { outcome: { lost: true } };
  }
  if (res.status !== 200) {
    const failure = classifyHttpError(res.status, await readJson<ErrorBody>(res.body), 'poll', jobId);
    if (failure.kind !== 'unavailable') throw failure;
    return { failure };
  }
  const st = await readJson<JobStatusBody>(res.body);
  if (!st?.state) throw new GpuWorkerError('unavailable', 'bad_response', 'poll: the worker answered 200 without a job state', { jobId });
  onProgress?.({ jobId, state: st.state, progress: st.progress, fps: st.fps, provider: st.provider });
  if (st.state === 'done') return { outcome: { lost: false, status: st } };
  if (st.state === 'failed' && st.error?.code === 'shutdown') return { outcome: { lost: true } };
  if (st.state === 'failed' || st.state === 'cancelled') throw jobFailed(jobId, st);
  return { outcome: null };
}
