import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { CancelledError } from '../../common/errors.js';
import { logger as rootLogger, type Logger } from '../../common/logger.js';
import { OUTPUT_FILES, type OutputFileName, type OverlayOptionsInput, type StageTimings } from '../../engine/index.js';
import {
  API_PREFIX,
  OPTIONS_HEADER,
  TOKEN_HEADER,
  isMediaErrorCode,
  type ErrorBody,
  type HealthBody,
  type JobState,
  type JobStatusBody,
  type ResultFileInfo,
  type SubmitAccepted,
} from '../server/api.js';
import { classifyHttpError, GpuWorkerError, isNetworkError } from './errors.js';
import { exchange, readJson, type HttpAnswer, type HttpExchange } from './http.js';
import { parseWorkerBaseUrl, resolveOnWorker } from './urls.js';

/**
 * The pipeline's client of the GPU worker: upload a local file, poll, download the results — all within one
 * deadline, with every failure classified (errors.ts) so the pipeline knows whether to fall back to the CPU.
 * It only ever uploads bytes from disk: Telegram file URLs (which embed the bot token) never leave the pipeline.
 */
export interface GpuWorkerClientOptions {
  /**
   * Base URL of the worker, e.g. https://…modal.run. Must be https: (plain http: only to a loopback host); checked
   * when the client is created. Requests never leave this origin, whatever the worker's answers say.
   */
  url: string;
  token: string;
  /** Everything (upload, queue, run, download) must end within this; then kind `unavailable`. Default 15 min. */
  deadlineMs?: number;
  /** Submissions tried on connection errors, 429 and 5xx. Default 4. */
  submitAttempts?: number;
  /** Poll interval grows from min to max (×1.5 each poll). Default 250..2000 ms. */
  pollIntervalMs?: { min: number; max: number };
  /** Consecutive failed polls (connection errors, 5xx) before giving up. Default 4 (≈ 4 s of backoff). */
  pollFailureLimit?: number;
  /** Resubmissions when the job vanished (404 from a restarted instance, or failed with code `shutdown`). Default 1. */
  resubmitsOnLostJob?: number;
  /** A longer Retry-After than this (or than the time left) gives up at once instead of waiting. Default 30 s. */
  maxRetryAfterMs?: number;
  /** Socket idle limit per request. Default 30 s. */
  idleTimeoutMs?: number;
  /** Ask for `100 Continue` before uploading. Default true. */
  expectContinue?: boolean;
  /**
   * Where the token goes: `authorization` (Bearer, default) or `x-gpu-worker-token` for gateways that use
   * Authorization for their own key (RunPod: pass `headers: {authorization: 'Bearer <RUNPOD_API_KEY>'}`).
   */
  tokenHeader?: 'authorization' | typeof TOKEN_HEADER;
  /** Sent with every request (a gateway's own key, e.g. RunPod's API key or Modal's proxy-auth headers). */
  headers?: Record<string, string>;
  /**
   * Largest result file accepted. Each download is also held to the size the worker announced for that file in the
   * job's status, and aborted the moment it passes it. Default 2 GiB.
   */
  maxResultBytes?: number;
  logger?: Logger;
}

export interface GpuWorkerProgress {
  jobId: string;
  state: JobState;
  progress: number;
  fps: number | null;
  provider: 'cuda' | 'cpu' | null;
}

export interface ProcessOptions {
  /** Where the result files are written (created if missing), under their fixed names (overlay.webm…). */
  outDir: string;
  onProgress?: (p: GpuWorkerProgress) => void;
  /** Aborting it cancels the job on the worker and rejects with CancelledError. */
  signal?: AbortSignal;
}

export interface GpuWorkerResult {
  jobId: string;
  files: Partial<Record<OutputFileName, string>>;
  provider: 'cuda' | 'cpu';
  /** Engine throughput on the worker, frames per second. */
  fps: number;
  frames: number;
  durationSec: number;
  width: number;
  height: number;
  personCoverage: number;
  /** How often the job had to be submitted again (lost to a restart). */
  resubmits: number;
  /** Which worker ran it (host only), and the workers that failed it before: set by a pool of workers. */
  host?: string;
  failedOver?: Array<{ host: string; reason: string }>;
  timings: {
    /** Upload + worker-side probe, until 202. */
    submitMs: number;
    queuedMs: number | null;
    runMs: number | null;
    downloadMs: number;
    totalMs: number;
    perFrame: StageTimings | null;
  };
}

