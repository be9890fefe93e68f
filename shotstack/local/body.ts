import { createWriteStream } from 'node:fs';
import type { IncomingMessage } from 'node:http';

/**
 * Request bodies read under a size cap. When a body passes the cap, reading stops and the caller answers with an
 * error and `connection: close`, so the rest is neither stored nor read. (Throwing out of a `for await` or a
 * stream pipeline would destroy the socket before the answer is written: the client would see a reset, not
 * the 4xx that says why.)
 */

/** True when the request announces a body larger than `maxBytes` (refuse it before reading a byte). */
export function declaredTooLarge(req: IncomingMessage, maxBytes: number): boolean {
  const declared = Number(req.headers['content-length']);
  return Number.isFinite(declared) && declared > maxBytes;
}

/** The whole body, or null when it passed `maxBytes` (reading stopped there). */
export function readCapped(req: IncomingMessage, maxBytes: number): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= maxBytes) return void chunks.push(chunk);
      req.off('data', onData);
      req.pause();
      resolve(null);
    };
    req.on('data', onData);
    req.once('end', () => resolve(Buffer.concat(chunks)));
    req.once('error', reject);
  });
}

/** Writes the body to `file` and returns its size, or null when it passed `maxBytes` (the file is then partial). */
export function saveCapped(req: IncomingMessage, file: string, maxBytes: number): Promise<number | null> {
  const out = createWriteStream(file);
  return new Promise((resolve, reject) => {
    let size = 0;
    let stopped = false;
    const fail = (e: Error) => {
      out.destroy();
      reject(e);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        stopped = true;
        req.off('data', onData);
        req.pause();
        out.destroy();
        return resolve(null);
      }
      if (out.write(chunk)) return;
      req.pause();
      out.once('drain', () => stopped || req.resume());
    };
    req.on('data', onData);
    req.once('end', () => stopped || out.end(() => resolve(size)));
    req.once('error', fail);
    out.once('error', fail);
  });
}
