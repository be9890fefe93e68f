/**
 * Fault injection for the local renderer, so the client's error handling is tested against a real HTTP peer
 * instead of stubbed functions. Faults are live: tests change them between calls through the server handle.
 */
export type FaultRoute = 'edit' | 'ingest' | 'serve' | 'upload' | 'assets';

export interface FaultResponse {
  /** Which requests it applies to; default: the API routes (edit, ingest, serve, upload), not file downloads. */
  route?: FaultRoute;
  method?: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** HTTP status to answer with, e.g. 429, 500, 503, 403. */
  status: number;
  /** How many matching requests get it; the rule is spent afterwards. */
  count: number;
  /**
   * Sent as Retry-After (seconds). Shotstack documents none for its 429s and its gateway was seen sending none
   * (the `rateLimits` emulation sends none); this tests that the client honours one when a proxy adds it.
   */
  retryAfterSec?: number;
  message?: string;
}

export interface LocalFaults {
  /** Answer the next matching requests with an error status instead of handling them. */
  respond?: FaultResponse[];
  /** Added before every API answer. */
  latencyMs?: number;
  /** Hold the next `count` API answers for `ms` (longer than the client's timeout to test timeouts). */
  stall?: { count: number; ms: number; route?: FaultRoute };
  /** The next `count` renders end as `failed` with this error message (Shotstack's `error` field). */
  failRenders?: { count: number; message: string };
  /** The next `count` ingests end with this status instead of `ready`. */
  failIngests?: { count: number; status: 'failed' | 'deleted' | 'overwritten' };
  /** Hold each render status at least this long so pollers can observe queued → … → done. */
  statusHoldMs?: number;
}

export function routeOf(path: string): FaultRoute | null {
  if (path.startsWith('/edit/')) return 'edit';
  if (path.startsWith('/ingest/')) return 'ingest';
  if (path.startsWith('/serve/')) return 'serve';
  if (path.startsWith('/upload/')) return 'upload';
  if (path.startsWith('/assets/')) return 'assets';
  return null;
}

/** Takes one use of the first rule matching this request, if any. */
export function takeFaultResponse(faults: LocalFaults, method: string, route: FaultRoute | null): FaultResponse | null {
  for (const rule of faults.respond ?? []) {
    if (rule.count <= 0) continue;
    const routeMatches = rule.route ? rule.route === route : route !== null && route !== 'assets';
    if (!routeMatches || (rule.method && rule.method !== method)) continue;
    rule.count--;
    return rule;
  }
  return null;
}

export function takeStall(faults: LocalFaults, route: FaultRoute | null): number {
  const stall = faults.stall;
  if (!stall || stall.count <= 0) return 0;
  const routeMatches = stall.route ? stall.route === route : route !== null && route !== 'assets';
  if (!routeMatches) return 0;
  stall.count--;
  return stall.ms;
}

export function takeCounted<T extends { count: number }>(fault: T | undefined): T | null {
  if (!fault || fault.count <= 0) return null;
  fault.count--;
  return fault;
}
