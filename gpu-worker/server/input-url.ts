import { lookup as dnsLookup } from 'node:dns';
import { get as httpGet, type IncomingMessage } from 'node:http';
import { get as httpsGet } from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { isPublicAddress } from '../../common/net/public-address.js';
import { HttpError } from './http-util.js';
import { streamToFile } from './input.js';

/**
 * `{input: {url}}` submissions: the worker fetches the video itself. Off unless an operator turns it on
 * (GPU_WORKER_URL_INPUT): the pipeline uploads bytes and never needs it, and a fetching worker is a way into
 * whatever network it sits in. When on, every URL and every redirect hop must use an allowed protocol (https), carry
 * no credentials, not be a Telegram file URL, and resolve to public addresses only — checked when the connection is
 * made, so a DNS answer that changes between a check and the fetch (rebinding) cannot slip through.
 */
export interface InputUrlPolicy {
  /** `https:` in production; tests add `http:` for a loopback file server. */
  protocols: readonly string[];
  /** Tests only: reach loopback/private addresses (the local file server). Never set in production. */
  allowPrivateAddresses?: boolean;
}

export interface FetchInputOptions extends InputUrlPolicy {
  maxBytes: number;
  timeoutMs: number;
}

/** Redirects followed per fetch; each hop passes the same checks as the submitted URL. */
const MAX_REDIRECTS = 3;

/**
 * Telegram file URLs embed the bot token (`/file/bot<id>:<secret>/…`). The pipeline never sends them here (it
 * uploads bytes); refusing them makes a mistake visible instead of leaking the token into another service.
 */
const TELEGRAM_TOKEN_IN_PATH = /\/bot\d+:[A-Za-z0-9_-]{20,}/;

/** Checks a submitted URL (or a redirect target) before anything is fetched. Throws HttpError 400 `refused_url`. */
export function checkInputUrl(raw: unknown, policy: InputUrlPolicy): URL {
  let url: URL;
  try {
    url = new URL(String(raw));
  } catch {
    throw new HttpError(400, 'bad_request', 'input.url is not a URL.');
  }
  if (!policy.protocols.includes(url.protocol)) {
    throw refused(`input.url must use ${policy.protocols.join(' or ')}.`);
  }
  if (url.hostname === 'api.telegram.org' || TELEGRAM_TOKEN_IN_PATH.test(url.pathname)) {
    throw refused('input.url looks like a Telegram file URL (it holds the bot token); upload the bytes instead.');
  }
  if (url.username || url.password) throw refused('input.url must not carry credentials.');
  // An address literal is connected to without a DNS lookup, so the lookup guard never sees it: check it here.
  const literal = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (!policy.allowPrivateAddresses && isIP(literal) && !isPublicAddress(literal)) throw privateAddress();
  return url;
}

/** Downloads `url` to `dest`. Remote 4xx → 400, network trouble or remote 5xx → 502, too big → 413. */
export async function fetchInput(url: URL, dest: string, opts: FetchInputOptions): Promise<number> {
  const signal = AbortSignal.timeout(opts.timeoutMs);
  const res = await openFollowingRedirects(url, opts, signal);
  const status = res.statusCode ?? 0;
  if (status < 200 || status >= 300) {
    res.destroy();
    throw new HttpError(status >= 400 && status < 500 ? 400 : 502, 'input_fetch_failed', `input.url answered HTTP ${status}.`);
  }
  const declared = Number(res.headers['content-length'] ?? NaN);
  if (declared > opts.maxBytes) {
    res.destroy();
    throw new HttpError(413, 'body_too_large', `The video is larger than this worker accepts (${opts.maxBytes} bytes).`);
  }
  try {
    return await streamToFile(res, dest, opts.maxBytes);
  } catch (e) {
    res.destroy();
    if (e instanceof HttpError) throw e;
    throw new HttpError(502, 'input_fetch_failed', `Fetching input.url broke off: ${(e as Error).message}`);
  }
}

/** GETs `first`, following redirects by hand so each target is checked before it is connected to. */
async function openFollowingRedirects(first: URL, opts: FetchInputOptions, signal: AbortSignal): Promise<IncomingMessage> {
  let url = first;
  for (let hop = 0; ; hop++) {
    const res = await get(url, opts, signal);
    const location = res.headers.location;
    if (!isRedirect(res.statusCode) || !location) return res;
    res.destroy();
    if (hop >= MAX_REDIRECTS) throw new HttpError(502, 'input_fetch_failed', `input.url redirected more than ${MAX_REDIRECTS} times.`);
    url = checkInputUrl(new URL(location, url).href, opts);
  }
}

function get(url: URL, opts: FetchInputOptions, signal: AbortSignal): Promise<IncomingMessage> {
  const send = url.protocol === 'https:' ? httpsGet : httpGet;
  return new Promise((resolve, reject) => {
    // agent: false → a fresh connection made through our lookup, never a pooled socket opened for another URL.
    const req = send(url, { signal, agent: false, lookup: opts.allowPrivateAddresses ? undefined : publicOnlyLookup }, resolve);
    req.on('error', (e) => reject(fetchFailed(e, signal)));
  });
}

function fetchFailed(e: Error, signal: AbortSignal): HttpError {
  if (e instanceof PrivateAddressError) return privateAddress();
  if (signal.aborted) return new HttpError(502, 'input_fetch_failed', 'Fetching input.url timed out.');
  return new HttpError(502, 'input_fetch_failed', `Fetching input.url failed: ${e.message}`);
}

function isRedirect(status: number | undefined): boolean {
  return status === 301 || status === 302 || status === 303 || status === 307 || status === 308;
}

class PrivateAddressError extends Error {
  readonly code = 'EPRIVATEADDRESS';
  constructor(hostname: string) {
    super(`${hostname} resolves to a private or local address`);
    this.name = 'PrivateAddressError';
  }
}

function refused(message: string): HttpError {
  return new HttpError(400, 'refused_url', message);
}

function privateAddress(): HttpError {
  return refused('input.url points to a private, loopback or otherwise non-public address.');
}

/**
 * `lookup` for outgoing connections: resolves like the system does, and refuses the connection when any address
 * of the name is not public (an attacker's DNS may answer with a public and a private one).
 */
export const publicOnlyLookup: LookupFunction = (hostname, options, callback) => {
  dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
    if (err) return callback(err, '');
    if (addresses.some((a) => !isPublicAddress(a.address))) return callback(new PrivateAddressError(hostname), '');
    if (options.all) return callback(null, addresses);
    callback(null, addresses[0].address, addresses[0].family);
  });
};
