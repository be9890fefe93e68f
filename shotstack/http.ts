import type { Logger } from '../common/logger.js';
import type { ShotstackRetryReason } from '../common/metrics/metrics.js';
import { CancelledError } from '../common/errors.js';
import type { RequestBudget, ShotstackApi } from './budget.js';
import { ShotstackError } from './errors.js';

/**
 * One Shotstack HTTP call with a timeout per attempt and retries with exponential backoff + full jitter.
 *
 * What is retried, and why:
 * - 429 and 5xx on every method: the service answered that it did not do the work, except 504 on a POST (a
 *   gateway timeout: the backend may have queued the render);
 * - timeouts and broken connections only on idempotent calls (GET, DELETE, the signed PUT). A POST that timed out
 *   may have queued a render on the other side; sending it again could start (and bill) a second render, so it
 *   fails as `timeout` instead — except when the connection was refused, where nothing reached the server.
 *
 * Rate limits: a call to one of Shotstack's APIs (`api` set) takes a request from the budget first, and a 429
 * there waits for the rate window to reset (Retry-After when sent, else the budget's window end, else a whole
 * window) without spending a retry — the limit is per key per fixed 60 s window, so retrying sooner only adds
 * 429s. The waits per call are bounded (`rateLimit.maxWaits`); polling loops are also bounded by their deadline.
 */
export interface RetryPolicy {
  maxRetries: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** Cap on a server's Retry-After, so a broken header cannot park a job for hours. */
  maxRetryAfterMs: number;
}

export interface RateLimitPolicy {
  /** Wait after a 429 that says nothing about when the window resets, with no budget to ask (Shotstack: 60 s). */
  windowMs: number;
  /** 429 waits per call before it fails as `retryable` (they do not count against maxRetries). */
  maxWaits: number;
}

export const DEFAULT_RATE_LIMIT_POLICY: RateLimitPolicy = { windowMs: 60_000, maxWaits: 10 };

export interface HttpCall<T> {
  /** Short label for messages and logs, e.g. "POST /render". Never a full URL: signed URLs carry credentials. */
  operation: string;
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  url: string;
  headers?: Record<string, string>;
  /** A fresh body per attempt (a stream can be read only once). */
  body?: () => { body: NonNullable<RequestInit['body']>; headers?: Record<string, string> };
  timeoutMs: number;
  signal?: AbortSignal;
  idempotent: boolean;
  /**
   * The Shotstack API the call goes to (its rate limit and budget). Unset for the signed upload PUT and file
   * downloads, which go to storage hosts and count against no API limit.
   */
  api?: ShotstackApi;
  /** Reads a successful (2xx) answer. Runs under the same timeout as the exchange. */
  read: (res: Response, signal: AbortSignal) => Promise<T>;
}

export interface HttpContext {
  retry: RetryPolicy;
  log: Logger;
  /** Shared request budget for calls with an `api`; none = no client-side limit. */
  budget?: RequestBudget;
  rateLimit?: RateLimitPolicy;
  /** Injected for tests of the backoff itself; defaults to a signal-aware setTimeout. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Told of every call sent again, before the wait (Metrics.shotstackRetry; operators' numbers). */
  onRetry?: (reason: ShotstackRetryReason) => void;
}

type Exchange<T> =
  | { kind: 'ok'; value: T }
  | { kind: 'status'; res: Response }
  | { kind: 'network'; error: unknown; timedOut: boolean };

/** Counts kept across the attempts of one call. */
interface Attempts {
  /** Retries spent so far (429 waits on an API call are not retries). */
  retries: number;
  rateLimitWaits: number;
}

/** What to do after an attempt that failed: send it again after a pause, wait out a 429, or give up. */
type NextStep =
  | { kind: 'retry'; delayMs: number; reason: ShotstackRetryReason; log: Record<string, unknown>; message: string }
  | { kind: 'rate_wait'; api: ShotstackApi; res: Response }
  | { kind: 'fail'; error: ShotstackError };

export async function callShotstack<T>(ctx: HttpContext, call: HttpCall<T>): Promise<T> {
  const sleep = ctx.sleep ?? abortableSleep;
  const attempts: Attempts = { retries: 0, rateLimitWaits: 0 };
  for (;;) {
    throwIfCancelled(call.signal);
    if (call.api && ctx.budget) await ctx.budget.take(call.api, call.signal);
    const x = await exchange(call);
    if (x.kind === 'ok') return x.value;
    const next = x.kind === 'network' ? afterNetworkFailure(ctx, call, x, attempts) : await afterErrorStatus(ctx, call, x.res, attempts);
    if (next.kind === 'fail') throw next.error;
    if (next.kind === 'rate_wait') {
      attempts.rateLimitWaits++;
      ctx.onRetry?.('rate_limit');
      await waitForRateWindow(ctx, call, next.api, next.res, attempts.rateLimitWaits, sleep);
      continue;
    }
    ctx.onRetry?.(next.reason);
    ctx.log.warn(next.log, next.message);
    attempts.retries++;
    await sleep(next.delayMs, call.signal);
  }
}

