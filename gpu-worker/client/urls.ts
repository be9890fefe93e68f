import { isIP } from 'node:net';
import { GpuWorkerError } from './errors.js';

/**
 * Where the client may send the worker token: the worker's own origin, and only over TLS unless the worker is on
 * this machine. Every request URL — including paths the worker's answers name (result files) — goes through
 * `resolveOnWorker`, so an answer can never direct the token to another host.
 */

/**
 * Parses the configured worker URL. Throws (at client creation, so a misconfigured process fails at start) unless
 * it is `https:`, or `http:` to a loopback host: plain http elsewhere would send the token and the user's video in
 * clear text.
 */
export function parseWorkerBaseUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw.endsWith('/') ? raw : `${raw}/`);
  } catch {
    throw new Error('GPU worker URL is not a valid URL.');
  }
  const where = `${url.protocol}//${url.host}`;
  if (url.username || url.password) {
    throw new Error(`GPU worker URL ${where} must not carry credentials (the token is sent as a header).`);
  }
  if (url.protocol === 'https:') return url;
  if (url.protocol === 'http:' && isLoopbackHost(url.hostname)) return url;
  throw new Error(
    `GPU worker URL ${where} must use https: (plain http: only for a loopback host: localhost, 127.0.0.0/8, [::1]).`,
  );
}

/** localhost, 127.0.0.0/8 or ::1, as `URL.hostname` spells them (IPv4 forms normalised, IPv6 in brackets). */
export function isLoopbackHost(hostname: string): boolean {
  if (hostname === 'localhost') return true;
  if (hostname === '[::1]') return true;
  return isIP(hostname) === 4 && hostname.startsWith('127.');
}

/**
 * Resolves a path (ours, or one from the worker's answer) against the base URL. Relative paths stay under the
 * base's path prefix; anything that leaves the base's origin (another scheme, host or port) is refused before a
 * request is made.
 */
export function resolveOnWorker(base: URL, path: string, jobId?: string): URL {
  const url = new URL(path.startsWith('/') && !path.startsWith('//') ? path.slice(1) : path, base);
  if (url.origin !== base.origin) {
    throw new GpuWorkerError('unavailable', 'off_origin_url', `The GPU worker named a URL on another origin (${url.origin}); refused.`, {
      jobId,
    });
  }
  return url;
}

/**
 * `GPU_WORKER_URL` may name several workers, comma-separated: each entry is held to `parseWorkerBaseUrl`, empty
 * entries (a trailing comma) are dropped, and the same origin+path twice is refused (it would be counted as two
 * workers, doubling the load sent to one).
 */
export function parseWorkerUrlList(raw: string): URL[] {
  const urls = raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => parseWorkerBaseUrl(s));
  if (!urls.length) throw new Error('GPU worker URL list is empty.');
  const seen = new Set<string>();
  for (const u of urls) {
    if (seen.has(u.href)) throw new Error(`GPU worker URL ${u.protocol}//${u.host} is listed twice.`);
    seen.add(u.href);
  }
  return urls;
}
