import { createWriteStream } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { once } from 'node:events';
import { finished } from 'node:stream/promises';
import { HttpError } from './http-util.js';

/**
 * Gets a job's input video onto the worker's disk, streaming with a byte cap: either the request body itself
 * (an upload) or the body of an https URL. Neither path ever holds the whole video in memory.
 */

/** Writes chunks to `dest`, refusing with 413 as soon as more than `maxBytes` arrived. Returns the byte count. */
async function streamToFile(source: AsyncIterable<Uint8Array>, dest: string, maxBytes: number): Promise<number> {
  const out = createWriteStream(dest);
  let bytes = 0;
  try {
    for await (const chunk of source) {
      bytes += chunk.length;
      if (bytes > maxBytes) {
        throw new HttpError(413, 'body_too_large', `The video is larger than this worker accepts (${maxBytes} bytes).`);
      }
      if (!out.write(chunk)) await once(out, 'drain');
    }
    out.end();
    await finished(out);
    return bytes;
  } catch (e) {
    out.destroy();
    throw e;
  }
}

/** Streams the request body to `dest`. */
export async function receiveUpload(req: IncomingMessage, dest: string, maxBytes: number): Promise<number> {
  // destroyOnReturn: false keeps the socket alive when we stop reading at the cap, so the 413 can still be sent.
  const body = req.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>;
  try {
    return await streamToFile(body, dest, maxBytes);
  } catch (e) {
    if (e instanceof HttpError) throw e;
    throw new HttpError(400, 'bad_request', `The upload broke off: ${(e as Error).message}`);
  }
}

/**
 * Telegram file URLs embed the bot token (`/file/bot<id>:<secret>/…`). The pipeline never sends them here (it
 * uploads bytes); refusing them makes a mistake visible instead of leaking the token into another service.
 */
const TELEGRAM_TOKEN_IN_PATH = /\/bot\d+:[A-Za-z0-9_-]{20,}/;

export interface FetchInputOptions {
  maxBytes: number;
  timeoutMs: number;
  /** `https:` only in production; tests add `http:` for a loopback file server. */
  protocols: readonly string[];
}

/** Checks a submitted URL before anything is fetched. Throws HttpError 400 `refused_url`. */
export function checkInputUrl(raw: unknown, protocols: readonly string[]): URL {
  let url: URL;
  try {
    url = new URL(String(raw));
  } catch {
    throw new HttpError(400, 'bad_request', 'input.url is not a URL.');
  }
  if (!protocols.includes(url.protocol)) {
    throw new HttpError(400, 'refused_url', `input.url must use ${protocols.join(' or ')}.`);
  }
  if (url.hostname === 'api.telegram.org' || TELEGRAM_TOKEN_IN_PATH.test(url.pathname)) {
    throw new HttpError(400, 'refused_url', 'input.url looks like a Telegram file URL (it holds the bot token); upload the bytes instead.');
  }
  if (url.username || url.password) {
    throw new HttpError(400, 'refused_url', 'input.url must not carry credentials.');
  }
  return url;
}

/** Downloads `url` to `dest`. Remote 4xx → 400, network trouble or remote 5xx → 502, too big → 413. */
export async function fetchInput(url: URL, dest: string, opts: FetchInputOptions): Promise<number> {
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(opts.timeoutMs), redirect: 'follow' });
  } catch (e) {
    throw new HttpError(502, 'input_fetch_failed', `Fetching input.url failed: ${(e as Error).message}`);
  }
  if (!opts.protocols.includes(new URL(res.url || url.href).protocol)) {
    await res.body?.cancel();
    throw new HttpError(400, 'refused_url', 'input.url redirected to a protocol that is not allowed.');
  }
  if (!res.ok || !res.body) {
    await res.body?.cancel();
    const status = res.status >= 400 && res.status < 500 ? 400 : 502;
    throw new HttpError(status, 'input_fetch_failed', `input.url answered HTTP ${res.status}.`);
  }
  const declared = Number(res.headers.get('content-length') ?? NaN);
  if (declared > opts.maxBytes) {
    await res.body.cancel();
    throw new HttpError(413, 'body_too_large', `The video is larger than this worker accepts (${opts.maxBytes} bytes).`);
  }
  try {
    return await streamToFile(res.body as AsyncIterable<Uint8Array>, dest, opts.maxBytes);
  } catch (e) {
    await res.body.cancel().catch(() => undefined);
    if (e instanceof HttpError) throw e;
    throw new HttpError(502, 'input_fetch_failed', `Fetching input.url broke off: ${(e as Error).message}`);
  }
}
