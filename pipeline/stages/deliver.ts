import { join } from 'node:path';
import { GrammyError, InputFile, type Api } from 'grammy';
import type { Logger } from '../../common/logger.js';
import type { DeliveryRecord, JobData, OutputKind } from '../contract.js';
import { PipelineError, type JobFailure } from '../failures.js';
import { failureText, resultCaption } from '../messages.js';
import { grammySignal } from './grammy-signal.js';
import { shrinkToFit } from './shrink.js';

/**
 * The deliver stage for Telegram: the final video with sendVideo (under the upload cap, 49,000,000 bytes on the
 * cloud API; larger is re-encoded to fit, or sent as Shotstack's download link when even that fails), the round
 * note with sendVideoNote, the transparent overlay with sendDocument. A 413 from the server ("Request Entity Too
 * Large", a GrammyError thanks to common/telegram) takes the same too-large path — it is never retried as if the
 * network had failed. It sends; making sure it sends only once is the worker's job (a Redis marker around this
 * call).
 */
export interface Deliverable {
  kind: OutputKind;
  path: string;
  bytes: number;
  durationSec: number;
  width: number;
  height: number;
  /** A URL users can open (Shotstack's CDN copy, valid 24 h); absent for the local renderer. */
  publicUrl?: string;
  /** The fast engine stood in for the quality engine the user chose (no GPU): the caption says so. */
  fastInsteadOfQuality?: boolean;
}

interface VideoFile {
  path: string;
  bytes: number;
  shrunk: boolean;
}

export interface DeliverContext {
  signal: AbortSignal;
  log: Logger;
  workDir: string;
}

export type Deliver = (d: Deliverable, data: JobData, ctx: DeliverContext) => Promise<DeliveryRecord>;

export interface TelegramDelivery {
  deliver: Deliver;
  /** Best effort: a short failure message in the job's language. */
  notifyFailure(data: JobData, failure: JobFailure, log: Logger): Promise<boolean>;
}

/** Where results go: the bot's API, and the upload cap we hold it to. */
interface TelegramTarget {
  api: Api;
  uploadLimitBytes: number;
}

export function createTelegramDelivery(o: TelegramTarget): TelegramDelivery {
  return {
    deliver: (d, data, ctx) => {
      if (d.kind === 'note') return deliverNote(o, d, data, ctx);
      if (d.kind === 'overlay') return deliverOverlay(o, d, data, ctx);
      return deliverVideo(o, d, data, ctx);
    },
    notifyFailure: (data, failure, log) => notifyFailure(o.api, data, failure, log),
  };
}

function replyTo(data: JobData) {
  return data.messageId ? { reply_parameters: { message_id: data.messageId, allow_sending_without_reply: true } } : {};
}

function chatAction(api: Api, data: JobData, action: 'upload_video' | 'upload_video_note' | 'upload_document', signal: AbortSignal) {
  return api.sendChatAction(data.chatId, action, undefined, grammySignal(signal)).catch(() => undefined);
}

async function deliverNote(o: TelegramTarget, d: Deliverable, data: JobData, ctx: DeliverContext): Promise<DeliveryRecord> {
  if (d.bytes > o.uploadLimitBytes) throw new PipelineError('output_too_large', `note is ${d.bytes} bytes`, false);
  await chatAction(o.api, data, 'upload_video_note', ctx.signal);
  const m = await refusedAsTooLarge(
    o.api.sendVideoNote(
      data.chatId,
      new InputFile(d.path, 'bubble.mp4'),
      { length: Math.min(d.width, d.height), duration: Math.round(d.durationSec), ...replyTo(data) },
      grammySignal(ctx.signal),
    ),
    `note of ${d.bytes} bytes`,
  );
  return { method: 'sendVideoNote', messageId: m.message_id, bytes: d.bytes };
}

async function deliverOverlay(o: TelegramTarget, d: Deliverable, data: JobData, ctx: DeliverContext): Promise<DeliveryRecord> {
  if (d.bytes > o.uploadLimitBytes) throw new PipelineError('output_too_large', `overlay is ${d.bytes} bytes`, false);
  await chatAction(o.api, data, 'upload_document', ctx.signal);
  const m = await refusedAsTooLarge(
    o.api.sendDocument(
      data.chatId,
      new InputFile(d.path, 'bubble.webm'),
      {
        caption: resultCaption('overlay', data.language, d.fastInsteadOfQuality),
        // The transparent WebM must stay a file: detected as a video, Telegram would re-encode it without alpha.
        disable_content_type_detection: true,
        ...replyTo(data),
      },
      grammySignal(ctx.signal),
    ),
    `overlay of ${d.bytes} bytes`,
  );
  return { method: 'sendDocument', messageId: m.message_id, bytes: d.bytes };
}

