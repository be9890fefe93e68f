import { createWriteStream } from 'node:fs';
import { rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { OUTPUT_FILES } from '../../engine/index.js';
import type { ErrorBody, ResultFileInfo } from '../server/api.js';
import { classifyHttpError, GpuWorkerError, isNetworkError } from './errors.js';
import { connectionFailed, resultTooLarge } from './failures.js';
import { readJson, type HttpAnswer } from './http.js';
import type { ClientContext } from './settings.js';
import { resolveOnWorker } from './urls.js';

const KNOWN_FILES = new Set<string>(Object.values(OUTPUT_FILES).flat());
const DOWNLOAD_ATTEMPTS = 3;

export interface PlannedDownload {
  file: ResultFileInfo;
  dest: string;
}

/**
 * Checks every result file of a done job before anything is downloaded: one of the engine's fixed names (so a bad
 * answer cannot write elsewhere), a URL on the worker's origin, an announced size within the cap.
 */
export function planDownloads(ctx: ClientContext, jobId: string, files: ResultFileInfo[], outDir: string): PlannedDownload[] {
  return files.map((file) => {
    if (!KNOWN_FILES.has(file.name)) throw new GpuWorkerError('unavailable', 'bad_response', `unexpected result file ${file.name}`, { jobId });
    if (!Number.isSafeInteger(file.bytes) || file.bytes < 0) {
      throw new GpuWorkerError('unavailable', 'bad_response', `result file ${file.name} has no valid size`, { jobId });
    }
    if (file.bytes > ctx.maxResultBytes) throw resultTooLarge(jobId, file.name, file.bytes, ctx.maxResultBytes);
    resolveOnWorker(ctx.base, file.url, jobId);
    return { file, dest: join(outDir, file.name) };
  });
}

/** Downloads one result file to `dest`, resuming with Range after a broken connection. */
export async function download(ctx: ClientContext, jobId: string, { file, dest }: PlannedDownload, signal: AbortSignal): Promise<void> {
  const part = `${dest}.part`;
  let written = 0;
  for (let attempt = 1; ; attempt++) {
    try {
      const res = await ctx.call('GET', file.url, signal, { headers: written > 0 ? { range: `bytes=${written}-` } : {} });
      if (res.status !== 200 && res.status !== 206) {
        const failure = classifyHttpError(res.status, await readJson<ErrorBody>(res.body), `download ${file.name}`, jobId);
        // The job is gone between "done" and the download: an expired TTL or a restart. Nothing to resume.
        throw res.status === 404 ? new GpuWorkerError('unavailable', 'result_missing', failure.message, failure.details) : failure;
      }
      const append = res.status === 206 && written > 0;
      // No more than the worker announced in the job's status: a lying or broken worker cannot fill our disk.
      const allowed = file.bytes - (append ? written : 0);
      refuseDeclaredOverflow(res, allowed, jobId, file.name);
      await pipeline(res.body, capBytes(allowed, jobId, file.name), createWriteStream(part, { flags: append ? 'a' : 'w' }));
      const size = (await stat(part)).size;
      if (size !== file.bytes) {
        throw new GpuWorkerError('unavailable', 'bad_response', `download ${file.name}: got ${size} of ${file.bytes} bytes`, { jobId });
      }
      await rename(part, dest);
      return;
    } catch (e) {
      if (e instanceof GpuWorkerError || signal.aborted || !isNetworkError(e) || attempt >= DOWNLOAD_ATTEMPTS) {
        await rm(part, { force: true });
        throw isNetworkError(e) && !signal.aborted ? connectionFailed(`download ${file.name}`, e, jobId) : e;
      }
      written = await stat(part).then((s) => s.size, () => 0);
      ctx.log.warn({ jobId, file: file.name, written, attempt }, 'gpu worker download broke off; resuming');
    }
  }
}

/** A Content-Length over what may arrive fails the download before its body is read. */
function refuseDeclaredOverflow(res: HttpAnswer, allowed: number, jobId: string, name: string): void {
  const declared = Number(res.headers['content-length'] ?? NaN);
  if (declared > allowed) {
    res.body.destroy();
    throw resultTooLarge(jobId, name, declared, allowed);
  }
}

/** Passes at most `allowed` bytes; one more aborts the download (pipeline destroys the response). */
function capBytes(allowed: number, jobId: string, name: string) {
  return async function* (chunks: AsyncIterable<Buffer>) {
    let received = 0;
    for await (const chunk of chunks) {
      received += chunk.length;
      if (received > allowed) throw resultTooLarge(jobId, name, received, allowed);
      yield chunk;
    }
  };
}
