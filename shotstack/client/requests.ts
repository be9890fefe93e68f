import { ShotstackError } from '../errors.js';
import { callShotstack, readJson } from '../http.js';
import type { ShotstackApi } from '../budget.js';
import type { ClientSettings } from './settings.js';

/** The request shapes the operations share: an API GET read as JSON, and a DELETE that tolerates 404. */

export function isNotFound(e: unknown): boolean {
  return e instanceof ShotstackError && e.kind === 'bad_request' && e.status === 404;
}

/** An idempotent GET to one of Shotstack's APIs, its answer read as JSON. */
export function getJson<T>(s: ClientSettings, g: { operation: string; url: string; api: ShotstackApi; signal?: AbortSignal }): Promise<T> {
  return callShotstack(s.http, {
    operation: g.operation,
    method: 'GET',
    url: g.url,
    headers: s.jsonHeaders,
    timeoutMs: s.timeoutMs,
    signal: g.signal,
    idempotent: true,
    api: g.api,
    read: (res) => readJson<T>(res, g.operation),
  });
}

/** A DELETE that treats 404 as "already gone": true when this call deleted it, false when it was gone. */
export async function deleteQuietly404(
  s: ClientSettings,
  d: { operation: string; url: string; api: 'ingest' | 'serve'; signal?: AbortSignal },
): Promise<boolean> {
  try {
    await callShotstack(s.http, {
      operation: d.operation,
      method: 'DELETE',
      url: d.url,
      headers: s.jsonHeaders,
      timeoutMs: s.timeoutMs,
      signal: d.signal,
      idempotent: true,
      api: d.api,
      read: async (res) => void (await res.arrayBuffer()),
    });
    return true;
  } catch (e) {
    if (isNotFound(e)) return false;
    throw e;
  }
}
