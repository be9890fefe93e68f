import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { HttpError } from './http-util.js';

/**
 * Gets a job's input video onto the worker's disk, streaming with a byte cap: the request body itself (an upload)
 * here, or the body of an `input.url` (input-url.ts). Neither path ever holds the whole video in memory.
 */

/** Out of space (a full disk, a quota, a file-size limit): the same upload may work later or on another worker. */
const NO_SPACE_CODES = new Set(['ENOSPC', 'EDQUOT', 'EFBIG']);

/**
 * Writes `source` to `dest`, refusing with 413 as soon as more than `maxBytes` arrived. Returns the byte count.
 * A write error (a full or failing disk) becomes a 507/500 `storage_failed` for this request only, and the partial
 * file is removed. `pipeline` keeps an 'error' listener on the file stream for its whole life: an unhandled
 * 'error' while we wait for the next chunk would otherwise end the process and every job in it.
 */
export async function streamToFile(source: AsyncIterable<Uint8Array>, dest: string, maxBytes: number): Promise<number> {
  const file = createWriteStream(dest);
  // pipeline reports the file's errors while it runs; this permanent listener keeps one that comes after it settled
  // (a failing close) from becoming an uncaught exception.
  file.on('error', () => undefined);
  let bytes = 0;
  /** What went wrong on the sending side (the body broke off, or the cap): anything else failed writing the file. */
  let upstreamError: unknown = null;
  const capped = async function* (chunks: AsyncIterable<Uint8Array>) {
    try {
      for await (const chunk of chunks) {
        bytes += chunk.length;
        if (bytes > maxBytes) {
          throw new HttpError(413, 'body_too_large', `The video is larger than this worker accepts (${maxBytes} bytes).`);
        }
        yield chunk;
      }
    } catch (e) {
      upstreamError = e;
      throw e;
    }
  };
  try {
    await pipeline(source, capped, file);
    return bytes;
  } catch (e) {
    await rm(dest, { force: true });
    throw e === upstreamError ? e : storageFailed(e as NodeJS.ErrnoException);
  }
}

function storageFailed(e: NodeJS.ErrnoException): HttpError {
  const code = e.code ?? 'unknown';
  // The message names the errno only: fs messages can hold paths of the worker's disk.
  return new HttpError(NO_SPACE_CODES.has(code) ? 507 : 500, 'storage_failed', `The worker could not store the video (${code}).`, {
    cause: e,
  });
}

/** Streams the request body to `dest`. */
export async function receiveUpload(req: IncomingMessage, dest: string, maxBytes: number): Promise<number> {
  // destroyOnReturn: false keeps the socket alive when we stop reading (at the cap, or after a disk error), so the
  // answer can still be sent.
  const body = req.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>;
  try {
    return await streamToFile(body, dest, maxBytes);
  } catch (e) {
    if (e instanceof HttpError) throw e;
    throw new HttpError(400, 'bad_request', `The upload broke off: ${(e as Error).message}`);
  }
}
