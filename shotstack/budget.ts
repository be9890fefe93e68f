import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { logger as rootLogger, type Logger } from '../common/logger.js';
import { abortableSleep } from './http.js';
import type { ShotstackEnv } from './types.js';

/**
 * A request budget per Shotstack API key, kept under Shotstack's rate limits: a fixed-window counter per
 * (key, API). Every Edit / Ingest / Serve call takes one request from it first; once a window's count is spent,
 * callers wait for the next window instead of collecting 429s (a 429'd request still counts against the limit,
 * and a retry storm keeps the key throttled). The Redis counter is shared by every worker using the key; the
 * in-memory one is for a single process (the render CLI, tests without Redis).
 *
 * Windows are aligned to the wall clock (floor(now / window)), like Shotstack's "fixed 60-second window"; the
 * workers' clocks only need to agree to within the safety margin's slack.
 */
export type ShotstackApi = 'edit' | 'ingest' | 'serve';
export type ApiLimits = Record<ShotstackApi, number>;

/** Shotstack's documented limits per API key per 60 s window (guide "Limitations → Rate limits"). */
export const SHOTSTACK_RATE_LIMITS: Readonly<Record<ShotstackEnv, Readonly<ApiLimits>>> = {
  stage: { edit: 150, ingest: 120, serve: 300 },
  v1: { edit: 300, ingest: 300, serve: 600 },
};
export const SHOTSTACK_RATE_WINDOW_MS = 60_000;
/** Share of Shotstack's own limit we spend: slack for clock skew between workers and other users of the key. */
export const BUDGET_SAFETY_MARGIN = 0.9;

/**
 * Requests per window for each API: a configured number (> 0) is the operator's budget and used as is; unset
 * (0) means Shotstack's limit for `env` times the safety margin.
 */
export function budgetLimits(env: ShotstackEnv, configured: Partial<ApiLimits> = {}, margin = BUDGET_SAFETY_MARGIN): ApiLimits {
  const pick = (api: ShotstackApi) => {
    const set = configured[api];
    return set && set > 0 ? set : Math.max(1, Math.floor(SHOTSTACK_RATE_LIMITS[env][api] * margin));
  };
  return { edit: pick('edit'), ingest: pick('ingest'), serve: pick('serve') };
}

/** Names a key's budget without the key: a short hash (Redis key names and logs are not secret). */
export function budgetKeyId(apiKey: string | undefined, env: ShotstackEnv): string {
  const hash = apiKey ? createHash('sha256').update(apiKey).digest('hex').slice(0, 16) : 'nokey';
  return `${env}-${hash}`;
}

export interface BudgetGrant {
  api: ShotstackApi;
  /** Index of the window the request was counted in (floor(epoch ms / windowMs)). */
  window: number;
  /** The request's number within that window (1 … limit). */
  count: number;
  /** How long the caller waited for a window with room. */
  waitedMs: number;
}

export interface RequestBudget {
  readonly windowMs: number;
  /** Takes one request from `api`'s budget, waiting for the next window while this one is spent. */
  take(api: ShotstackApi, signal?: AbortSignal): Promise<BudgetGrant>;
  /** The service answered 429: everyone sharing this budget holds off `api` until the current window ends. */
  markSpent(api: ShotstackApi): Promise<void>;
}

/** Adds `by` to the current window's count for `api`; returns the new count and what is left of the window. */
export interface WindowCounter {
  add(api: ShotstackApi, by: number): Promise<{ window: number; count: number; msLeft: number }>;
}

export interface BudgetOptions {
  limits: ApiLimits;
  /** Default 60 s (Shotstack's window); tests use short ones. */
  windowMs?: number;
  logger?: Logger;
  /** Test seam: the clock windows are cut from (epoch ms). */
  now?: () => number;
}

export interface RedisBudgetOptions extends BudgetOptions {
  redis: Redis;
  /** The deployment's key prefix (PIPELINE_QUEUE_PREFIX); keys live under `<prefix>:bubblecast:shotstack:budget:`. */
  prefix: string;
  /** budgetKeyId(apiKey, env). */
  keyId: string;
}

export function createRedisBudget(o: RedisBudgetOptions): RequestBudget {
  const windowMs = o.windowMs ?? SHOTSTACK_RATE_WINDOW_MS;
  const now = o.now ?? Date.now;
  const base = `${o.prefix}:bubblecast:shotstack:budget:${o.keyId}`;
  const counter: WindowCounter = {
    async add(api, by) {
      const at = now();
      const window = Math.floor(at / windowMs);
      const key = `${base}:${api}:${window}`;
      // The key outlives its window by one more, then expires: nothing to clean up.
      const replies = await o.redis.multi().incrby(key, by).pexpire(key, windowMs * 2).exec();
      const [err, count] = replies?.[0] ?? [new Error('budget transaction was discarded'), 0];
      if (err) throw err;
      return { window, count: Number(count), msLeft: (window + 1) * windowMs - at };
    },
  };
  return createBudget(counter, o, windowMs);
}

export function createMemoryBudget(o: BudgetOptions): RequestBudget {
  const windowMs = o.windowMs ?? SHOTSTACK_RATE_WINDOW_MS;
  const now = o.now ?? Date.now;
  const counts = new Map<ShotstackApi, { window: number; count: number }>();
  const counter: WindowCounter = {
    async add(api, by) {
      const at = now();
      const window = Math.floor(at / windowMs);
      const current = counts.get(api);
      const count = (current?.window === window ? current.count : 0) + by;
      counts.set(api, { window, count });
      return { window, count, msLeft: (window + 1) * windowMs - at };
    },
  };
  return createBudget(counter, o, windowMs);
}

/** The waiting logic shared by both counters. */
export function createBudget(counter: WindowCounter, o: BudgetOptions, windowMs: number): RequestBudget {
  const log = (o.logger ?? rootLogger).child({ component: 'shotstack-budget' });
  const now = o.now ?? Date.now;
  // Spreads waiters that wake together over a little time, so they do not all hit the counter in the same ms.
  const jitterMs = () => Math.floor(Math.random() * Math.min(250, windowMs / 20));
  return {
    windowMs,
    async take(api, signal) {
      const started = now();
      let logged = false;
      for (;;) {
        const r = await counter.add(api, 1);
        if (r.count <= o.limits[api]) return { api, window: r.window, count: r.count, waitedMs: now() - started };
        if (!logged) {
          logged = true;
          log.info({ api, limit: o.limits[api], windowMs, waitMs: r.msLeft }, 'shotstack request budget spent; waiting for the next window');
        }
        await abortableSleep(r.msLeft + jitterMs(), signal);
      }
    },
    async markSpent(api) {
      // Whatever the count was (≥ 0), adding the limit puts the next take over it.
      await counter.add(api, o.limits[api]);
    },
  };
}
