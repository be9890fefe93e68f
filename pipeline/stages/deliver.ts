import { join } from 'node:path';
import { InputFile, type Api } from 'grammy';
import type { Logger } from '../../common/logger.js';
import type { DeliveryRecord, JobData, OutputKind } from '../contract.js';
import { PipelineError, type JobFailure } from '../failures.js';
import { failureText, resultCaption } from '../messages.js';
import { grammySignal } from './grammy-signal.js';
import { shrinkToFit } from './shrink.js';

/**
 * The deliver stage for Telegram: the final video with sendVideo (≤ 50 MB on the cloud API; larger is re-encoded
 * to fit, or sent as Shotstack's download link when even that fails), the round note with sendVideoNote, the
 * transparent overlay with sendDocument. It sends; making sure it sends only once is the worker's job (a Redis
 * marker around this call).
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

export function createTelegramDelivery(o: { api: Api; uploadLimitBytes: number }): TelegramDelivery {
  const { api } = o;
  const replyTo = (data: JobData) =>
    data.messageId ? { reply_parameters: { message_id: data.messageId, allow_sending_without_reply: true } } : {};

  const chatAction = (data: JobData, action: 'upload_video' | 'upload_video_note' | 'upload_document', signal: AbortSignal) =>
    api.sendChatAction(data.chatId, action, undefined, grammySignal(signal)).catch(() => undefined);

  async function deliver(d: Deliverable, data: JobData, ctx: DeliverContext): Promise<DeliveryRecord> {
    const lang = data.language;
    if (d.kind === 'note') {
      if (d.bytes > o.uploadLimitBytes) throw new PipelineError('output_too_large', `note is ${d.bytes} bytes`, false);
      await chatAction(data, 'upload_video_note', ctx.signal);
      const m = await api.sendVideoNote(
        data.chatId,
        new InputFile(d.path, 'bubble.mp4'),
        { length: Math.min(d.width, d.height), duration: Math.round(d.durationSec), ...replyTo(data) },
        grammySignal(ctx.signal),
      );
      return { method: 'sendVideoNote', messageId: m.message_id, bytes: d.bytes };
    }
    if (d.kind === 'overlay') {
      if (d.bytes > o.uploadLimitBytes) throw new PipelineError('output_too_large', `overlay is ${d.bytes} bytes`, false);
      await chatAction(data, 'upload_document', ctx.signal);
      const m = await api.sendDocument(
        data.chatId,
        new InputFile(d.path, 'bubble.webm'),
        { caption: resultCaption('overlay', lang, d.fastInsteadOfQuality), ...replyTo(data) },
        grammySignal(ctx.signal),
      );
      return { method: 'sendDocument', messageId: m.message_id, bytes: d.bytes };
    }

    let path = d.path;
    let bytes = d.bytes;
    let shrunk = false;
    if (bytes > o.uploadLimitBytes) {
      const small = join(ctx.workDir, 'render', 'final.small.mp4');
      ctx.log.info({ bytes, limit: o.uploadLimitBytes }, 'result over the upload limit; re-encoding smaller');
      const r = await shrinkToFit(d.path, small, o.uploadLimitBytes, d.durationSec, { signal: ctx.signal });
      if (r) {
        path = small;
        bytes = r.bytes;
        shrunk = true;
      } else if (d.publicUrl) {
        const m = await api.sendMessage(data.chatId, `${resultCaption('link', lang)}\n${d.publicUrl}`, replyTo(data), grammySignal(ctx.signal));
        return { method: 'sendMessage', messageId: m.message_id, bytes: d.bytes, asLink: true };
      } else {
        throw new PipelineError('output_too_large', `the result is ${d.bytes} bytes and could not be shrunk under ${o.uploadLimitBytes}`, false);
      }
    }
    await chatAction(data, 'upload_video', ctx.signal);
    const m = await api.sendVideo(
      data.chatId,
      new InputFile(path, 'bubblecast.mp4'),
      {
        caption: resultCaption('video', lang, d.fastInsteadOfQuality),
        width: d.width,
        height: d.height,
        duration: Math.round(d.durationSec),
        supports_streaming: true,
        ...replyTo(data),
      },
      grammySignal(ctx.signal),
    );
    return { method: 'sendVideo', messageId: m.message_id, bytes, ...(shrunk ? { shrunk } : {}) };
  }

  async function notifyFailure(data: JobData, failure: JobFailure, log: Logger): Promise<boolean> {
    try {
      await api.sendMessage(data.chatId, failureText(failure.code, data.language), replyTo(data));
      return true;
    } catch (e) {
      log.warn({ err: (e as Error).message }, 'could not send the failure notice');
      return false;
    }
  }

  return { deliver, notifyFailure };
}