export interface GpuWorkerClient {
  process(inputPath: string, options: OverlayOptionsInput, opts: ProcessOptions): Promise<GpuWorkerResult>;
  /** GET /health. Throws GpuWorkerError `unavailable` when the worker cannot be reached. */
  health(opts?: { signal?: AbortSignal }): Promise<HealthBody>;
}

const KNOWN_FILES = new Set<string>(Object.values(OUTPUT_FILES).flat());
const DOWNLOAD_ATTEMPTS = 3;
/** A self-hosted Telegram Bot API server sends files up to 2000 MB: a bigger result could not be delivered anyway. */
const DEFAULT_MAX_RESULT_BYTES = 2 * 1024 ** 3;
/** Failures that mean the worker misbehaved in a way worth an operator's look (not a passing outage). */
const SUSPICIOUS_REASONS = new Set(['off_origin_url', 'result_too_large']);

interface PlannedDownload {
  file: ResultFileInfo;
  dest: string;
}

export function createGpuWorkerClient(o: GpuWorkerClientOptions): GpuWorkerClient {
  const base = parseWorkerBaseUrl(o.url);
  const deadlineMs = o.deadlineMs ?? 15 * 60_000;
  const submitAttempts = o.submitAttempts ?? 4;
  const poll = o.pollIntervalMs ?? { min: 250, max: 2000 };
  const pollFailureLimit = o.pollFailureLimit ?? 4;
  const resubmitLimit = o.resubmitsOnLostJob ?? 1;
  const maxRetryAfterMs = o.maxRetryAfterMs ?? 30_000;
  const idleTimeoutMs = o.idleTimeoutMs ?? 30_000;
  const expectContinue = o.expectContinue ?? true;
  const maxResultBytes = o.maxResultBytes ?? DEFAULT_MAX_RESULT_BYTES;
  const log = o.logger ?? rootLogger.child({ component: 'gpu-worker-client', worker: base.host });
  const auth = {
    ...o.headers,
    ...(o.tokenHeader === TOKEN_HEADER ? { [TOKEN_HEADER]: o.token } : { authorization: `Bearer ${o.token}` }),
  };

  // The one place requests carrying the token are made: every path is resolved on the worker's origin or refused.
  const call = async (method: string, path: string, signal: AbortSignal, extra: Partial<HttpExchange> = {}) =>
    exchange({ method, url: resolveOnWorker(base, path), signal, idleTimeoutMs, ...extra, headers: { ...auth, ...extra.headers } });

  /** Waits, unless the deadline would pass first (then the caller's error is thrown at once). */
  async function pause(ms: number, signal: AbortSignal, until: number, ifTooLate: GpuWorkerError): Promise<void> {
    if (Date.now() + ms > until) throw ifTooLate;
    await sleep(ms, undefined, { signal });
  }

  async function submit(inputPath: string, size: number, options: OverlayOptionsInput, signal: AbortSignal, until: number): Promise<string> {
    for (let attempt = 1; ; attempt++) {
      let failure: GpuWorkerError;
      let waitMs = backoff(attempt, 500, 8000);
      try {
        const res = await call('POST', `${API_PREFIX}/jobs`, signal, {
          headers: { 'content-type': 'application/octet-stream', [OPTIONS_HEADER]: JSON.stringify(options) },
          body: { open: () => createReadStream(inputPath), length: size, expectContinue },
        });
        if (res.status === 202) {
          const accepted = await readJson<SubmitAccepted>(res.body);
          if (accepted?.id) return accepted.id;
          failure = new GpuWorkerError('unavailable', 'bad_response', 'submit: the worker answered 202 without a job id');
        } else {
          failure = classifyHttpError(res.status, await readJson<ErrorBody>(res.body), 'submit');
          if (res.status === 429) waitMs = retryAfterMs(res, waitMs);
        }
      } catch (e) {
        if (signal.aborted || !isNetworkError(e)) throw e;
        failure = connectionFailed('submit', e);
      }
      // 507: the worker's disk is full; sending the same upload again only fills it again (the CPU path takes over).
      const diskFull = failure.details.status === 507;
      if (failure.kind !== 'unavailable' || diskFull || attempt >= submitAttempts || waitMs > maxRetryAfterMs) throw failure;
      log.warn({ attempt, reason: failure.reason, waitMs }, 'gpu worker submit failed; retrying');
      await pause(waitMs, signal, until, failure);
    }
  }

  /** Polls until the job ends. 'lost' = the worker no longer has it (restart) or dropped it on shutdown. */
  async function waitForJob(
    jobId: string,
    signal: AbortSignal,
    until: number,
    onProgress?: (p: GpuWorkerProgress) => void,
  ): Promise<{ lost: true } | { lost: false; status: JobStatusBody }> {
    let interval = poll.min;
    let failures = 0;
    for (;;) {
      let failure: GpuWorkerError | null = null;
      let asked = performance.now();
      try {
        // The worker holds the answer up to `interval` ms or until the job ends (long poll), so the client
        // hears of the end at once; an older worker answers at once and the sleep below spaces the polls.
        asked = performance.now();
        const res = await call('GET', `${API_PREFIX}/jobs/${jobId}?waitMs=${Math.round(interval)}`, signal);
        if (res.status === 404) {
          res.body.resume();
          return { lost: true };
        }
        if (res.status !== 200) {
          failure = classifyHttpError(res.status, await readJson<ErrorBody>(res.body), 'poll', jobId);
          if (failure.kind !== 'unavailable') throw failure;
        } else {
          const st = await readJson<JobStatusBody>(res.body);
          if (!st?.state) throw new GpuWorkerError('unavailable', 'bad_response', 'poll: the worker answered 200 without a job state', { jobId });
          failures = 0;
          onProgress?.({ jobId, state: st.state, progress: st.progress, fps: st.fps, provider: st.provider });
          if (st.state === 'done') return { lost: false, status: st };
          if (st.state === 'failed' && st.error?.code === 'shutdown') return { lost: true };
          if (st.state === 'failed' || st.state === 'cancelled') throw jobFailed(jobId, st);
        }
      } catch (e) {
        if (e instanceof GpuWorkerError || signal.aborted || !isNetworkError(e)) throw e;
        failure = connectionFailed('poll', e, jobId);
      }
      if (failure) {
        if (++failures > pollFailureLimit) throw failure;
        log.warn({ jobId, failures, reason: failure.reason }, 'gpu worker poll failed; retrying');
        await pause(backoff(failures, 250, 4000), signal, until, failure);
      } else {
        await pause(Math.max(0, interval - (performance.now() - asked)), signal, until, deadlinePassed(jobId, deadlineMs));
        interval = Math.min(poll.max, interval * 1.5);
      }
    }
  }

  /**
   * Checks every result file of a done job before anything is downloaded: one of the engine's fixed names (so a bad
   * answer cannot write elsewhere), a URL on the worker's origin, an announced size within the cap.
   */
  function planDownloads(jobId: string, files: ResultFileInfo[], outDir: string): PlannedDownload[] {
    return files.map((file) => {
      if (!KNOWN_FILES.has(file.name)) throw new GpuWorkerError('unavailable', 'bad_response', `unexpected result file ${file.name}`, { jobId });
      if (!Number.isSafeInteger(file.bytes) || file.bytes < 0) {
        throw new GpuWorkerError('unavailable', 'bad_response', `result file ${file.name} has no valid size`, { jobId });
      }
      if (file.bytes > maxResultBytes) throw resultTooLarge(jobId, file.name, file.bytes, maxResultBytes);
      resolveOnWorker(base, file.url, jobId);
      return { file, dest: join(outDir, file.name) };
    });
  }

  /** Downloads one result file to `dest`, resuming with Range after a broken connection. */
  async function download(jobId: string, { file, dest }: PlannedDownload, signal: AbortSignal): Promise<void> {
    const part = `${dest}.part`;
    let written = 0;
    for (let attempt = 1; ; attempt++) {
      try {
        const res = await call('GET', file.url, signal, { headers: written > 0 ? { range: `bytes=${written}-` } : {} });
        if (res.status !== 200 && res.status !== 206) {
          const failure = classifyHttpError(res.status, await readJson<ErrorBody>(res.body), `download ${file.name}`, jobId);
          // The job is gone between "done" and the download: an expired TTL or a restart. Nothing to resume.
          throw res.status === 404 ? new GpuWorkerError('unavailable', 'result_missing', failure.message, failure.details) : failure;
        }
        const append = res.status === 206 && written > 0;
        // No more than the worker announced in the job's status: a lying or broken worker cannot fill our disk.
        const allowed = file.bytes - (append ? written : 0);
        refuseDeclaredOverflow(res, allowed, jobId, file.name);
        await pipeline(res.body, capBytes(allowed, jobId, file.name), createWriteStream(part, { flags: append ? 'a' : 'w' }));
        const size = (await stat(part)).size;
        if (size !== file.bytes) {
          throw new GpuWorkerError('unavailable', 'bad_response', `download ${file.name}: got ${size} of ${file.bytes} bytes`, { jobId });
        }
        await rename(part, dest);
        return;
      } catch (e) {
        if (e instanceof GpuWorkerError || signal.aborted || !isNetworkError(e) || attempt >= DOWNLOAD_ATTEMPTS) {
          await rm(part, { force: true });
          throw isNetworkError(e) && !signal.aborted ? connectionFailed(`download ${file.name}`, e, jobId) : e;
        }
        written = await stat(part).then((s) => s.size, () => 0);
        log.warn({ jobId, file: file.name, written, attempt }, 'gpu worker download broke off; resuming');
      }
    }
  }

  /** Best effort: frees the worker's disk (or cancels its work). Never throws, never outlives 5 s. */
  async function forget(jobId: string): Promise<void> {
    try {
      const res = await call('DELETE', `${API_PREFIX}/jobs/${jobId}`, AbortSignal.timeout(5000));
      res.body.resume();
    } catch (e) {
      log.debug({ jobId, err: e }, 'gpu worker job delete failed (ignored)');
    }
  }

  async function processVideo(inputPath: string, options: OverlayOptionsInput, p: ProcessOptions): Promise<GpuWorkerResult> {
    const started = performance.now();
    const until = Date.now() + deadlineMs;
    const deadline = AbortSignal.timeout(deadlineMs);
    const signal = p.signal ? AbortSignal.any([deadline, p.signal]) : deadline;
    const size = (await stat(inputPath)).size;
    await mkdir(p.outDir, { recursive: true });
    let jobId: string | null = null;
    try {
      for (let resubmits = 0; ; resubmits++) {
        const t0 = performance.now();
        jobId = await submit(inputPath, size, options, signal, until);
        const submitMs = performance.now() - t0;
        log.info({ jobId, bytes: size, submitMs: Math.round(submitMs), resubmits }, 'gpu worker job submitted');
        const outcome = await waitForJob(jobId, signal, until, p.onProgress);
        if (outcome.lost) {
          const lostId = jobId;
          jobId = null;
          if (resubmits < resubmitLimit) {
            log.warn({ jobId: lostId }, 'gpu worker lost the job (restarted instance?); submitting again');
            continue;
          }
          throw new GpuWorkerError('unavailable', 'job_lost', `The GPU worker lost job ${lostId} ${resubmits + 1} times (restarts or shutdowns).`, { jobId: lostId });
        }
        const st = outcome.status;
        const t1 = performance.now();
        const files: Partial<Record<OutputFileName, string>> = {};
        for (const planned of planDownloads(jobId, st.result?.files ?? [], p.outDir)) {
          await download(jobId, planned, signal);
          files[planned.file.name] = planned.dest;
        }
        const downloadMs = performance.now() - t1;
        await forget(jobId);
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
          resubmits,
          timings: {
            submitMs: Math.round(submitMs),
            queuedMs: st.timings.queuedMs,
            runMs: st.timings.runMs,
            downloadMs: Math.round(downloadMs),
            totalMs: Math.round(performance.now() - started),
            perFrame: st.timings.perFrame,
          },
        };
      }
    } catch (e) {
      if (jobId) void forget(jobId);
      const err = classifyFailure(e, p.signal, deadline, deadlineMs, jobId);
      if (err instanceof GpuWorkerError) {
        const loud = err.kind === 'auth' || err.kind === 'bad_request' || SUSPICIOUS_REASONS.has(err.reason);
        log[loud ? 'error' : 'warn']({ jobId, kind: err.kind, reason: err.reason, status: err.details.status }, `gpu worker: ${err.message}`);
      }
      throw err;
    }
  }

  async function health(opts: { signal?: AbortSignal } = {}): Promise<HealthBody> {
    const signal = opts.signal ?? AbortSignal.timeout(10_000);
    let res: HttpAnswer;
    try {
      res = await exchange({ method: 'GET', url: resolveOnWorker(base, 'health'), headers: { ...o.headers }, signal, idleTimeoutMs });
    } catch (e) {
      if (isNetworkError(e) || signal.aborted) throw connectionFailed('health', e);
      throw e;
    }
    const body = await readJson<HealthBody>(res.body);
    if (!body) throw new GpuWorkerError('unavailable', `http_${res.status}`, `health: HTTP ${res.status} without a health body`, { status: res.status });
    return body;
  }

  return { process: processVideo, health };
}

