import { mkdir, stat } from 'node:fs/promises';
import type { OutputFileName, OverlayOptionsInput } from '../../engine/index.js';
import { API_PREFIX, type JobStatusBody } from '../server/api.js';
import { download, planDownloads } from './download.js';
import { GpuWorkerError } from './errors.js';
import { classifyFailure } from './failures.js';
import { waitForJob } from './polling.js';
import type { ClientContext } from './settings.js';
import { submit } from './submit.js';
import type { GpuWorkerProgress, GpuWorkerResult, ProcessOptions } from './types.js';

/** Failures that mean the worker misbehaved in a way worth an operator's look (not a passing outage). */
const SUSPICIOUS_REASONS = new Set(['off_origin_url', 'result_too_large']);

/**
 * One overlay on the worker, within `deadlineMs`: submit, poll, download, forget. A job the worker lost (restart,
 * shutdown) is submitted again up to `resubmitLimit` times; every failure leaves as a classified error.
 */
export async function runJob(ctx: ClientContext, inputPath: string, options: OverlayOptionsInput, p: ProcessOptions): Promise<GpuWorkerResult> {
  const started = performance.now();
  const until = Date.now() + ctx.deadlineMs;
  const deadline = AbortSignal.timeout(ctx.deadlineMs);
  const signal = p.signal ? AbortSignal.any([deadline, p.signal]) : deadline;
  const size = (await stat(inputPath)).size;
  await mkdir(p.outDir, { recursive: true });
  let jobId: string | null = null;
  let ranOnWorker = false;
  const onProgress = (pr: GpuWorkerProgress) => {
    if (pr.state !== 'queued') ranOnWorker = true;
    p.onProgress?.(pr);
  };
  try {
    for (let resubmits = 0; ; resubmits++) {
      const t0 = performance.now();
      jobId = await submit(ctx, inputPath, size, options, signal, until);
      const submitMs = performance.now() - t0;
      ctx.log.info({ jobId, bytes: size, submitMs: Math.round(submitMs), resubmits }, 'gpu worker job submitted');
      const outcome = await waitForJob(ctx, jobId, signal, until, onProgress);
      if (outcome.lost) {
        const lostId = jobId;
        jobId = null;
        if (resubmits < ctx.resubmitLimit) {
          ctx.log.warn({ jobId: lostId }, 'gpu worker lost the job (restarted instance?); submitting again');
          continue;
        }
        throw new GpuWorkerError('unavailable', 'job_lost', `The GPU worker lost job ${lostId} ${resubmits + 1} times (restarts or shutdowns).`, { jobId: lostId });
      }
      const { files, downloadMs } = await fetchResults(ctx, jobId, outcome.status, p.outDir, signal);
      return toResult(jobId, outcome.status, files, { resubmits, submitMs, downloadMs, started });
    }
  } catch (e) {
    if (jobId) void forget(ctx, jobId);
    const err = classifyFailure(e, p.signal, deadline, ctx.deadlineMs, jobId);
    if (err instanceof GpuWorkerError && err.reason === 'deadline') err.details.ranOnWorker = ranOnWorker;
    if (err instanceof GpuWorkerError) {
      const loud = err.kind === 'auth' || err.kind === 'bad_request' || SUSPICIOUS_REASONS.has(err.reason);
      ctx.log[loud ? 'error' : 'warn']({ jobId, kind: err.kind, reason: err.reason, status: err.details.status }, `gpu worker: ${err.message}`);
    }
    throw err;
  }
}

/** Downloads a done job's files into `outDir` and frees the worker's copy. */
async function fetchResults(ctx: ClientContext, jobId: string, st: JobStatusBody, outDir: string, signal: AbortSignal) {
  const t1 = performance.now();
  const files: Partial<Record<OutputFileName, string>> = {};
  for (const planned of planDownloads(ctx, jobId, st.result?.files ?? [], outDir)) {
    await download(ctx, jobId, planned, signal);
    files[planned.file.name] = planned.dest;
  }
  const downloadMs = performance.now() - t1;
  await forget(ctx, jobId);
  return { files, downloadMs };
}

/** What `process` resolves with: the worker's report of a done job plus the client's own counts and timings. */
function toResult(
  jobId: string,
  st: JobStatusBody,
  files: Partial<Record<OutputFileName, string>>,
  t: { resubmits: number; submitMs: number; downloadMs: number; started: number },
): GpuWorkerResult {
  const r = st.result!;
  return {
    jobId,
    files,
    provider: st.provider ?? 'cpu',
    fps: r.throughputFps,
    frames: r.frames,
    durationSec: r.durationSec,
    width: r.width,
    height: r.height,
    personCoverage: r.personCoverage,
    resubmits: t.resubmits,
    timings: {
      submitMs: Math.round(t.submitMs),
      queuedMs: st.timings.queuedMs,
      runMs: st.timings.runMs,
      downloadMs: Math.round(t.downloadMs),
      totalMs: Math.round(performance.now() - t.started),
      perFrame: st.timings.perFrame,
    },
  };
}

/** Best effort: frees the worker's disk (or cancels its work). Never throws, never outlives 5 s. */
async function forget(ctx: ClientContext, jobId: string): Promise<void> {
  try {
    const res = await ctx.call('DELETE', `${API_PREFIX}/jobs/${jobId}`, AbortSignal.timeout(5000));
    res.body.resume();
  } catch (e) {
    ctx.log.debug({ jobId, err: e }, 'gpu worker job delete failed (ignored)');
  }
}
