import { GrammyError, HttpError } from 'grammy';
import { CancelledError, isFfmpegUnavailableError, isMediaError } from '../common/errors.js';
import { GpuWorkerError } from '../gpu-worker/client/errors.js';
import { isShotstackError, type ShotstackError } from '../shotstack/errors.js';
import { isPipelineError, makeFailure, type FailureCode, type JobFailure } from './failures.js';

/**
 * Turns whatever a stage threw into a JobFailure plus the one decision the worker needs: may a later attempt
 * succeed? Bad input, a failed render, a blocked chat or wrong configuration (also a missing ffmpeg): no. Network trouble, 5xx, 429,
 * timeouts and unknown errors: yes (until the job's attempts run out).
 */
export interface Classified {
  failure: JobFailure;
  retryable: boolean;
}

/** One kind of error: its Classified, or null when `e` is not of that kind. */
type Rule = (e: unknown) => Classified | null;

const done = (code: FailureCode, message: string, retryable: boolean): Classified => ({
  failure: makeFailure(code, message),
  retryable,
});

/** The rules in order: the first that recognises the error decides; anything left over is `internal`, retried. */
const RULES: readonly Rule[] = [
  (e) => (isPipelineError(e) ? done(e.code, e.message, e.retryable) : null),
  (e) => (isMediaError(e) ? done(e.code, e.message, false) : null),
  // ffmpeg/ffprobe missing or broken on this host: the operator's to fix (the message says how), not the user's file,
  // and another attempt on the same host cannot succeed. The user reads the "our side" text.
  (e) => (isFfmpegUnavailableError(e) ? done('misconfigured', e.message, false) : null),
  (e) =>
    e instanceof CancelledError || (e as Error | undefined)?.name === 'CancelledError' ? done('cancelled', (e as Error).message, false) : null,
  (e) => (e instanceof GpuWorkerError ? gpuWorkerRule(e) : null),
  (e) => (isShotstackError(e) ? shotstackRule(e) : null),
  (e) => (e instanceof GrammyError ? telegramRule(e) : null),
  // grammY's HttpError message already hides the token; the cause may not, so only the message is kept.
  (e) => (e instanceof HttpError ? done('telegram_unavailable', e.message, true) : null),
];

export function classifyError(e: unknown): Classified {
  for (const rule of RULES) {
    const c = rule(e);
    if (c) return c;
  }
  const message = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  return done('internal', message, true);
}

function gpuWorkerRule(e: GpuWorkerError): Classified {
  const media = e.toMediaError();
  if (media) return done(media.code, media.message, false);
  return done(e.kind === 'auth' || e.kind === 'bad_request' ? 'misconfigured' : 'gpu_unavailable', e.message, e.kind === 'unavailable');
}

function shotstackRule(e: ShotstackError): Classified {
  switch (e.kind) {
    case 'render_failed':
      return done('render_failed', e.serviceMessage ?? e.message, false);
    case 'auth':
      return done('misconfigured', e.message, false);
    case 'bad_request':
      return done('internal', e.message, false);
    default:
      return done('renderer_unavailable', e.message, true);
  }
}

function telegramRule(e: GrammyError): Classified {
  const text = `${e.method}: ${e.error_code} ${e.description}`;
  if (e.error_code === 403 || /chat not found|user is deactivated|bot was kicked/i.test(e.description)) {
    return done('chat_unavailable', text, false);
  }
  if (e.error_code === 413) return done('output_too_large', text, false);
  if (e.error_code === 401 || e.error_code === 404) return done('misconfigured', text, false);
  if (e.error_code === 429 || e.error_code >= 500) return done('telegram_unavailable', text, true);
  return done('internal', text, false);
}
