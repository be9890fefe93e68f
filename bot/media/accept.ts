import type { Message } from 'grammy/types';
import type { TelegramInputRef } from '../../pipeline/contract.js';
import type { Messages } from '../i18n/types.js';

/**
 * Which incoming messages carry a video we can use, as a job input reference. Telegram sends videos four ways:
 * `video`, `video_note` (round), `animation` (GIF-like; it also sets `document`, so it is checked first) and
 * `document` with a video mime type. Anything else is named, so the reply can say what arrived instead.
 */
export interface VideoInput {
  ref: TelegramInputRef;
  /** The user's message carrying it (the result replies to the head video's message). */
  messageId: number;
}

export type NotAVideo = keyof Messages['what'];

export type Accepted = { ok: true; video: VideoInput } | { ok: false; what: NotAVideo };

export function acceptVideo(msg: Message | undefined): Accepted {
  if (!msg) return { ok: false, what: 'other' };
  const base = { source: 'telegram' as const };
  const pick = (
    kind: TelegramInputRef['kind'],
    f: { file_id: string; file_unique_id: string; file_size?: number; duration?: number; mime_type?: string },
  ): Accepted => ({
    ok: true,
    video: {
      messageId: msg.message_id,
      ref: {
        ...base,
        kind,
        fileId: f.file_id,
        fileUniqueId: f.file_unique_id,
        ...(f.file_size !== undefined ? { sizeBytes: f.file_size } : {}),
        ...(f.duration !== undefined ? { durationSec: f.duration } : {}),
        ...(f.mime_type ? { mimeType: f.mime_type.slice(0, 100) } : {}),
      },
    },
  });
  if (msg.video) return pick('video', msg.video);
  if (msg.video_note) return pick('video_note', msg.video_note);
  if (msg.animation) return pick('animation', msg.animation);
  if (msg.document) {
    const mime = msg.document.mime_type ?? '';
    const name = msg.document.file_name ?? '';
    if (mime.startsWith('video/') || (!mime && /\.(mp4|mov|m4v|webm|mkv)$/i.test(name))) return pick('document', msg.document);
    return { ok: false, what: 'document' };
  }
  if (msg.sticker) return { ok: false, what: 'sticker' };
  if (msg.photo) return { ok: false, what: 'photo' };
  if (msg.audio) return { ok: false, what: 'audio' };
  if (msg.voice) return { ok: false, what: 'voice' };
  if (msg.text !== undefined) return { ok: false, what: 'text' };
  return { ok: false, what: 'other' };
}
