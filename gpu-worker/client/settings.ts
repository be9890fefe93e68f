import { setTimeout as sleep } from 'node:timers/promises';
import { logger as rootLogger, type Logger } from '../../common/logger.js';
import { TOKEN_HEADER } from '../server/api.js';
import type { GpuWorkerError } from './errors.js';
import { exchange, type HttpAnswer, type HttpExchange } from './http.js';
import type { GpuWorkerClientOptions } from './types.js';
import { parseWorkerBaseUrl, resolveOnWorker } from './urls.js';

/** A self-hosted Telegram Bot API server sends files up to 2000 MB: a bigger result could not be delivered anyway. */
const DEFAULT_MAX_RESULT_BYTES = 2 * 1024 ** 3;

/** GpuWorkerClientOptions with every default filled in, plus the one way to call the worker: shared by the operations. */
export interface ClientContext {
  base: URL;
  deadlineMs: number;
  submitAttempts: number;
  poll: { min: number; max: number };
  pollFailureLimit: number;
  resubmitLimit: number;
  maxRetryAfterMs: number;
  idleTimeoutMs: number;
  expectContinue: boolean;
  maxResultBytes: number;
  /** Gateway headers only (no token): what /health is sent with. */
  headers: Record<string, string>;
  log: Logger;
  /** A request carrying the token, to a path resolved on the worker's origin (or refused). */
  call(method: string, path: string, signal: AbortSignal, extra?: Partial<HttpExchange>): Promise<HttpAnswer>;
}

export function createClientContext(o: GpuWorkerClientOptions): ClientContext {
  const base = parseWorkerBaseUrl(o.url);
  const idleTimeoutMs = o.idleTimeoutMs ?? 30_000;
  const auth = {
    ...o.headers,
    ...(o.tokenHeader === TOKEN_HEADER ? { [TOKEN_HEADER]: o.token } : { authorization: `Bearer ${o.token}` }),
  };
  return {
    base,
    deadlineMs: o.deadlineMs ?? 15 * 60_000,
    submitAttempts: o.submitAttempts ?? 4,
    poll: o.pollIntervalMs ?? { min: 250, max: 2000 },
    pollFailureLimit: o.pollFailureLimit ?? 4,
    resubmitLimit: o.resubmitsOnLostJob ?? 1,
    maxRetryAfterMs: o.maxRetryAfterMs ?? 30_000,
    idleTimeoutMs,
    expectContinue: o.expectContinue ?? true,
    maxResultBytes: o.maxResultBytes ?? DEFAULT_MAX_RESULT_BYTES,
    headers: { ...o.headers },
    log: o.logger ?? rootLogger.child({ component: 'gpu-worker-client', worker: base.host }),
    // The one place requests carrying the token are made: every path is resolved on the worker's origin or refused.
    call: async (method, path, signal, extra = {}) =>
      exchange({ method, url: resolveOnWorker(base, path), signal, idleTimeoutMs, ...extra, headers: { ...auth, ...extra.headers } }),
  };
}

/** Waits, unless the deadline would pass first (then the caller's error is thrown at once). */
export async function pause(ms: number, signal: AbortSignal, until: number, ifTooLate: GpuWorkerError): Promise<void> {
  if (Date.now() + ms > until) throw ifTooLate;
  await sleep(ms, undefined, { signal });
}

/** Exponential backoff with jitter: base·2^(n−1), capped, ×0.5..1. */
export function backoff(n: number, baseMs: number, maxMs: number): number {
  return Math.round(Math.min(maxMs, baseMs * 2 ** (n - 1)) * (0.5 + Math.random() / 2));
}

export function retryAfterMs(res: HttpAnswer, fallbackMs: number): number {
  const v = Number(res.headers['retry-after']);
  return Number.isFinite(v) && v >= 0 ? v * 1000 : fallbackMs;
}
