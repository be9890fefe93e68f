import type { LookupAddress } from 'node:dns';
import { lookup } from 'node:dns/promises';
import { createWriteStream } from 'node:fs';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/**
 * Downloads one render asset from the network, refusing anything but http(s) to addresses the policy allows
 * (public ones; see common/net/public-address.ts). Every redirect hop is checked the same way — a public URL that answers
 * `302 → http://169.254.169.254/` is the classic way around a check of the first URL only — so redirects are
 * followed here by hand, at most `maxRedirects` of them.
 *
 * Each hop's host is resolved once, every address it resolves to must be allowed (a name with one public and
 * one private address is refused: which one a connection would use is not ours to pick), and the connection goes
 * to the address that was checked: the request's `lookup` is pinned to it. Resolving again at connect time would
 * let a DNS server with a short TTL answer "public" to the check and "127.0.0.1" to the connection (rebinding).
 * TLS still verifies the certificate against the host name, since the URL keeps it.
 *
 * The body is capped: a Content-Length over the cap is refused before reading, and a body that runs past it
 * (chunked, or a lying header) is cut off when it does.
 */
export interface DownloadPolicy {
  maxBytes: number;
  maxRedirects: number;
  /** May the renderer connect to this IP address? */
  addressAllowed: (ip: string) => boolean;
  /** Every address a host name resolves to (default dns.lookup with all: true). */
  resolveHost?: (host: string) => Promise<LookupAddress[]>;
}

/** Why a download was refused or failed; the message is shown to whoever submitted the Edit. */
export class DownloadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DownloadError';
  }
}

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

export async function downloadAsset(src: string, dest: string, policy: DownloadPolicy, signal: AbortSignal): Promise<void> {
  let url = httpUrl(src);
  for (let hop = 0; ; hop++) {
    const address = await allowedAddress(url, policy);
    const res = await get(url, address, signal);
    if (!REDIRECT_STATUSES.has(res.statusCode ?? 0)) return saveBody(res, dest, policy.maxBytes);
    res.resume();
    if (hop >= policy.maxRedirects) throw new DownloadError(`more than ${policy.maxRedirects} redirects`);
    const location = res.headers.location;
    if (!location) throw new DownloadError(`HTTP ${res.statusCode} without a Location`);
    url = httpUrl(location, url);
  }
}

function httpUrl(text: string, base?: URL): URL {
  let url: URL;
  try {
    url = new URL(text, base);
  } catch {
    throw new DownloadError(`not a URL: ${text}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new DownloadError(`${base ? 'redirected to' : 'refused'} a ${url.protocol} URL; only http and https are fetched`);
  }
  return url;
}

async function allowedAddress(url: URL, policy: DownloadPolicy): Promise<LookupAddress> {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const family = isIP(host);
  const addresses = family ? [{ address: host, family }] : await resolve(host, policy);
  const refused = addresses.find((a) => !policy.addressAllowed(a.address));
  if (refused) {
    const what = family ? `${host} is` : `${host} resolves to ${refused.address}, which is`;
    throw new DownloadError(`${what} not a public address`);
  }
  return addresses[0]!;
}

async function resolve(host: string, policy: DownloadPolicy): Promise<LookupAddress[]> {
  let addresses: LookupAddress[];
  try {
    addresses = await (policy.resolveHost ?? ((h) => lookup(h, { all: true, verbatim: true })))(host);
  } catch (e) {
    throw new DownloadError(`cannot resolve ${host} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  if (!addresses.length) throw new DownloadError(`${host} resolves to no address`);
  return addresses;
}

/** A lookup that answers with the address already checked, whatever the name (see the module comment). */
function pinnedLookup(pinned: LookupAddress): LookupFunction {
  return (_host, options, callback) => {
    // Node ≥ 20 asks for every address (happy eyeballs); older paths ask for one.
    if (options.all) callback(null, [pinned]);
    else callback(null, pinned.address, pinned.family);
  };
}

function get(url: URL, pinned: LookupAddress, signal: AbortSignal): Promise<IncomingMessage> {
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    // No shared agent: a pooled keep-alive socket would belong to whatever address an earlier hop checked.
    const req = send(url, { agent: false, signal, lookup: pinnedLookup(pinned), headers: { accept: '*/*' } }, resolve);
    req.on('error', (e) => reject(new DownloadError(e.message)));
    req.end();
  });
}

async function saveBody(res: IncomingMessage, dest: string, maxBytes: number): Promise<void> {
  const status = res.statusCode ?? 0;
  if (status < 200 || status > 299) {
    res.resume();
    throw new DownloadError(`HTTP ${status}`);
  }
  const declared = Number(res.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) {
    res.destroy();
    throw new DownloadError(`${declared} bytes, over the ${maxBytes}-byte limit`);
  }
  try {
    await pipeline(res, byteCap(maxBytes), createWriteStream(dest));
  } catch (e) {
    throw e instanceof DownloadError ? e : new DownloadError((e as Error).message);
  }
}

/** Passes bytes through until `maxBytes`, then fails the stream (which aborts the download). */
function byteCap(maxBytes: number): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      seen += chunk.length;
      if (seen > maxBytes) callback(new DownloadError(`more than the ${maxBytes}-byte limit`));
      else callback(null, chunk);
    },
  });
}
