import type { RateLimitOptions } from './types.js';

/**
 * Flood control as Telegram describes it for bots: about one message per second in a private chat (short bursts
 * tolerated), 20 per minute in a group, 30 per second overall. A refused call is not counted and not performed;
 * the caller learns how many whole seconds to wait (Telegram's retry_after, at least 1).
 */
export const DEFAULT_RATE_LIMITS: RateLimitOptions = {
  privateBurst: 5,
  privatePerSecond: 1,
  groupMax: 20,
  groupWindowMs: 60_000,
  globalPerSecond: 30,
};

export interface RateLimiter {
  /** Takes a slot for a send to chatId (undefined: no chat, e.g. inline messages); returns seconds to wait or 0. */
  admit(chatId: number | undefined): number;
}

export function createRateLimiter(o: RateLimitOptions, clock: () => number = Date.now): RateLimiter {
  const global = slidingWindow(o.globalPerSecond, 1000);
  const groups = new Map<number, SlidingWindow>();
  const privates = new Map<number, TokenBucket>();

  const limiterOf = (chatId: number): SlidingWindow | TokenBucket => {
    if (chatId < 0) {
      if (!groups.has(chatId)) groups.set(chatId, slidingWindow(o.groupMax, o.groupWindowMs));
      return groups.get(chatId)!;
    }
    if (!privates.has(chatId)) privates.set(chatId, tokenBucket(o.privateBurst, o.privatePerSecond, clock()));
    return privates.get(chatId)!;
  };

  return {
    admit(chatId) {
      const now = clock();
      const chat = chatId === undefined ? undefined : limiterOf(chatId);
      // Check both before taking from either, so a refusal by one does not spend the other's slot.
      const waitMs = Math.max(global.waitMs(now), chat?.waitMs(now) ?? 0);
      if (waitMs > 0) return Math.max(1, Math.ceil(waitMs / 1000));
      global.take(now);
      chat?.take(now);
      return 0;
    },
  };
}

interface SlidingWindow {
  waitMs(now: number): number;
  take(now: number): void;
}

/** At most `max` events in any `windowMs`. */
function slidingWindow(max: number, windowMs: number): SlidingWindow {
  const times: number[] = [];
  const prune = (now: number) => {
    while (times.length && times[0]! <= now - windowMs) times.shift();
  };
  return {
    waitMs(now) {
      prune(now);
      return times.length < max ? 0 : times[times.length - max]! + windowMs - now;
    },
    take(now) {
      times.push(now);
    },
  };
}

type TokenBucket = SlidingWindow;

/** `burst` tokens, refilled at `perSecond`; each event takes one. */
function tokenBucket(burst: number, perSecond: number, start: number): TokenBucket {
  let tokens = burst;
  let at = start;
  const refill = (now: number) => {
    tokens = Math.min(burst, tokens + ((now - at) / 1000) * perSecond);
    at = now;
  };
  return {
    waitMs(now) {
      refill(now);
      // The epsilon keeps float sums like 0.999 + 0.001 from leaving a whole token a hair short.
      return tokens >= 1 - 1e-9 ? 0 : ((1 - tokens) / perSecond) * 1000;
    },
    take(now) {
      refill(now);
      tokens -= 1;
    },
  };
}