/** A broken or timed-out exchange is retried only where sending it twice is harmless (see above). */
function afterNetworkFailure(
  ctx: HttpContext,
  call: HttpCall<unknown>,
  x: { error: unknown; timedOut: boolean },
  attempts: Attempts,
): NextStep {
  const canRetry = attempts.retries < ctx.retry.maxRetries;
  if (!canRetry || !(call.idempotent || connectionRefused(x.error))) {
    return { kind: 'fail', error: networkError(call, x.error, x.timedOut) };
  }
  const delayMs = backoff(ctx.retry, attempts.retries);
  const reason = x.timedOut ? 'timeout' : errorCode(x.error);
  return {
    kind: 'retry',
    delayMs,
    reason: 'network',
    log: { operation: call.operation, attempt: attempts.retries, delayMs, reason },
    message: 'shotstack call failed, retrying',
  };
}

/** An HTTP error status: a 429 on an API call is waited out; other 429s and 5xx are retried; the rest fail. */
async function afterErrorStatus(ctx: HttpContext, call: HttpCall<unknown>, res: Response, attempts: Attempts): Promise<NextStep> {
  const serviceMessage = serviceMessageOf(await readBodySafely(res));
  const status = res.status;
  if (status === 429 && call.api && attempts.rateLimitWaits < (ctx.rateLimit ?? DEFAULT_RATE_LIMIT_POLICY).maxWaits) {
    return { kind: 'rate_wait', api: call.api, res };
  }
  if (isServiceBusy(status) && attempts.retries < ctx.retry.maxRetries && !ambiguousGatewayTimeout(call, status)) {
    const retryAfter = retryAfterMs(res.headers.get('retry-after'), ctx.retry.maxRetryAfterMs);
    const delayMs = retryAfter ?? backoff(ctx.retry, attempts.retries);
    return {
      kind: 'retry',
      delayMs,
      reason: status === 429 ? 'rate_limit' : 'server_error',
      log: { operation: call.operation, status, attempt: attempts.retries, delayMs },
      message: 'shotstack busy or failing, retrying',
    };
  }
  return { kind: 'fail', error: statusError(call, status, serviceMessage) };
}

/** 429 and 5xx: the service answered that it did not do the work. */
function isServiceBusy(status: number): boolean {
  return status === 429 || status >= 500;
}

/**
 * A gateway timeout (504) says nothing about whether the backend acted: like our own timeout, it is not a
 * reason to resend a non-idempotent POST.
 */
function ambiguousGatewayTimeout(call: HttpCall<unknown>, status: number): boolean {
  return status === 504 && !call.idempotent;
}

/** The error for a status that is not (or no longer) retried: retryable for 429/5xx, auth, else bad_request. */
function statusError(call: HttpCall<unknown>, status: number, serviceMessage: string | undefined): ShotstackError {
  const details = { status, operation: call.operation, serviceMessage };
  const what = `${call.operation}: HTTP ${status}${serviceMessage ? ` — ${serviceMessage}` : ''}`;
  if (isServiceBusy(status)) return new ShotstackError('retryable', what, details);
  if (status === 401 || status === 403) {
    return new ShotstackError('auth', `${what} (check SHOTSTACK_API_KEY and that it matches SHOTSTACK_ENV)`, details);
  }
  return new ShotstackError('bad_request', what, details);
}

/** One attempt: the answer read (2xx), the error status to decide on, or the network failure. */
async function exchange<T>(call: HttpCall<T>): Promise<Exchange<T>> {
  const timeout = AbortSignal.timeout(call.timeoutMs);
  const signal = call.signal ? AbortSignal.any([call.signal, timeout]) : timeout;
  try {
    const body = call.body?.();
    const res = await fetch(call.url, {
      method: call.method,
      headers: { ...call.headers, ...body?.headers },
      body: body?.body,
      signal,
      // Streamed request bodies need half-duplex in Node's fetch.
      ...(body ? { duplex: 'half' } : {}),
    } as RequestInit);
    if (res.ok) return { kind: 'ok', value: await call.read(res, signal) };
    return { kind: 'status', res };
  } catch (e) {
    if (e instanceof ShotstackError) throw e;
    throwIfCancelled(call.signal, e);
    return { kind: 'network', error: e, timedOut: timeout.aborted };
  }
}

/**
 * After a 429: Retry-After when the service sent one; else the budget is marked spent, so this and every other
 * caller sharing it waits in `take` for the window to end; else a whole window.
 */
