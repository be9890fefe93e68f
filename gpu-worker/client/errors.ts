import { MediaError, type MediaErrorCode } from '../../common/errors.js';
import { isMediaErrorCode, type ErrorBody } from '../server/api.js';

/**
 * How a GPU worker call failed, in the terms the pipeline decides on:
 * - unavailable: the GPU path is down or too slow (connection refused, 5xx or 429 after retries, deadline, the job
 *   lost twice to restarts). Fall back to the CPU engine.
 * - input: the worker refused the video itself (a MediaError code). The CPU engine would refuse it too: do NOT fall
 *   back; rethrow `toMediaError()`.
 * - auth / bad_request: our configuration or code is wrong (token, URL, options, size limits). The video may be
 *   fine, so fall back — but log it loudly, it will not heal by itself.
 */
export type GpuWorkerErrorKind = 'unavailable' | 'input' | 'auth' | 'bad_request';

export interface GpuWorkerErrorDetails {
  /** HTTP status of the answer that decided it, if any. */
  status?: number;
  /** The server's error code (a MediaError code for kind `input`). */
  code?: string;
  jobId?: string;
  cause?: unknown;
  /**
   * A `deadline` failure: whether the worker had started running the job. False means the time went on the upload
   * and the worker's queue — the video itself was never worked on, so the CPU may still take it.
   */
  ranOnWorker?: boolean;
  /** A pool of workers: every worker tried for this job (host only) and why each failed, in order. */
  tried?: Array<{ host: string; reason: string }>;
}

export class GpuWorkerError extends Error {
  constructor(
    readonly kind: GpuWorkerErrorKind,
    /** Short machine-readable reason, e.g. connection_failed, http_503, busy, deadline, job_lost, job_failed. */
    readonly reason: string,
    message: string,
    readonly details: GpuWorkerErrorDetails = {},
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'GpuWorkerError';
  }

  /** For kind `input`: the MediaError the CPU engine would have thrown for the same file. */
  toMediaError(): MediaError | null {
    if (this.kind !== 'input' || !isMediaErrorCode(this.details.code)) return null;
    return new MediaError(this.details.code as MediaErrorCode, this.message, { via: 'gpu-worker', jobId: this.details.jobId });
  }
}

/** True when the pipeline should run the CPU engine instead: every GpuWorkerError except a refused input. */
export function shouldFallBackToCpu(err: unknown): boolean {
  return err instanceof GpuWorkerError && err.kind !== 'input';
}

/** Maps an HTTP error answer of the worker to a classified error. */
export function classifyHttpError(status: number, body: ErrorBody | null, what: string, jobId?: string): GpuWorkerError {
  const code = body?.error?.code;
  const serverMessage = body?.error?.message ?? `HTTP ${status}`;
  const details = { status, code, jobId };
  if (status === 401 || status === 403) {
    return new GpuWorkerError('auth', 'unauthorized', `${what}: the GPU worker refused the token (${status}).`, details);
  }
  if (status === 422 && isMediaErrorCode(code)) {
    return new GpuWorkerError('input', code, serverMessage, details);
  }
  if (status === 429) return new GpuWorkerError('unavailable', 'busy', `${what}: ${serverMessage}`, details);
  // A 400/408 without the worker's JSON error came from a gateway in front of it (RunPod's load balancer answers
  // 400 when no worker can take the request): the worker is unavailable, our request is not at fault.
  if ((status === 400 || status === 408) && !code) {
    return new GpuWorkerError('unavailable', `gateway_${status}`, `${what}: the host's gateway answered HTTP ${status}`, details);
  }
  if (status >= 500 || status < 400) {
    return new GpuWorkerError('unavailable', `http_${status}`, `${what}: ${serverMessage}`, details);
  }
  return new GpuWorkerError('bad_request', code ?? `http_${status}`, `${what}: ${serverMessage}`, details);
}

const NETWORK_ERROR_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'ECONNABORTED',
  'ERR_STREAM_PREMATURE_CLOSE',
]);

/** A failure of the connection itself (worth a retry), as opposed to an answer or a local problem. */
export function isNetworkError(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  return (typeof code === 'string' && NETWORK_ERROR_CODES.has(code)) || (e as Error | undefined)?.name === 'NetworkError';
}