function resultTooLarge(jobId: string, name: string, bytes: number, limit: number): GpuWorkerError {
  return new GpuWorkerError('unavailable', 'result_too_large', `download ${name}: ${bytes} bytes is more than the ${limit} allowed`, { jobId });
}

/** A Content-Length over what may arrive fails the download before its body is read. */
function refuseDeclaredOverflow(res: HttpAnswer, allowed: number, jobId: string, name: string): void {
  const declared = Number(res.headers['content-length'] ?? NaN);
  if (declared > allowed) {
    res.body.destroy();
    throw resultTooLarge(jobId, name, declared, allowed);
  }
}

/** Passes at most `allowed` bytes; one more aborts the download (pipeline destroys the response). */
function capBytes(allowed: number, jobId: string, name: string) {
  return async function* (chunks: AsyncIterable<Buffer>) {
    let received = 0;
    for await (const chunk of chunks) {
      received += chunk.length;
      if (received > allowed) throw resultTooLarge(jobId, name, received, allowed);
      yield chunk;
    }
  };
}

/** Exponential backoff with jitter: base·2^(n−1), capped, ×0.5..1. */
function backoff(n: number, baseMs: number, maxMs: number): number {
  return Math.round(Math.min(maxMs, baseMs * 2 ** (n - 1)) * (0.5 + Math.random() / 2));
}