async function waitForRateWindow(
  ctx: HttpContext,
  call: HttpCall<unknown>,
  api: ShotstackApi,
  res: Response,
  wait: number,
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>,
): Promise<void> {
  const retryAfter = retryAfterMs(res.headers.get('retry-after'), ctx.retry.maxRetryAfterMs);
  const base = { operation: call.operation, api, wait };
  if (retryAfter !== null) {
    ctx.log.warn({ ...base, delayMs: retryAfter }, 'shotstack rate limit hit; waiting as Retry-After says');
    return sleep(retryAfter, call.signal);
  }
  if (ctx.budget) {
    ctx.log.warn(base, 'shotstack rate limit hit; holding this API until its window resets');
    return ctx.budget.markSpent(api);
  }
  const windowMs = (ctx.rateLimit ?? DEFAULT_RATE_LIMIT_POLICY).windowMs;
  ctx.log.warn({ ...base, delayMs: windowMs }, 'shotstack rate limit hit; waiting a whole window');
  return sleep(windowMs, call.signal);
}

function networkError(call: HttpCall<unknown>, e: unknown, timedOut: boolean): ShotstackError {
  if (timedOut) {
    return new ShotstackError('timeout', `${call.operation}: no answer within ${call.timeoutMs} ms`, { operation: call.operation, cause: e });
  }
  return new ShotstackError('retryable', `${call.operation}: network error (${errorCode(e)})`, { operation: call.operation, cause: e });
}

/** Full jitter: a random delay in [0, min(max, base·2^attempt)] — spreads out clients that failed together. */
export function backoff(p: RetryPolicy, attempt: number): number {
  const cap = Math.min(p.maxDelayMs, p.baseDelayMs * 2 ** attempt);
  return Math.round(Math.random() * cap);
}

/** Retry-After is either delta-seconds or an HTTP date. */
export function retryAfterMs(header: string | null, maxMs: number): number | null {
  if (!header) return null;
  const seconds = Number(header);
  const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(header) - Date.now();
  if (!Number.isFinite(ms)) return null;
  return Math.min(Math.max(0, ms), maxMs);
}

/**
 * Extracts the human message from the error bodies Shotstack uses:
 * Edit API `{success:false, message, response: {error: {details: [{message}]}} | string}`,
 * Ingest API `{errors: [{title, detail}]}`, API gateway `{message}`.
 */
export function serviceMessageOf(body: unknown): string | undefined {
  if (typeof body === 'string') return body.trim().slice(0, 500) || undefined;
  if (!body || typeof body !== 'object') return undefined;
  const b = body as Record<string, any>;
  if (Array.isArray(b.errors) && b.errors.length) {
    return b.errors.map((e: any) => [e?.title, e?.detail].filter(Boolean).join(': ')).join('; ');
  }
  const response = b.response;
  const details = response?.error?.details;
  if (Array.isArray(details) && details.length) {
    const parts = details.map((d: any) => String(d?.message ?? '')).filter(Boolean);
    return [b.message, parts.join('; ')].filter(Boolean).join(': ');
  }
  const inner = innerMessageOf(response);
  const outer = typeof b.message === 'string' ? b.message : undefined;
  if (inner && outer && inner !== outer) return `${outer}: ${inner}`;
  return inner ?? outer;
}

/** The Edit API's `response` part: the message itself, or its `error` or `message` string. */
function innerMessageOf(response: any): string | undefined {
  if (typeof response === 'string') return response;
  if (typeof response?.error === 'string') return response.error;
  if (typeof response?.message === 'string') return response.message;
  return undefined;
}

async function readBodySafely(res: Response): Promise<unknown> {
  try {
    const text = await res.text();
    try {
      return JSON.parse(text);
    } catch {
      return text;
    }
  } catch {
    return undefined;
  }
}

export async function readJson<T>(res: Response, operation: string): Promise<T> {
  const text = await res.text();
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new ShotstackError('retryable', `${operation}: the answer was not JSON (HTTP ${res.status})`, {
      status: res.status,
      operation,
    });
  }
}

function throwIfCancelled(signal: AbortSignal | undefined, cause?: unknown): void {
  if (signal?.aborted) {
    const reason = signal.reason;
    if (reason instanceof Error && reason.name !== 'AbortError') throw reason;
    throw new CancelledError(cause instanceof Error ? `cancelled (${cause.message})` : 'cancelled');
  }
}

function errorCode(e: unknown): string {
  const cause = (e as { cause?: { code?: string } })?.cause;
  return cause?.code ?? (e as NodeJS.ErrnoException)?.code ?? (e as Error)?.name ?? 'unknown';
}

function connectionRefused(e: unknown): boolean {
  const code = errorCode(e);
  return code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EAI_AGAIN';
}

export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new CancelledError());
    const onAbort = () => {
      clearTimeout(timer);
      reject(new CancelledError());
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