/**
 * The final video: re-encoded when it is over our cap, sent, and — when the server still answers 413 (its real
 * cap is lower than ours: a proxy in front of it, or TELEGRAM_LOCAL_API set against the cloud) — re-encoded once
 * more to half of what it refused (the real cap is unknown; a second refusal settles it), then the download
 * link, then output_too_large. A 413 is never a reason to upload the same bytes again.
 */
async function deliverVideo(o: TelegramTarget, d: Deliverable, data: JobData, ctx: DeliverContext): Promise<DeliveryRecord> {
  let cap = o.uploadLimitBytes;
  let file: VideoFile = { path: d.path, bytes: d.bytes, shrunk: false };
  for (let refusals = 0; ; refusals++) {
    if (file.bytes > cap) {
      const smaller = await shrink(d, cap, ctx);
      if (!smaller) return sendLinkOrFail(o.api, d, data, ctx, cap);
      file = smaller;
    }
    // Per upload: a chat action shows for 5 s, and a re-encode takes longer than that.
    await chatAction(o.api, data, 'upload_video', ctx.signal);
    try {
      return await sendVideo(o.api, d, file, data, ctx);
    } catch (e) {
      if (!isTooLargeError(e)) throw e;
      ctx.log.warn({ bytes: file.bytes, cap, refusals: refusals + 1 }, 'Telegram refused the upload as too large (413)');
      if (refusals >= 1) return sendLinkOrFail(o.api, d, data, ctx, cap);
      cap = Math.floor(file.bytes / 2);
    }
  }
}

async function shrink(d: Deliverable, cap: number, ctx: DeliverContext): Promise<VideoFile | null> {
  const small = join(ctx.workDir, 'render', 'final.small.mp4');
  ctx.log.info({ bytes: d.bytes, limit: cap }, 'result over the upload limit; re-encoding smaller');
  const r = await shrinkToFit(d.path, small, cap, d.durationSec, { signal: ctx.signal });
  return r ? { path: small, bytes: r.bytes, shrunk: true } : null;
}

async function sendVideo(api: Api, d: Deliverable, file: VideoFile, data: JobData, ctx: DeliverContext): Promise<DeliveryRecord> {
  const m = await api.sendVideo(
    data.chatId,
    new InputFile(file.path, 'bubblecast.mp4'),
    {
      caption: resultCaption('video', data.language, d.fastInsteadOfQuality),
      width: d.width,
      height: d.height,
      duration: Math.round(d.durationSec),
      supports_streaming: true,
      ...replyTo(data),
    },
    grammySignal(ctx.signal),
  );
  return { method: 'sendVideo', messageId: m.message_id, bytes: file.bytes, ...(file.shrunk ? { shrunk: true } : {}) };
}

async function sendLinkOrFail(api: Api, d: Deliverable, data: JobData, ctx: DeliverContext, cap: number): Promise<DeliveryRecord> {
  if (!d.publicUrl) {
    throw new PipelineError('output_too_large', `the result is ${d.bytes} bytes and could not be sent under ${cap}`, false);
  }
  const text = `${resultCaption('link', data.language)}\n${d.publicUrl}`;
  const m = await api.sendMessage(data.chatId, text, replyTo(data), grammySignal(ctx.signal));
  return { method: 'sendMessage', messageId: m.message_id, bytes: d.bytes, asLink: true };
}

async function notifyFailure(api: Api, data: JobData, failure: JobFailure, log: Logger): Promise<boolean> {
  try {
    await api.sendMessage(data.chatId, failureText(failure.code, data.language), replyTo(data));
    return true;
  } catch (e) {
    log.warn({ err: (e as Error).message }, 'could not send the failure notice');
    return false;
  }
}

/** The Bot API (or the web server in front of it) refused the upload's size. */
function isTooLargeError(e: unknown): boolean {
  return e instanceof GrammyError && e.error_code === 413;
}

/** A 413 on a file we cannot make smaller is final: the same bytes would be refused again. */
async function refusedAsTooLarge<T>(send: Promise<T>, what: string): Promise<T> {
  try {
    return await send;
  } catch (e) {
    if (isTooLargeError(e)) throw new PipelineError('output_too_large', `Telegram refused the ${what} as too large (413)`, false);
    throw e;
  }
}
