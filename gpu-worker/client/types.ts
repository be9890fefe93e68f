import type { Logger } from '../../common/logger.js';
import type { OutputFileName, OverlayOptionsInput, StageTimings } from '../../engine/index.js';
import type { HealthBody, JobState, TOKEN_HEADER } from '../server/api.js';

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