function retryAfterMs(res: HttpAnswer, fallbackMs: number): number {
  const v = Number(res.headers['retry-after']);
  return Number.isFinite(v) && v >= 0 ? v * 1000 : fallbackMs;
}

function connectionFailed(what: string, e: unknown, jobId?: string): GpuWorkerError {
  const code = (e as NodeJS.ErrnoException)?.code ?? 'unknown';
  return new GpuWorkerError('unavailable', 'connection_failed', `${what}: cannot reach the GPU worker (${code}).`, { code, jobId, cause: e });
}

function deadlinePassed(jobId: string | null, deadlineMs: number): GpuWorkerError {
  return new GpuWorkerError('unavailable', 'deadline', `The GPU worker did not finish within ${deadlineMs} ms.`, { jobId: jobId ?? undefined });
}

function jobFailed(jobId: string, st: JobStatusBody): GpuWorkerError {
  const code = st.error?.code ?? st.state;
  const message = st.error?.message ?? `job ${st.state}`;
  if (isMediaErrorCode(code)) return new GpuWorkerError('input', code, message, { code, jobId });
  return new GpuWorkerError('unavailable', 'job_failed', `The GPU worker's job ended ${st.state}: ${code}: ${message}`, { code, jobId });
}

/** The error `process` rejects with: the caller's cancel wins, then the deadline, then the failure itself. */
function classifyFailure(e: unknown, caller: AbortSignal | undefined, deadline: AbortSignal, deadlineMs: number, jobId: string | null): unknown {
  if (caller?.aborted) return new CancelledError('GPU worker call cancelled');
  if (deadline.aborted) return deadlinePassed(jobId, deadlineMs);
  if (e instanceof GpuWorkerError) return e;
  if (isNetworkError(e)) return connectionFailed('gpu worker', e, jobId ?? undefined);
  return e;
}
