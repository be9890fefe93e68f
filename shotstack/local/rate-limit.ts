import type { ServerResponse } from 'node:http';

/**
 * Shotstack's rate limits, emulated (off unless the renderer is started with `rateLimits`): requests are counted
 * per API key and API in fixed windows aligned to the clock (floor(now / windowMs)), like Shotstack's "fixed
 * 60-second window"; over the limit the answer is a 429.
 *
 * The 429 is the one Shotstack's AWS API gateway sends (as reported from the real service): JSON
 * `{"message":"Too Many Requests"}` with `x-amzn-ErrorType: TooManyRequestsException` and NO Retry-After —
 * Shotstack documents none, so a client must not rely on one. Rejected requests are not counted (they did no
 * work); a real gateway may count them, which only makes a client that waits for the window safer.
 */
export type RateLimitedApi = 'edit' | 'ingest' | 'serve';

export interface LocalRateLimits {
  edit: number;
  ingest: number;
  /** Unset: the Serve API is not limited. */
  serve?: number;
  /** Default 60 s (Shotstack's window); tests use short ones. */
  windowMs?: number;
}

/** What one (key, API) window saw: for tests asserting a client stayed under the limit. */
export interface RateLimitWindowStats {
  api: RateLimitedApi;
  /** Which key, as the order keys were first seen (0, 1, …): the key itself is never kept in stats. */
  keyIndex: number;
  window: number;
  accepted: number;
  rejected: number;
}

export class LocalRateLimiter {
  private readonly windowMs: number;
  private readonly keys = new Map<string, number>();
  private readonly windows = new Map<string, RateLimitWindowStats>();

  constructor(
    private readonly limits: LocalRateLimits,
    private readonly now: () => number = Date.now,
  ) {
    this.windowMs = limits.windowMs ?? 60_000;
  }

  /** Counts a request; false when the key's window for `api` is already full. */
  admit(apiKey: string | undefined, api: RateLimitedApi): boolean {
    const limit = this.limits[api];
    if (limit === undefined) return true;
    const stats = this.windowOf(apiKey ?? '', api);
    if (stats.accepted >= limit) {
      stats.rejected++;
      return false;
    }
    stats.accepted++;
    return true;
  }

  /** Every window seen so far, oldest first. */
  stats(): RateLimitWindowStats[] {
    return [...this.windows.values()].map((s) => ({ ...s }));
  }

  private windowOf(apiKey: string, api: RateLimitedApi): RateLimitWindowStats {
    let keyIndex = this.keys.get(apiKey);
    if (keyIndex === undefined) this.keys.set(apiKey, (keyIndex = this.keys.size));
    const window = Math.floor(this.now() / this.windowMs);
    const id = `${keyIndex}:${api}:${window}`;
    let stats = this.windows.get(id);
    if (!stats) this.windows.set(id, (stats = { api, keyIndex, window, accepted: 0, rejected: 0 }));
    return stats;
  }
}

export function sendTooManyRequests(res: ServerResponse): void {
  const body = JSON.stringify({ message: 'Too Many Requests' });
  res.writeHead(429, {
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(body)),
    'x-amzn-errortype': 'TooManyRequestsException',
  });
  res.end(body);
}
