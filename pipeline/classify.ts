import { GrammyError, HttpError } from 'grammy';
import { CancelledError, isFfmpegUnavailableError, isMediaError } from '../common/errors.js';
import { GpuWorkerError } from '../gpu-worker/client/errors.js';
import { isShotstackError } from '../shotstack/errors.js';
import { isPipelineError, makeFailure, type JobFailure } from './failures.js';

/**
 * Turns whatever a stage threw into a JobFailure plus the one decision the worker needs: may a later attempt
 * succeed? Bad input, a failed render, a blocked chat or wrong configuration (also a missing ffmpeg): no. Network trouble, 5xx, 429,
 * timeouts and unknown errors: yes (until the job's attempts run out).
 */
export interface Classified {
  failure: JobFailure;
  retryable: boolean;
}

export function classifyError(e: unknown): Classified {
  if (isPipelineError(e)) return { failure: makeFailure(e.code, e.message), retryable: e.retryable };
  if (isMediaError(e)) return { failure: makeFailure(e.code, e.message), retryable: false };
  // ffmpeg/ffprobe missing or broken on this host: the operator's to fix (the message says how), not the user's file,
  // and another attempt on the same host cannot succeed. The user reads the "our side" text.
  if (isFfmpegUnavailableError(e)) return { failure: makeFailure('misconfigured', e.message), retryable: false };
  if (e instanceof CancelledError || (e as Error | undefined)?.name === 'CancelledError') {
    return { failure: makeFailure('cancelled', (e as Error).message), retryable: false };
  }
  if (e instanceof GpuWorkerError) {
    const media = e.toMediaError();
    if (media) return { failure: makeFailure(media.code, media.message), retryable: false };
    return { failure: makeFailure(e.kind === 'auth' || e.kind === 'bad_request' ? 'misconfigured' : 'gpu_unavailable', e.message), retryable: e.kind === 'unavailable' };
  }
  if (isShotstackError(e)) {
    switch (e.kind) {
      case 'render_failed':
        return { failure: makeFailure('render_failed', e.serviceMessage ?? e.message), retryable: false };
      case 'auth':
        return { failure: makeFailure('misconfigured', e.message), retryable: false };
      case 'bad_request':
        return { failure: makeFailure('internal', e.message), retryable: false };
      default:
        return { failure: makeFailure('renderer_unavailable', e.message), retryable: true };
    }
  }
  if (e instanceof GrammyError) {
    const text = `${e.method}: ${e.error_code} ${e.description}`;
    if (e.error_code === 403 || /chat not found|user is deactivated|bot was kicked/i.test(e.description)) {
      return { failure: makeFailure('chat_unavailable', text), retryable: false };
    }
    if (e.error_code === 413) return { failure: makeFailure('output_too_large', text), retryable: false };
    if (e.error_code === 401 || e.error_code === 404) return { failure: makeFailure('misconfigured', text), retryable: false };
    if (e.error_code === 429 || e.error_code >= 500) return { failure: makeFailure('telegram_unavailable', text), retryable: true };
    return { failure: makeFailure('internal', text), retryable: false };
  }
  if (e instanceof HttpError) {
    // grammY's HttpError message already hides the token; the cause may not, so only the message is kept.
    return { failure: makeFailure('telegram_unavailable', e.message), retryable: true };
  }
  const message = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  return { failure: makeFailure('internal', message), retryable: true };
}
