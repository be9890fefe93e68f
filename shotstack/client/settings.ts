import { logger as rootLogger, type Logger } from '../../common/logger.js';
import { abortableSleep, DEFAULT_RATE_LIMIT_POLICY, type HttpContext } from '../http.js';
import type { ShotstackEnv } from '../types.js';
import type { ShotstackClientOptions } from './types.js';

/** How status polls space out: `intervalMs` first, then ×`backoff` each time, up to `maxIntervalMs`. */
export interface PollSchedule {
  intervalMs: number;
  maxIntervalMs: number;
  backoff: number;
}

/** ShotstackClientOptions with every default filled in, shared by the client's operations. */
export interface ClientSettings {
  apiUrl: string;
  env: ShotstackEnv;
  log: Logger;
  http: HttpContext;
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Limit for one API exchange. */
  timeoutMs: number;
  /** Limit for one upload PUT or one download. */
  transferTimeoutMs: number;
  poll: PollSchedule;
  renderDeadlineMs: number;
  ingestDeadlineMs: number;
  /** The API key (when any) plus `accept: application/json`: for the Edit, Ingest and Serve APIs only. */
  jsonHeaders: Record<string, string>;
  editUrl: string;
  ingestUrl: string;
  serveUrl: string;
}

export function resolveClientSettings(opts: ShotstackClientOptions): ClientSettings {
  const apiUrl = opts.apiUrl.replace(/\/+$/, '');
  const env = opts.env;
  const pollIntervalMs = opts.pollIntervalMs ?? 3000;
  const sleep = opts.sleep ?? abortableSleep;
  const log = (opts.logger ?? rootLogger).child({ component: 'shotstack-client', env });
  // The key lives only here and in request headers: it is not a property of the client object, so logging or
  // inspecting the client cannot print it.
  const authHeaders: Record<string, string> = opts.apiKey ? { 'x-api-key': opts.apiKey } : {};
  return {
    apiUrl,
    env,
    log,
    http: httpContextOf(opts, log, sleep),
    sleep,
    timeoutMs: opts.timeoutMs ?? 30_000,
    transferTimeoutMs: opts.transferTimeoutMs ?? 15 * 60_000,
    poll: {
      intervalMs: pollIntervalMs,
      maxIntervalMs: Math.max(pollIntervalMs, opts.maxPollIntervalMs ?? pollIntervalMs * 5),
      backoff: Math.max(1, opts.pollBackoff ?? 1.5),
    },
    renderDeadlineMs: opts.renderDeadlineMs ?? 15 * 60_000,
    ingestDeadlineMs: opts.ingestDeadlineMs ?? 10 * 60_000,
    jsonHeaders: { ...authHeaders, accept: 'application/json' },
    editUrl: `${apiUrl}/edit/${env}`,
    ingestUrl: `${apiUrl}/ingest/${env}`,
    serveUrl: `${apiUrl}/serve/${env}`,
  };
}

/** Retry, rate-limit and budget settings for callShotstack. */
function httpContextOf(opts: ShotstackClientOptions, log: Logger, sleep: ClientSettings['sleep']): HttpContext {
  return {
    log,
    retry: {
      maxRetries: opts.maxRetries ?? 5,
      baseDelayMs: opts.retryBaseDelayMs ?? 500,
      maxDelayMs: opts.retryMaxDelayMs ?? 20_000,
      maxRetryAfterMs: opts.maxRetryAfterMs ?? 60_000,
    },
    budget: opts.budget,
    rateLimit: {
      windowMs: opts.rateLimitWindowMs ?? DEFAULT_RATE_LIMIT_POLICY.windowMs,
      maxWaits: opts.maxRateLimitWaits ?? DEFAULT_RATE_LIMIT_POLICY.maxWaits,
    },
    sleep,
    onRetry: opts.onRetry,
  };
}
