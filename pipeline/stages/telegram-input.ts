import { createWriteStream } from 'node:fs';
import { copyFile, mkdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, isAbsolute } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { GrammyError, HttpError, type Api } from 'grammy';
import { CancelledError } from '../../common/errors.js';
import type { Logger } from '../../common/logger.js';
import type { TelegramInputRef } from '../contract.js';
import { PipelineError } from '../failures.js';
import { grammySignal } from './grammy-signal.js';

/**
 * Downloads a Telegram file by id: getFile, then `<apiRoot>/file/bot<token>/<file_path>`. That URL contains the bot
 * token, so it is built here, used once, and never logged, stored or put in an error message (errors are scrubbed
 * of the token as well, in case a library echoes the URL).
 *
 * The cloud Bot API hands out files up to 20 MB only; over that is a clear user error (`telegram_file_too_big`),
 * unless a self-hosted Bot API server (TELEGRAM_LOCAL_API) is in use — it returns an absolute `file_path` on its
 * own disk, which is read directly when this machine can see it.
 */
export interface TelegramInputOptions {
  api: Api;
  token: string;
  apiRoot: string;
  /** Largest file the Bot API server lets us download (20 MB cloud, 2000 MB local). */
  downloadLimitBytes: number;
  /** Our own limit (PIPELINE_MAX_INPUT_BYTES). */
  maxBytes: number;
  timeoutMs: number;
}

export async function downloadTelegramInput(
  o: TelegramInputOptions,
  ref: TelegramInputRef,
  dest: string,
  ctx: { signal: AbortSignal; log: Logger },
): Promise<void> {
  const scrub = (s: string) => (o.token ? s.split(o.token).join('<token>') : s);
  if (ref.sizeBytes !== undefined && ref.sizeBytes > o.downloadLimitBytes) {
    throw new PipelineError('telegram_file_too_big', `the file has ${ref.sizeBytes} bytes; the Bot API hands out at most ${o.downloadLimitBytes}`, false);
  }
  let filePath: string;
  let fileSize: number | undefined;
  try {
    const file = await o.api.getFile(ref.fileId, grammySignal(ctx.signal));
    if (!file.file_path) throw new PipelineError('input_unavailable', 'getFile returned no file_path', true);
    filePath = file.file_path;
    fileSize = file.file_size;
  } catch (e) {
    if (e instanceof GrammyError) {
      if (/file is too big/i.test(e.description)) {
        throw new PipelineError('telegram_file_too_big', `getFile: ${e.description} (the Bot API hands out at most ${o.downloadLimitBytes} bytes)`, false);
      }
      if (e.error_code === 400) throw new PipelineError('input_unavailable', `getFile: ${e.description}`, false);
      if (e.error_code === 401 || e.error_code === 404) throw new PipelineError('misconfigured', `getFile: ${e.error_code} ${e.description} (check BOT_TOKEN / TELEGRAM_API_ROOT)`, false);
      throw new PipelineError('telegram_unavailable', `getFile: ${e.error_code} ${e.description}`, true);
    }
    if (e instanceof HttpError) throw new PipelineError('telegram_unavailable', scrub(`getFile: ${e.message}`), true);
    throw e;
  }
  if (fileSize !== undefined && fileSize > o.maxBytes) {
    throw new PipelineError('too_large', `the file has ${fileSize} bytes; the limit is ${o.maxBytes}`, false);
  }
  await mkdir(dirname(dest), { recursive: true });
  const part = `${dest}.part`;
  const started = Date.now();
  try {
    if (isAbsolute(filePath) && (await stat(filePath).then((s) => s.isFile(), () => false))) {
      // A self-hosted Bot API server in --local mode on a shared disk: no HTTP needed.
      await copyFile(filePath, part);
    } else {
      await fetchFile(`${o.apiRoot.replace(/\/+$/, '')}/file/bot${o.token}/${filePath.replace(/^\/+/, '')}`, part, o, ctx.signal);
    }
    await rename(part, dest);
  } catch (e) {
    await rm(part, { force: true });
    if (ctx.signal.aborted) throw new CancelledError('download cancelled');
    if (e instanceof PipelineError) throw e;
    const err = e as Error;
    throw new PipelineError('telegram_unavailable', scrub(`file download failed: ${err.name}: ${err.message}`), true);
  }
  const bytes = (await stat(dest)).size;
  ctx.log.info({ fileUniqueId: ref.fileUniqueId, kind: ref.kind, bytes, ms: Date.now() - started }, 'telegram file downloaded');
}

async function fetchFile(url: string, part: string, o: TelegramInputOptions, signal: AbortSignal): Promise<void> {
  const limit = AbortSignal.any([signal, AbortSignal.timeout(o.timeoutMs)]);
  let res: Response;
  try {
    res = await fetch(url, { signal: limit, redirect: 'error' });
  } catch (e) {
    // Never pass the fetch error on as is: its cause can carry the URL.
    throw new PipelineError('telegram_unavailable', `file download failed: ${(e as Error).name}`, true);
  }
  if (res.status === 400 && /too big/i.test(await res.clone().text().catch(() => ''))) {
    throw new PipelineError('telegram_file_too_big', 'the Bot API refused to serve a file this large', false);
  }
  if (!res.ok || !res.body) {
    await res.body?.cancel().catch(() => undefined);
    // 404: the file_path expired (they live about an hour) — a retry calls getFile again.
    throw new PipelineError('telegram_unavailable', `file download answered HTTP ${res.status}`, res.status === 404 || res.status === 429 || res.status >= 500);
  }
  let seen = 0;
  const cap = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      seen += chunk.length;
      if (seen > o.maxBytes) return cb(new PipelineError('too_large', `the file is larger than ${o.maxBytes} bytes`, false));
      cb(null, chunk);
    },
  });
  await pipeline(Readable.fromWeb(res.body as WebReadableStream<Uint8Array>), cap, createWriteStream(part), { signal: limit });
}
