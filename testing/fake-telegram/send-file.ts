import type { Message } from 'grammy/types';
import type { MultipartFile } from '../fake-telegram-multipart.js';
import { ApiFailure, badRequest, TEXT } from './errors.js';
import { CLOUD_GET_FILE_LIMIT, MAX_CAPTION, MAX_VIDEO_NOTE_LENGTH } from './limits.js';
import { mediaMeta } from './media-meta.js';
import { FILE_METHODS, methodName } from './method-names.js';
import { mimeFor } from './mime.js';
import { chatIdOf, intOf, textOf, visibleText, type Params } from './params.js';
import type { CallContext, FakeState } from './state.js';
import type { SentFile, StoredFile } from './types.js';

/** sendVideo, sendVideoNote, sendDocument, sendPhoto: the file by upload, file id or URL, then the message. */

type Resolved = { file: StoredFile; via: SentFile['via'] };

const isUrl = (v: unknown) => typeof v === 'string' && /^https?:\/\//i.test(v);

/** The multipart part that carries `field`: named directly, or referenced as attach://<name>. */
function uploadOf(ctx: CallContext, field: string): MultipartFile | undefined {
  const value = ctx.params[field];
  if (typeof value === 'string' && value.startsWith('attach://')) {
    const upload = ctx.uploads.get(value.slice('attach://'.length));
    if (!upload) throw badRequest('wrong HTTP URL specified');
    return upload;
  }
  if (value !== undefined) return undefined;
  const upload = ctx.uploads.get(field);
  if (!upload) throw badRequest(`there is no ${field.replace('_', ' ')} in the request`);
  return upload;
}

async function resolveInputFile(s: FakeState, ctx: CallContext, method: string, limit: number): Promise<Resolved> {
  const { field, folder } = FILE_METHODS[method]!;
  const upload = uploadOf(ctx, field);
  if (upload) {
    if (upload.size === 0) throw badRequest('file must be non-empty');
    // Only reachable where the body cap is above the file cap (photos in local mode): the Bot API's own answer.
    if (upload.size > limit) throw new ApiFailure(413, 'Request Entity Too Large');
    const fileName = upload.fileName || `${field}.dat`;
    return { file: s.files.add(upload.path, upload.size, folder, fileName, mimeFor(field, fileName, upload.contentType)), via: 'upload' };
  }
  const text = String(ctx.params[field]);
  const existing = s.files.byId(text);
  if (existing) return { file: existing, via: 'file_id' };
  if (isUrl(text)) return { file: await s.files.fetchUrl(text, folder, Math.min(limit, CLOUD_GET_FILE_LIMIT), ctx.signal), via: 'url' };
  throw badRequest(TEXT.wrongFileId);
}

/** Refusals that need no file: "Sending video notes by a URL is currently unsupported", and the 640 px cap. */
function checkVideoNoteParams(ctx: CallContext): void {
  if (isUrl(ctx.params.video_note)) throw badRequest(TEXT.wrongFileId);
  const length = intOf(ctx.params, 'length');
  if (length !== undefined && length > MAX_VIDEO_NOTE_LENGTH) throw badRequest(TEXT.videoNoteLength);
}

/** The media object of the sent message, with what the server learns by looking at the file. */
async function mediaOf(field: string, file: StoredFile, ctx: CallContext): Promise<Record<string, unknown>> {
  const p = ctx.params;
  const ids = { file_id: file.file_id, file_unique_id: file.file_unique_id, file_size: file.file_size };
  if (field === 'document') return { document: { ...ids, file_name: file.fileName, mime_type: file.mimeType } };
  const m = await mediaMeta(file);
  if (field === 'photo') return { photo: [{ ...ids, width: m.width, height: m.height }] };
  if (field === 'video_note') {
    // An unreadable file passes (what the real server does with one is unverified); a readable one must be square.
    if (m.width && m.height && m.width !== m.height) throw badRequest(TEXT.videoNoteNotSquare);
    return { video_note: { ...ids, length: intOf(p, 'length') ?? Math.min(m.width, m.height), duration: intOf(p, 'duration') ?? m.duration } };
  }
  const video = {
    ...ids,
    width: intOf(p, 'width') ?? m.width,
    height: intOf(p, 'height') ?? m.height,
    duration: intOf(p, 'duration') ?? m.duration,
    file_name: file.fileName,
    mime_type: file.mimeType,
  };
  return { video };
}

/** The caption the user will see, refused over 1024 UTF-16 code units (after entity parsing). */
export function captionOf(p: Params): string | undefined {
  const raw = textOf(p, 'caption');
  if (raw === undefined) return undefined;
  const caption = visibleText(raw, textOf(p, 'parse_mode'));
  if (caption.length > MAX_CAPTION) throw badRequest(TEXT.captionTooLong);
  return caption || undefined;
}

export async function sendFileMethod(s: FakeState, method: string, ctx: CallContext): Promise<Message> {
  const { field } = FILE_METHODS[method]!;
  const chatId = chatIdOf(ctx.params, s.blocked);
  const caption = captionOf(ctx.params);
  if (field === 'video_note') checkVideoNoteParams(ctx);
  const { file, via } = await resolveInputFile(s, ctx, method, field === 'photo' ? s.limits.photo : s.limits.upload);
  ctx.files[field] = { fileName: file.fileName, size: file.file_size, via };
  let message: Message;
  try {
    const media = await mediaOf(field, file, ctx);
    message = s.chats.botMessage(chatId, ctx.params, { ...media, ...(caption ? { caption } : {}) });
  } catch (e) {
    if (via === 'upload') s.files.forget(file.file_id);
    throw e;
  }
  s.sentFiles.push({
    method: methodName(method),
    chatId,
    field,
    via,
    fileName: file.fileName,
    mimeType: file.mimeType,
    path: file.path,
    size: file.file_size,
    fileId: file.file_id,
    messageId: message.message_id,
    ...(caption ? { caption } : {}),
  });
  return message;
}
