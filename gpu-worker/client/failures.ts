import { CancelledError } from '../../common/errors.js';
import { isMediaErrorCode, type JobStatusBody } from '../server/api.js';
import { GpuWorkerError, isNetworkError } from './errors.js';

/** The client's own failures, each a GpuWorkerError the pipeline can classify (see errors.ts for HTTP answers). */

export function resultTooLarge(jobId: string, name: string, bytes: number, limit: number): GpuWorkerError {
  return new GpuWorkerError('unavailable', 'result_too_large', `download ${name}: ${bytes} bytes is more than the ${limit} allowed`, { jobId });
}

export function connectionFailed(what: string, e: unknown, jobId?: string): GpuWorkerError {
  const code = (e as NodeJS.ErrnoException)?.code ?? 'unknown';
  return new GpuWorkerError('unavailable', 'connection_failed', `${what}: cannot reach the GPU worker (${code}).`, { code, jobId, cause: e });
}

export function deadlinePassed(jobId: string | null, deadlineMs: number): GpuWorkerError {
  return new GpuWorkerError('unavailable', 'deadline', `The GPU worker did not finish within ${deadlineMs} ms.`, { jobId: jobId ?? undefined });
}

export function jobFailed(jobId: string, st: JobStatusBody): GpuWorkerError {
  const code = st.error?.code ?? st.state;
  const message = st.error?.message ?? `job ${st.state}`;
  if (isMediaErrorCode(code)) return new GpuWorkerError('input', code, message, { code, jobId });
  return new GpuWorkerError('unavailable', 'job_failed', `The GPU worker's job ended ${st.state}: ${code}: ${message}`, { code, jobId });
}

/** The error `process` rejects with: the caller's cancel wins, then the deadline, then the failure itself. */
export function classifyFailure(e: unknown, caller: AbortSignal | undefined, deadline: AbortSignal, deadlineMs: number, jobId: string | null): unknown {
  if (caller?.aborted) return new CancelledError('GPU worker call cancelled');
  if (deadline.aborted) return deadlinePassed(jobId, deadlineMs);
  if (e instanceof GpuWorkerError) return e;
  if (isNetworkError(e)) return connectionFailed('gpu worker', e, jobId ?? undefined);
  return e;
}
