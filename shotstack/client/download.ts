import { createWriteStream } from 'node:fs';
import { rename, rm, stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { ShotstackError } from '../errors.js';
import { callShotstack } from '../http.js';
import type { ClientSettings } from './settings.js';
import type { CallOptions } from './types.js';

const OPERATION = 'GET rendered file';

/** Streams a URL to `destPath` via a `.part` file, renamed when complete, so a cut download never looks whole. */
export async function downloadTo(s: ClientSettings, url: string, destPath: string, o: CallOptions = {}): Promise<{ bytes: number }> {
  const part = `${destPath}.part`;
  try {
    // A file host, not a Shotstack API: no key, no budget.
    const bytes = await callShotstack(s.http, {
      operation: OPERATION,
      method: 'GET',
      url,
      timeoutMs: s.transferTimeoutMs,
      signal: o.signal,
      idempotent: true,
      read: (res) => writeBody(res, part),
    });
    await rename(part, destPath);
    return { bytes };
  } catch (e) {
    await rm(part, { force: true });
    throw e;
  }
}

/** Writes the answer's body to `path`; returns the bytes written. */
async function writeBody(res: Response, path: string): Promise<number> {
  if (!res.body) throw new ShotstackError('retryable', `${OPERATION}: empty body`, { operation: OPERATION });
  await pipeline(Readable.fromWeb(res.body as WebReadableStream<Uint8Array>), createWriteStream(path));
  const written = (await stat(path)).size;
  const expected = Number(res.headers.get('content-length') ?? NaN);
  if (Number.isFinite(expected) && expected !== written) {
    // A cut connection: surface as a network-like error so the idempotent GET is retried.
    throw Object.assign(new Error(`short download: ${written} of ${expected} bytes`), { code: 'ECONNRESET' });
  }
  return written;
}
