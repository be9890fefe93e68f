/**
 * One error type for everything the Shotstack client can fail with, classified so callers decide without
 * parsing messages:
 * - retryable: 429 / 5xx / network trouble that outlasted our retries — try again later (or fall back);
 * - bad_request: the service refused the request itself (validation, unknown id) — retrying cannot help;
 * - auth: missing or wrong API key (401/403) — configuration, will not heal by itself;
 * - render_failed: the render (or an ingest) ran and failed; `message` is Shotstack's own error text;
 * - timeout: a call or a wait ran past its deadline.
 * The message never contains the API key (it is only ever sent as a header, never logged or echoed).
 */
export type ShotstackErrorKind = 'retryable' | 'bad_request' | 'auth' | 'render_failed' | 'timeout';

export interface ShotstackErrorDetails {
  /** HTTP status of the answer that decided it, if there was one. */
  status?: number;
  /** What we were doing, e.g. "POST /render". */
  operation?: string;
  /** Render or source id, when known. */
  id?: string;
  /** Shotstack's own message (validation details, render error), unmodified. */
  serviceMessage?: string;
  cause?: unknown;
}

export class ShotstackError extends Error {
  readonly status?: number;
  readonly operation?: string;
  readonly id?: string;
  readonly serviceMessage?: string;

  constructor(
    readonly kind: ShotstackErrorKind,
    message: string,
    details: ShotstackErrorDetails = {},
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'ShotstackError';
    this.status = details.status;
    this.operation = details.operation;
    this.id = details.id;
    this.serviceMessage = details.serviceMessage;
  }

  /** True for the kinds a later attempt (or another renderer) might get past. */
  get retryable(): boolean {
    return this.kind === 'retryable' || this.kind === 'timeout';
  }
}

export function isShotstackError(e: unknown): e is ShotstackError {
  return e instanceof Error && e.name === 'ShotstackError' && typeof (e as ShotstackError).kind === 'string';
}
