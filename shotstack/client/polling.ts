import { CancelledError } from '../../common/errors.js';
import { ShotstackError } from '../errors.js';
import type { ClientSettings, PollSchedule } from './settings.js';

/** Waits between status polls: intervalMs, then ×backoff each time, up to maxIntervalMs. */
export function* pollDelays(p: PollSchedule): Generator<number, never> {
  for (let ms = p.intervalMs; ; ms = Math.min(p.maxIntervalMs, ms * p.backoff)) yield Math.round(ms);
}

export interface Deadline {
  ms: number;
  /** The caller's own signal: its abort stays a CancelledError, not a timeout. */
  outer: AbortSignal | undefined;
  /** For the timeout message, e.g. "waiting for render abc". */
  what: string;
  id: string;
}

/**
 * Calls `check` until it returns a value, sleeping the poll delays in between, under the deadline. `check`
 * returns undefined for "still working" and throws when the thing it polls has failed.
 */
export function pollUntil<T>(s: ClientSettings, d: Deadline, check: (signal: AbortSignal) => Promise<T | undefined>): Promise<T> {
  return withDeadline(d, async (signal) => {
    const delays = pollDelays(s.poll);
    for (;;) {
      const value = await check(signal);
      if (value !== undefined) return value;
      await s.sleep(delays.next().value, signal);
    }
  });
}

/** Runs `fn` under a deadline; the deadline surfaces as `timeout`, the caller's own abort as CancelledError. */
export async function withDeadline<T>(d: Deadline, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(new CancelledError('deadline')), d.ms);
  const signal = d.outer ? AbortSignal.any([d.outer, deadline.signal]) : deadline.signal;
  try {
    return await fn(signal);
  } catch (e) {
    if (deadline.signal.aborted && !d.outer?.aborted) {
      throw new ShotstackError('timeout', `${d.what}: gave up after ${d.ms} ms`, { id: d.id, cause: e });
    }
    throw e;
  } finally {
    clearTimeout(timer);
  }
}
