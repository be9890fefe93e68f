import { MEDIA_ERROR_CODES } from '../common/errors.js';

/**
 * Why a job failed, in terms the bot can translate. A failed BullMQ job carries it in `failedReason` as
 * `<category>:<code>: <detail>` (e.g. `media:too_long: The video lasts 200.0 s; the limit is 180 s.`), so it
 * survives Redis, QueueEvents and admin listings without extra keys; `parseFailure` reads it back.
 *
 * - category `media`: the input itself was refused (MediaError codes). Retrying cannot help; the user must send
 *   another file.
 * - category `pipeline`: everything else, below.
 */
export const MEDIA_FAILURE_CODES = MEDIA_ERROR_CODES; // the list itself lives with MediaError (common/errors.ts)

export const PIPELINE_FAILURE_CODES = [
  /** The cloud Bot API refuses to hand out files over 20 MB. */
  'telegram_file_too_big',
  /** getFile refused the file id (expired, or from another bot). */
  'input_unavailable',
  /** The user already has the maximum number of jobs queued or running. */
  'too_many_jobs',
  /** PROCESSING_MODE=gpu and the GPU worker could not do it (after the job's retries). */
  'gpu_unavailable',
  /** Shotstack (or the local renderer) kept refusing or timing out (after the job's retries). */
  'renderer_unavailable',
  /** The renderer's readings are still being calibrated: no render is built before they are known (retried). */
  'renderer_calibrating',
  /** Shotstack ran the render and it failed; its own error text is the detail. */
  'render_failed',
  /** The Bot API kept failing (network, 5xx, 429) after the job's retries. */
  'telegram_unavailable',
  /** The result is larger than Telegram accepts, even after shrinking. */
  'output_too_large',
  /** The bot cannot write to the chat (blocked by the user, chat gone). */
  'chat_unavailable',
  /** Cancelled by the user or an admin. */
  'cancelled',
  /** The job's worker died (crash, SIGKILL, lost host) more often than PIPELINE_MAX_STALLED_COUNT allows. */
  'interrupted',
  /** Our configuration is wrong (tokens, URLs, keys): will not heal by itself. */
  'misconfigured',
  /** Anything else (a bug, a crash) after the job's retries. */
  'internal',
] as const;

export type MediaFailureCode = (typeof MEDIA_FAILURE_CODES)[number];
export type PipelineFailureCode = (typeof PIPELINE_FAILURE_CODES)[number];
export type FailureCode = MediaFailureCode | PipelineFailureCode;
export type FailureCategory = 'media' | 'pipeline';

export interface JobFailure {
  category: FailureCategory;
  code: FailureCode;
  /** Technical detail for logs and admins (English, never a secret); not meant for users. */
  message: string;
  /** True when the user has to change something (another file, fewer jobs); false when "try again" may work. */
  userFixable: boolean;
}

const USER_FIXABLE = new Set<FailureCode>([...MEDIA_FAILURE_CODES, 'telegram_file_too_big', 'input_unavailable', 'too_many_jobs', 'cancelled']);

export function isMediaFailureCode(code: unknown): code is MediaFailureCode {
  return typeof code === 'string' && (MEDIA_FAILURE_CODES as readonly string[]).includes(code);
}

export function isFailureCode(code: unknown): code is FailureCode {
  return isMediaFailureCode(code) || (typeof code === 'string' && (PIPELINE_FAILURE_CODES as readonly string[]).includes(code));
}

export function makeFailure(code: FailureCode, message: string): JobFailure {
  return {
    category: isMediaFailureCode(code) ? 'media' : 'pipeline',
    code,
    message: oneLine(message),
    userFixable: USER_FIXABLE.has(code),
  };
}

/** `media:too_long: detail` — the text stored as the job's failedReason. */
export function formatFailure(f: Pick<JobFailure, 'code' | 'message'>): string {
  const category: FailureCategory = isMediaFailureCode(f.code) ? 'media' : 'pipeline';
  return `${category}:${f.code}: ${oneLine(f.message)}`;
}

/** The failedReason BullMQ itself writes when a job outlived its worker more than `maxStalledCount` times. */
export const STALLED_LIMIT_REASON = 'job stalled more than allowable limit';

const REASON = /^(media|pipeline):([a-z_]+)(?::\s?([\s\S]*))?$/;

/**
 * Reads a failedReason back. BullMQ's stalled limit becomes `pipeline:interrupted`; other reasons the pipeline did
 * not write become `pipeline:internal`. Both keep the original text as the message.
 */
export function parseFailure(reason: string | null | undefined): JobFailure {
  const m = REASON.exec((reason ?? '').trim());
  if (m && isFailureCode(m[2]) && (m[1] === 'media') === isMediaFailureCode(m[2])) {
    return makeFailure(m[2], m[3] ?? '');
  }
  if (reason?.trim() === STALLED_LIMIT_REASON) return makeFailure('interrupted', STALLED_LIMIT_REASON);
  return makeFailure('internal', reason?.trim() || 'unknown failure');
}

/**
 * An error the pipeline raises on purpose, with its failure code and whether a later attempt may succeed.
 * The worker turns non-retryable ones into BullMQ's UnrecoverableError (no further attempts).
 */
export class PipelineError extends Error {
  constructor(
    readonly code: FailureCode,
    message: string,
    readonly retryable: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'PipelineError';
  }
}

export function isPipelineError(e: unknown): e is PipelineError {
  return e instanceof Error && e.name === 'PipelineError' && isFailureCode((e as PipelineError).code);
}

function oneLine(s: string): string {
  return s.replace(/\s+/g, ' ').trim().slice(0, 1000);
}
