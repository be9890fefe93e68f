import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { createReadStream, createWriteStream, statSync } from 'node:fs';
import { mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, extname, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import type { Chat, File as TgFile, Message, Update, User, UserFromGetMe } from 'grammy/types';
import { probeMedia } from '../common/ffmpeg.js';
import {
  boundaryOf,
  MultipartSyntaxError,
  MultipartTooLargeError,
  readMultipart,
  type MultipartFile,
} from './fake-telegram-multipart.js';

/**
 * A local fake of the Telegram Bot API over real HTTP, for tests of the pipeline and the bot. It answers with the
 * shapes and error texts of the real server for the methods the project uses:
 *
 *   getMe, getUpdates (long poll with `timeout`, `offset` confirms, 409 when a second poller arrives or a webhook is
 *   set), setWebhook/deleteWebhook/getWebhookInfo, setMyCommands/getMyCommands/deleteMyCommands, sendMessage,
 *   editMessageText, editMessageReplyMarkup, deleteMessage, answerCallbackQuery, sendChatAction, getFile,
 *   sendVideo/sendVideoNote/sendDocument/sendPhoto (multipart uploads streamed to disk, `attach://` references,
 *   existing file ids and http(s) URLs) and `GET /file/bot<token>/<file_path>` downloads.
 *
 * Parameters are accepted the ways the real server accepts them: query string, JSON, urlencoded, multipart.
 * Limits of the cloud API are enforced: getFile refuses files over 20 MB ("file is too big"), uploads over 50 MB
 * get 413 (10 MB for photos). `local: true` behaves like a self-hosted `telegram-bot-api --local` (2000 MB, and
 * getFile returns an absolute path). A wrong token gets 401 on every route, a method it does not know gets 404.
 *
 * Everything is recorded (`calls`, `sentFiles`, per-chat `messages`), and faults can be injected per method.
 */

export interface FakeTelegramOptions {
  token: string;
  port?: number;
  host?: string;
  /** Where uploads and fetched files are stored; default a temp dir removed by close(). */
  dataDir?: string;
  /** Behave like a self-hosted Bot API server in --local mode (2000 MB limits, absolute file paths). */
  local?: boolean;
  /** Overrides of the size limits (bytes). */
  getFileLimitBytes?: number;
  uploadLimitBytes?: number;
  /** Fields of the bot's own user (getMe). */
  botInfo?: Partial<UserFromGetMe>;
}

export interface RegisteredFile {
  file_id: string;
  file_unique_id: string;
  file_size: number;
}

export interface StoredFile extends RegisteredFile {
  /** Where the bytes are on this machine. */
  path: string;
  /** The Bot API `file_path` (relative, or absolute in local mode). */
  filePath: string;
  fileName: string;
  mimeType: string;
}

export interface SentFile {
  method: string;
  chatId: number;
  /** The parameter that carried it: video, video_note, document, photo. */
  field: string;
  /** How it arrived: a multipart upload, an existing file id, or a URL the fake fetched. */
  via: 'upload' | 'file_id' | 'url';
  fileName: string;
  mimeType: string;
  path: string;
  size: number;
  fileId: string;
  messageId: number;
  caption?: string;
}

export interface RecordedCall {
  method: string;
  /** Parameters as the bot meant them (form strings are turned back into numbers/booleans/JSON). */
  params: Record<string, unknown>;
  /** File parameters of this call. */
  files: Record<string, { fileName: string; size: number; via: SentFile['via'] }>;
  httpStatus: number;
  ok: boolean;
  result?: unknown;
  description?: string;
  at: number;
}

export interface InjectedFault {
  /** Method name (case-insensitive), or '*' for every API method. */
  method: string;
  /** Answer with this error instead of handling the call. */
  status?: number;
  description?: string;
  /** For 429: parameters.retry_after (seconds). */
  retryAfter?: number;
  /** Destroy the connection without answering (a network failure). */
  drop?: boolean;
  /** Wait this long before handling (or failing) the call. */
  delayMs?: number;
  /** How many matching calls it applies to (default 1); Infinity for all. */
  times?: number;
}

export interface StoredMessage {
  message: Message;
  deleted: boolean;
  /** Every text the message had, oldest first (edits append). */
  history: string[];
}

export interface UserMessageInput {
  chatId: number;
  /** The sender; default: a user whose id equals chatId (a private chat). */
  from?: Partial<User> & { id: number };
  text?: string;
  /** Files previously registered with registerFile (metadata is probed from the file). */
  video?: RegisteredFile;
  video_note?: RegisteredFile;
  document?: RegisteredFile;
  caption?: string;
  reply_to_message_id?: number;
}

export interface FakeTelegram {
  apiRoot: string;
  token: string;
  dataDir: string;
  bot: UserFromGetMe;
  /** Makes a local file downloadable through getFile (as if a user had sent it). */
  registerFile(path: string, opts?: { fileName?: string; mimeType?: string }): RegisteredFile;
  /** Queues an update for getUpdates; update_id is assigned when missing. Messages are added to their chat. */
  pushUpdate(update: Omit<Update, 'update_id'> & { update_id?: number }): Update;
  /** Builds a faithful incoming message (ids, chat, sender, media metadata) and queues it. */
  pushUserMessage(input: UserMessageInput): Promise<Update>;
  /** A button press on a message the bot sent. */
  pushCallbackQuery(input: { chatId: number; messageId: number; data: string; from?: Partial<User> & { id: number } }): Update;
  /** Every API call, in order. */
  calls: RecordedCall[];
  callsOf(method: string): RecordedCall[];
  sentFiles: SentFile[];
  /** The messages of one chat by id, in the state the last edit/delete left them. */
  messages(chatId: number): StoredMessage[];
  /** Resolves with pred's first truthy value, re-checked after every call and update. */
  waitFor<T>(pred: () => T | null | undefined | false, opts?: { timeoutMs?: number; what?: string }): Promise<T>;
  injectFault(fault: InjectedFault): void;
  clearFaults(): void;
  /** Calls to this chat answer 403 "bot was blocked by the user". */
  blockChat(chatId: number): void;
  close(): Promise<void>;
}

const MB = 1024 * 1024;
const CLOUD_GET_FILE_LIMIT = 20 * MB;
const CLOUD_UPLOAD_LIMIT = 50 * MB;
const LOCAL_LIMIT = 2000 * MB;
const PHOTO_LIMIT = 10 * MB;
const MAX_TEXT = 4096;
const MAX_CAPTION = 1024;
const MAX_POLL_TIMEOUT_SEC = 50;

const FILE_METHODS: Record<string, { field: string; folder: string }> = {
  sendvideo: { field: 'video', folder: 'videos' },
  sendvideonote: { field: 'video_note', folder: 'video_notes' },
  senddocument: { field: 'document', folder: 'documents' },
  sendphoto: { field: 'photo', folder: 'photos' },
};

const CHAT_ACTIONS = new Set([
  'typing',
  'upload_photo',
  'record_video',
  'upload_video',
  'record_voice',
  'upload_voice',
  'upload_document',
  'choose_sticker',
  'find_location',
  'record_video_note',
  'upload_video_note',
]);

// Form values are strings; these keys are turned back into what the bot sent.
const JSON_PARAMS = new Set([
  'reply_markup',
  'reply_parameters',
  'entities',
  'caption_entities',
  'allowed_updates',
  'link_preview_options',
  'commands',
  'scope',
]);
const NUMERIC_PARAMS = new Set([
  'chat_id',
  'message_id',
  'message_thread_id',
  'reply_to_message_id',
  'offset',
  'limit',
  'timeout',
  'duration',
  'width',
  'height',
  'length',
  'cache_time',
  'max_connections',
]);
const BOOLEAN_PARAMS = new Set([
  'supports_streaming',
  'disable_notification',
  'protect_content',
  'show_alert',
  'has_spoiler',
  'disable_web_page_preview',
  'disable_content_type_detection',
  'drop_pending_updates',
  'allow_sending_without_reply',
  'show_caption_above_media',
]);

/** An error answer of the Bot API: {ok:false, error_code, description, parameters?}. */
class ApiFailure extends Error {
  constructor(
    readonly status: number,
    readonly description: string,
    readonly parameters?: { retry_after?: number; migrate_to_chat_id?: number },
  ) {
    super(description);
  }
}

const badRequest = (what: string) => new ApiFailure(400, `Bad Request: ${what}`);

interface ChatState {
  nextMessageId: number;
  messages: Map<number, StoredMessage>;
}

interface PendingPoll {
  wake(): void;
  terminate(): void;
}

type Params = Record<string, unknown>;

interface CallContext {
  params: Params;
  uploads: Map<string, MultipartFile>;
  signal: AbortSignal;
  files: RecordedCall['files'];
}

export async function startFakeTelegram(opts: FakeTelegramOptions): Promise<FakeTelegram> {
  const token = opts.token;
  const host = opts.host ?? '127.0.0.1';
  const ownsDataDir = !opts.dataDir;
  const dataDir = opts.dataDir ?? (await mkdtemp(join(tmpdir(), 'fake-telegram-')));
  const uploadDir = join(dataDir, 'uploads');
  const incomingDir = join(dataDir, 'incoming');
  await mkdir(uploadDir, { recursive: true });
  await mkdir(incomingDir, { recursive: true });
  const local = opts.local ?? false;
  const getFileLimit = opts.getFileLimitBytes ?? (local ? LOCAL_LIMIT : CLOUD_GET_FILE_LIMIT);
  const uploadLimit = opts.uploadLimitBytes ?? (local ? LOCAL_LIMIT : CLOUD_UPLOAD_LIMIT);

  const botId = Number(/^(\d+):/.exec(token)?.[1] ?? 1_000_001);
  const bot: UserFromGetMe = {
    id: botId,
    is_bot: true,
    first_name: 'Bubblecast Test',
    username: 'bubblecast_test_bot',
    can_join_groups: true,
    can_read_all_group_messages: false,
    supports_inline_queries: false,
    can_connect_to_business: false,
    has_main_web_app: false,
    ...opts.botInfo,
  } as UserFromGetMe;

  const events = new EventEmitter();
  events.setMaxListeners(0);
  const changed = () => events.emit('changed');

  const files = new Map<string, StoredFile>();
  const filesByPath = new Map<string, StoredFile>();
  let fileCounter = 0;
  const updates: Update[] = [];
  let nextUpdateId = 100_000 + Math.floor(Math.random() * 1000);
  const chats = new Map<number, ChatState>();
  const callbackQueries = new Map<string, { answered: boolean }>();
  const blocked = new Set<number>();
  const faults: Array<InjectedFault & { left: number }> = [];
  const calls: RecordedCall[] = [];
  const sentFiles: SentFile[] = [];
  let webhookUrl = '';
  let commands: unknown[] = [];
  let pendingPoll: PendingPoll | null = null;
  const sockets = new Set<Socket>();
  let closed = false;

  const now = () => Math.floor(Date.now() / 1000);

  function chatState(chatId: number): ChatState {
    let c = chats.get(chatId);
    if (!c) {
      c = { nextMessageId: 1, messages: new Map() };
      chats.set(chatId, c);
    }
    return c;
  }

  function chatOf(chatId: number): Chat {
    return chatId > 0
      ? ({ id: chatId, type: 'private', first_name: `User${chatId}` } as Chat)
      : ({ id: chatId, type: 'supergroup', title: `Group ${chatId}` } as Chat);
  }

  function storeMessage(chatId: number, message: Message): Message {
    const c = chatState(chatId);
    c.nextMessageId = Math.max(c.nextMessageId, message.message_id + 1);
    c.messages.set(message.message_id, { message, deleted: false, history: 'text' in message && message.text ? [message.text] : [] });
    return message;
  }

  function newFileIds(): { file_id: string; file_unique_id: string } {
    fileCounter++;
    return {
      file_id: `BAAC${fileCounter.toString(36)}${randomBytes(12).toString('base64url')}`,
      file_unique_id: `AgAD${fileCounter.toString(36)}${randomBytes(4).toString('base64url')}`,
    };
  }

  function addFile(path: string, size: number, folder: string, fileName: string, mimeType: string): StoredFile {
    const ids = newFileIds();
    const relative = `${folder}/file_${fileCounter}${extname(fileName) || ''}`;
    const f: StoredFile = {
      ...ids,
      file_size: size,
      path,
      filePath: local ? path : relative,
      fileName,
      mimeType,
    };
    files.set(f.file_id, f);
    filesByPath.set(f.filePath, f);
    return f;
  }

  function registerFile(path: string, o: { fileName?: string; mimeType?: string } = {}): RegisteredFile {
    const size = statSync(path).size;
    const fileName = o.fileName ?? basename(path);
    const f = addFile(path, size, 'documents', fileName, o.mimeType ?? mimeOf(fileName));
    return { file_id: f.file_id, file_unique_id: f.file_unique_id, file_size: f.file_size };
  }

  function pushUpdate(u: Omit<Update, 'update_id'> & { update_id?: number }): Update {
    const update = { ...u, update_id: u.update_id ?? nextUpdateId++ } as Update;
    nextUpdateId = Math.max(nextUpdateId, update.update_id + 1);
    if (update.message) storeMessage(update.message.chat.id, update.message);
    if (update.callback_query) callbackQueries.set(update.callback_query.id, { answered: false });
    updates.push(update);
    pendingPoll?.wake();
    changed();
    return update;
  }

  function senderOf(chatId: number, from?: Partial<User> & { id: number }): User {
    return { is_bot: false, first_name: `User${from?.id ?? chatId}`, language_code: 'en', ...from, id: from?.id ?? chatId } as User;
  }

  async function mediaMeta(f: StoredFile): Promise<{ width: number; height: number; duration: number }> {
    try {
      const info = await probeMedia(f.path);
      return { width: info.video?.width ?? 0, height: info.video?.height ?? 0, duration: Math.round(info.durationSec) };
    } catch {
      return { width: 0, height: 0, duration: 0 };
    }
  }

  async function pushUserMessage(input: UserMessageInput): Promise<Update> {
    const c = chatState(input.chatId);
    const message: Record<string, unknown> = {
      message_id: c.nextMessageId++,
      date: now(),
      chat: chatOf(input.chatId),
      from: senderOf(input.chatId, input.from),
    };
    if (input.text !== undefined) message.text = input.text;
    if (input.text?.startsWith('/')) {
      const cmd = input.text.split(/\s/)[0]!;
      message.entities = [{ type: 'bot_command', offset: 0, length: cmd.length }];
    }
    if (input.caption !== undefined) message.caption = input.caption;
    if (input.reply_to_message_id) {
      const replied = c.messages.get(input.reply_to_message_id);
      if (replied) message.reply_to_message = replied.message;
    }
    const known = (r: RegisteredFile) => {
      const f = files.get(r.file_id);
      if (!f) throw new Error(`pushUserMessage: ${r.file_id} was not registered`);
      return f;
    };
    if (input.video) {
      const f = known(input.video);
      const m = await mediaMeta(f);
      message.video = { file_id: f.file_id, file_unique_id: f.file_unique_id, ...m, file_name: f.fileName, mime_type: f.mimeType, file_size: f.file_size };
    }
    if (input.video_note) {
      const f = known(input.video_note);
      const m = await mediaMeta(f);
      message.video_note = { file_id: f.file_id, file_unique_id: f.file_unique_id, length: m.width, duration: m.duration, file_size: f.file_size };
    }
    if (input.document) {
      const f = known(input.document);
      message.document = { file_id: f.file_id, file_unique_id: f.file_unique_id, file_name: f.fileName, mime_type: f.mimeType, file_size: f.file_size };
    }
    return pushUpdate({ message: message as unknown as Message & Update.NonChannel });
  }

  function pushCallbackQuery(input: { chatId: number; messageId: number; data: string; from?: Partial<User> & { id: number } }): Update {
    const stored = chats.get(input.chatId)?.messages.get(input.messageId);
    if (!stored || stored.deleted) throw new Error(`pushCallbackQuery: no message ${input.messageId} in chat ${input.chatId}`);
    return pushUpdate({
      callback_query: {
        id: `${Date.now()}${randomBytes(4).readUInt32BE(0)}`,
        from: senderOf(input.chatId, input.from),
        chat_instance: `ci${input.chatId}`,
        message: stored.message as never,
        data: input.data,
      },
    });
  }

  // ---- parameter helpers -------------------------------------------------------------------------------------

  function chatIdOf(p: Params): number {
    const v = p.chat_id;
    if (v === undefined || v === null || v === '') throw badRequest('chat_id is empty');
    const n = typeof v === 'number' ? v : Number(v);
    if (!Number.isSafeInteger(n)) throw badRequest('chat not found');
    if (blocked.has(n)) throw new ApiFailure(403, 'Forbidden: bot was blocked by the user');
    return n;
  }

  function intOf(p: Params, key: string): number | undefined {
    const v = p[key];
    if (v === undefined || v === null || v === '') return undefined;
    const n = typeof v === 'number' ? v : Number(v);
    if (!Number.isFinite(n)) throw badRequest(`field "${key}" must be a number`);
    return n;
  }

  function textOf(p: Params, key: string): string | undefined {
    const v = p[key];
    return v === undefined || v === null ? undefined : String(v);
  }

  function replyTo(p: Params, chatId: number): Message | undefined {
    const params = p.reply_parameters as { message_id?: number } | undefined;
    const id = params?.message_id ?? intOf(p, 'reply_to_message_id');
    if (id === undefined) return undefined;
    const found = chats.get(chatId)?.messages.get(id);
    if (!found || found.deleted) {
      const allow = (p.reply_parameters as { allow_sending_without_reply?: boolean } | undefined)?.allow_sending_without_reply;
      if (allow || p.allow_sending_without_reply === true) return undefined;
      throw badRequest('message to be replied not found');
    }
    return found.message;
  }

  function botMessage(chatId: number, p: Params, extra: Record<string, unknown>): Message {
    const c = chatState(chatId);
    const reply = replyTo(p, chatId);
    const message = {
      message_id: c.nextMessageId++,
      from: { id: bot.id, is_bot: true, first_name: bot.first_name, username: bot.username },
      chat: chatOf(chatId),
      date: now(),
      ...(reply ? { reply_to_message: reply } : {}),
      ...(p.reply_markup && isInlineKeyboard(p.reply_markup) ? { reply_markup: p.reply_markup } : {}),
      ...extra,
    } as unknown as Message;
    return storeMessage(chatId, message);
  }

  function findOwnMessage(p: Params, verb: 'edit' | 'delete'): StoredMessage {
    const chatId = chatIdOf(p);
    const id = intOf(p, 'message_id');
    if (id === undefined) throw badRequest('message identifier is not specified');
    const stored = chats.get(chatId)?.messages.get(id);
    if (!stored || stored.deleted) throw badRequest(verb === 'edit' ? 'message to edit not found' : 'message to delete not found');
    if (verb === 'edit' && (stored.message as { from?: User }).from?.id !== bot.id) throw badRequest("message can't be edited");
    return stored;
  }

  // ---- files in calls --------------------------------------------------------------------------------------------

  async function resolveInputFile(
    ctx: CallContext,
    field: string,
    folder: string,
    limit: number,
  ): Promise<{ file: StoredFile; via: SentFile['via'] }> {
    const value = ctx.params[field];
    let upload: MultipartFile | undefined;
    if (typeof value === 'string' && value.startsWith('attach://')) {
      upload = ctx.uploads.get(value.slice('attach://'.length));
      if (!upload) throw badRequest(`wrong HTTP URL specified`);
    } else if (value === undefined) {
      upload = ctx.uploads.get(field);
      if (!upload) throw badRequest(`there is no ${field.replace('_', ' ')} in the request`);
    }
    if (upload) {
      if (upload.size === 0) throw badRequest('file must be non-empty');
      if (upload.size > limit) throw new ApiFailure(413, 'Request Entity Too Large');
      const fileName = upload.fileName || `${field}.dat`;
      return { file: addFile(upload.path, upload.size, folder, fileName, mimeFor(field, fileName, upload.contentType)), via: 'upload' };
    }
    const text = String(value);
    const existing = files.get(text);
    if (existing) return { file: existing, via: 'file_id' };
    if (/^https?:\/\//i.test(text)) {
      return { file: await fetchUrlFile(text, folder, Math.min(limit, 20 * MB), ctx.signal), via: 'url' };
    }
    throw badRequest('wrong file identifier/HTTP URL specified');
  }

  async function fetchUrlFile(url: string, folder: string, limit: number, signal: AbortSignal): Promise<StoredFile> {
    let res: Response;
    try {
      res = await fetch(url, { signal });
    } catch {
      throw badRequest('failed to get HTTP URL content');
    }
    if (!res.ok || !res.body) throw badRequest('failed to get HTTP URL content');
    const name = basename(new URL(url).pathname) || `${folder}.dat`;
    const dest = join(incomingDir, `${fileCounter + 1}-${name.replace(/[^A-Za-z0-9._-]/g, '_')}`);
    await pipeline(Readable.fromWeb(res.body as WebReadableStream<Uint8Array>), createWriteStream(dest));
    const size = (await stat(dest)).size;
    if (size > limit) {
      await rm(dest, { force: true });
      throw badRequest('wrong file identifier/HTTP URL specified');
    }
    return addFile(dest, size, folder, name, res.headers.get('content-type') ?? mimeOf(name));
  }

  async function sendFileMethod(method: string, ctx: CallContext): Promise<Message> {
    const { field, folder } = FILE_METHODS[method]!;
    const p = ctx.params;
    const chatId = chatIdOf(p);
    const caption = textOf(p, 'caption');
    if (caption && caption.length > MAX_CAPTION) throw badRequest('message caption is too long');
    const { file, via } = await resolveInputFile(ctx, field, folder, field === 'photo' ? PHOTO_LIMIT : uploadLimit);
    ctx.files[field] = { fileName: file.fileName, size: file.file_size, via };
    const ids = { file_id: file.file_id, file_unique_id: file.file_unique_id, file_size: file.file_size };
    let media: Record<string, unknown>;
    if (field === 'video') {
      const m = await mediaMeta(file);
      media = {
        video: {
          ...ids,
          width: intOf(p, 'width') ?? m.width,
          height: intOf(p, 'height') ?? m.height,
          duration: intOf(p, 'duration') ?? m.duration,
          file_name: file.fileName,
          mime_type: file.mimeType,
        },
      };
    } else if (field === 'video_note') {
      const m = await mediaMeta(file);
      media = { video_note: { ...ids, length: intOf(p, 'length') ?? Math.min(m.width, m.height), duration: intOf(p, 'duration') ?? m.duration } };
    } else if (field === 'photo') {
      const m = await mediaMeta(file);
      media = { photo: [{ ...ids, width: m.width, height: m.height }] };
    } else {
      media = { document: { ...ids, file_name: file.fileName, mime_type: file.mimeType } };
    }
    const message = botMessage(chatId, p, { ...media, ...(caption ? { caption } : {}) });
    sentFiles.push({
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

  // ---- getUpdates ------------------------------------------------------------------------------------------------

  async function getUpdates(p: Params, signal: AbortSignal): Promise<Update[]> {
    if (webhookUrl) {
      throw new ApiFailure(409, "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first");
    }
    const offset = intOf(p, 'offset') ?? 0;
    const limit = Math.min(100, Math.max(1, intOf(p, 'limit') ?? 100));
    const timeoutSec = Math.min(MAX_POLL_TIMEOUT_SEC, Math.max(0, intOf(p, 'timeout') ?? 0));
    // `offset` confirms every update before it; a negative offset keeps only the last |offset| updates.
    if (offset > 0) {
      while (updates.length && updates[0]!.update_id < offset) updates.shift();
    } else if (offset < 0) {
      updates.splice(0, Math.max(0, updates.length + offset));
    }
    const available = () => updates.slice(0, limit);
    if (available().length || timeoutSec === 0) return available();

    // A second poller terminates the first one, as the real server does.
    pendingPoll?.terminate();
    return new Promise<Update[]>((resolve, reject) => {
      const poll: PendingPoll = {
        wake: () => finish(() => resolve(available())),
        terminate: () =>
          finish(() => reject(new ApiFailure(409, 'Conflict: terminated by other getUpdates request; make sure that only one bot instance is running'))),
      };
      const timer = setTimeout(() => poll.wake(), timeoutSec * 1000);
      const onAbort = () => finish(() => resolve([]));
      signal.addEventListener('abort', onAbort, { once: true });
      function finish(action: () => void) {
        if (pendingPoll === poll) pendingPoll = null;
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        action();
      }
      pendingPoll = poll;
    });
  }

  // ---- methods -----------------------------------------------------------------------------------------------------

  async function callMethod(method: string, ctx: CallContext): Promise<unknown> {
    const p = ctx.params;
    switch (method) {
      case 'getme':
        return bot;
      case 'logout':
      case 'close':
        return true;
      case 'getupdates':
        return getUpdates(p, ctx.signal);
      case 'setwebhook': {
        const url = textOf(p, 'url') ?? '';
        if (url && !/^https:\/\//.test(url)) throw badRequest('bad webhook: An HTTPS URL must be provided for webhook');
        webhookUrl = url;
        if (p.drop_pending_updates === true) updates.length = 0;
        return true;
      }
      case 'deletewebhook':
        webhookUrl = '';
        if (p.drop_pending_updates === true) updates.length = 0;
        return true;
      case 'getwebhookinfo':
        return { url: webhookUrl, has_custom_certificate: false, pending_update_count: webhookUrl ? updates.length : 0 };
      case 'setmycommands':
        commands = Array.isArray(p.commands) ? p.commands : [];
        return true;
      case 'getmycommands':
        return commands;
      case 'deletemycommands':
        commands = [];
        return true;
      case 'sendmessage': {
        const chatId = chatIdOf(p);
        const raw = textOf(p, 'text') ?? '';
        const text = visibleText(raw, textOf(p, 'parse_mode'));
        if (!text.trim()) throw badRequest('message text is empty');
        if (text.length > MAX_TEXT) throw badRequest('message is too long');
        return botMessage(chatId, p, { text });
      }
      case 'editmessagetext': {
        if (p.inline_message_id !== undefined) return true;
        const stored = findOwnMessage(p, 'edit');
        const raw = textOf(p, 'text') ?? '';
        const text = visibleText(raw, textOf(p, 'parse_mode'));
        if (!text.trim()) throw badRequest('message text is empty');
        if (text.length > MAX_TEXT) throw badRequest('message is too long');
        const markup = p.reply_markup && isInlineKeyboard(p.reply_markup) ? p.reply_markup : undefined;
        const current = stored.message as Message & { text?: string; reply_markup?: unknown };
        if (current.text === text && JSON.stringify(current.reply_markup) === JSON.stringify(markup)) {
          throw badRequest(
            'message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message',
          );
        }
        const next = { ...current, text, edit_date: now() } as Omit<Message, 'reply_markup'> & { reply_markup?: unknown };
        if (markup) next.reply_markup = markup;
        else delete next.reply_markup;
        stored.message = next as Message;
        stored.history.push(text);
        return next;
      }
      case 'editmessagereplymarkup': {
        if (p.inline_message_id !== undefined) return true;
        const stored = findOwnMessage(p, 'edit');
        const markup = p.reply_markup && isInlineKeyboard(p.reply_markup) ? p.reply_markup : undefined;
        const current = stored.message as Message & { reply_markup?: unknown };
        if (JSON.stringify(current.reply_markup) === JSON.stringify(markup)) {
          throw badRequest(
            'message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message',
          );
        }
        const next = { ...current, edit_date: now() } as Omit<Message, 'reply_markup'> & { reply_markup?: unknown };
        if (markup) next.reply_markup = markup;
        else delete next.reply_markup;
        stored.message = next as Message;
        return next;
      }
      case 'deletemessage': {
        const stored = findOwnMessage(p, 'delete');
        stored.deleted = true;
        return true;
      }
      case 'answercallbackquery': {
        const id = textOf(p, 'callback_query_id');
        if (!id) throw badRequest('QUERY_ID_INVALID');
        const q = callbackQueries.get(id);
        if (!q || q.answered) throw badRequest('query is too old and response timeout expired or query ID is invalid');
        q.answered = true;
        return true;
      }
      case 'sendchataction': {
        chatIdOf(p);
        const action = textOf(p, 'action');
        if (!action) throw badRequest('action is empty');
        if (!CHAT_ACTIONS.has(action)) throw badRequest('wrong parameter action in request');
        return true;
      }
      case 'getfile': {
        const id = textOf(p, 'file_id');
        if (!id) throw badRequest('file_id is empty');
        const f = files.get(id);
        if (!f) throw badRequest('invalid file_id');
        if (f.file_size > getFileLimit) throw badRequest('file is too big');
        const result: TgFile = { file_id: f.file_id, file_unique_id: f.file_unique_id, file_size: f.file_size, file_path: f.filePath };
        return result;
      }
      default:
        if (FILE_METHODS[method]) return sendFileMethod(method, ctx);
        throw new ApiFailure(404, 'Not Found: method not found');
    }
  }

  // ---- HTTP --------------------------------------------------------------------------------------------------------

  async function readParams(req: IncomingMessage, url: URL, uploads: Map<string, MultipartFile>): Promise<Params> {
    const params: Params = {};
    const fromForm = (key: string, value: string) => (params[key] = coerceFormValue(key, value));
    for (const [k, v] of url.searchParams) fromForm(k, v);
    const type = (req.headers['content-type'] ?? '').toLowerCase();
    if (req.method === 'GET' || req.method === 'HEAD') return params;
    if (type.startsWith('multipart/form-data')) {
      const boundary = boundaryOf(req.headers['content-type']);
      if (!boundary) throw badRequest('wrong multipart boundary');
      const dir = join(uploadDir, `${Date.now()}-${randomBytes(4).toString('hex')}`);
      await mkdir(dir, { recursive: true });
      const body = await readMultipart(req, boundary, dir, { maxBytes: uploadLimit + 2 * MB });
      for (const f of body.fields) fromForm(f.name, f.value);
      for (const f of body.files) uploads.set(f.name, f);
      return params;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const c of req as AsyncIterable<Buffer>) {
      size += c.length;
      if (size > 10 * MB) throw new ApiFailure(413, 'Request Entity Too Large');
      chunks.push(c);
    }
    const text = Buffer.concat(chunks).toString('utf8');
    if (!text) return params;
    if (type.startsWith('application/json')) {
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        throw badRequest("can't parse JSON object");
      }
      if (json && typeof json === 'object' && !Array.isArray(json)) Object.assign(params, json);
      return params;
    }
    for (const [k, v] of new URLSearchParams(text)) fromForm(k, v);
    return params;
  }

  function takeFault(method: string): InjectedFault | null {
    for (const f of faults) {
      if (f.left <= 0) continue;
      if (f.method !== '*' && f.method.toLowerCase() !== method) continue;
      f.left--;
      return f;
    }
    return null;
  }

  async function handleApi(req: IncomingMessage, res: ServerResponse, givenToken: string, rawMethod: string, url: URL) {
    const method = rawMethod.toLowerCase();
    const record: RecordedCall = { method: methodName(method) || rawMethod, params: {}, files: {}, httpStatus: 0, ok: false, at: Date.now() };
    const abort = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) abort.abort();
    });
    const uploads = new Map<string, MultipartFile>();
    try {
      if (givenToken !== token) {
        req.resume();
        throw new ApiFailure(401, 'Unauthorized');
      }
      record.params = await readParams(req, url, uploads);
      const fault = takeFault(method);
      if (fault?.delayMs) await sleep(fault.delayMs, abort.signal);
      if (fault?.drop) {
        record.description = 'connection dropped (injected)';
        calls.push(record);
        changed();
        req.socket.destroy();
        return;
      }
      if (fault?.status) {
        throw new ApiFailure(fault.status, fault.description ?? defaultDescription(fault.status), fault.retryAfter !== undefined ? { retry_after: fault.retryAfter } : undefined);
      }
      const result = await callMethod(method, { params: record.params, uploads, signal: abort.signal, files: record.files });
      record.ok = true;
      record.result = result;
      record.httpStatus = 200;
      sendJson(res, 200, { ok: true, result });
    } catch (e) {
      const failure =
        e instanceof ApiFailure
          ? e
          : e instanceof MultipartTooLargeError
            ? new ApiFailure(413, 'Request Entity Too Large')
            : e instanceof MultipartSyntaxError
              ? badRequest(`can't parse multipart/form-data: ${e.message}`)
              : new ApiFailure(500, `Internal Server Error: ${(e as Error).message}`);
      record.httpStatus = failure.status;
      record.description = failure.description;
      if (!res.headersSent && !res.destroyed) {
        sendJson(res, failure.status, {
          ok: false,
          error_code: failure.status,
          description: failure.description,
          ...(failure.parameters ? { parameters: failure.parameters } : {}),
        });
      }
    } finally {
      // Uploads that did not become a sent file (a failed call) are removed; sent ones stay until close().
      const kept = new Set(sentFiles.map((f) => f.path));
      await Promise.all([...uploads.values()].filter((u) => !kept.has(u.path)).map((u) => rm(u.path, { force: true })));
    }
    if (!calls.includes(record)) calls.push(record);
    changed();
  }

  async function handleFileDownload(res: ServerResponse, givenToken: string, filePath: string) {
    if (givenToken !== token) return sendJson(res, 401, { ok: false, error_code: 401, description: 'Unauthorized' });
    const f = filesByPath.get(filePath) ?? (local ? filesByPath.get(`/${filePath}`) : undefined);
    if (!f) return sendJson(res, 404, { ok: false, error_code: 404, description: 'Not Found' });
    if (f.file_size > getFileLimit) return sendJson(res, 400, { ok: false, error_code: 400, description: 'Bad Request: file is too big' });
    res.writeHead(200, { 'content-type': f.mimeType, 'content-length': String(f.file_size) });
    await pipeline(createReadStream(f.path), res);
  }

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://fake-telegram');
    let m: RegExpMatchArray | null;
    let work: Promise<void>;
    if ((m = url.pathname.match(/^\/bot([^/]+)\/([A-Za-z]+)$/))) {
      work = handleApi(req, res, decodeURIComponent(m[1]!), m[2]!, url);
    } else if (req.method === 'GET' && (m = url.pathname.match(/^\/file\/bot([^/]+)\/(.+)$/))) {
      work = handleFileDownload(res, decodeURIComponent(m[1]!), decodeURIComponent(m[2]!));
    } else {
      req.resume();
      sendJson(res, 404, { ok: false, error_code: 404, description: 'Not Found' });
      return;
    }
    work.catch((e: unknown) => {
      if (!res.headersSent) sendJson(res, 500, { ok: false, error_code: 500, description: `Internal Server Error: ${(e as Error).message}` });
      else res.destroy();
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const apiRoot = `http://${host}:${port}`;

  return {
    apiRoot,
    token,
    dataDir,
    bot,
    registerFile,
    pushUpdate,
    pushUserMessage,
    pushCallbackQuery,
    calls,
    callsOf: (method: string) => calls.filter((c) => c.method.toLowerCase() === method.toLowerCase()),
    sentFiles,
    messages: (chatId: number) => [...(chats.get(chatId)?.messages.values() ?? [])],
    waitFor<T>(pred: () => T | null | undefined | false, o: { timeoutMs?: number; what?: string } = {}): Promise<T> {
      const timeoutMs = o.timeoutMs ?? 10_000;
      return new Promise<T>((resolve, reject) => {
        const check = () => {
          let v: T | null | undefined | false;
          try {
            v = pred();
          } catch (e) {
            done();
            reject(e);
            return;
          }
          if (v) {
            done();
            resolve(v);
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`fake telegram: timed out after ${timeoutMs} ms waiting for ${o.what ?? 'a condition'}`));
        }, timeoutMs);
        // Conditions may also depend on state outside the fake (files on disk, Redis): re-check now and then.
        const ticker = setInterval(check, 200);
        function done() {
          clearTimeout(timer);
          clearInterval(ticker);
          events.off('changed', check);
        }
        events.on('changed', check);
        check();
      });
    },
    injectFault(fault: InjectedFault) {
      faults.push({ ...fault, left: fault.times ?? 1 });
    },
    clearFaults() {
      faults.length = 0;
    },
    blockChat(chatId: number) {
      blocked.add(chatId);
    },
    async close() {
      if (closed) return;
      closed = true;
      pendingPoll?.wake();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      });
      if (ownsDataDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)) });
  res.end(text);
}

function coerceFormValue(key: string, value: string): unknown {
  if (JSON_PARAMS.has(key)) {
    try {
      return JSON.parse(value);
    } catch {
      return value;
    }
  }
  if (NUMERIC_PARAMS.has(key) && /^-?\d+(\.\d+)?$/.test(value)) return Number(value);
  if (BOOLEAN_PARAMS.has(key) && (value === 'true' || value === 'false')) return value === 'true';
  return value;
}

function isInlineKeyboard(markup: unknown): boolean {
  return typeof markup === 'object' && markup !== null && 'inline_keyboard' in markup;
}

/** What the user sees: HTML tags are markup, not text (the real server returns the text without them). */
function visibleText(text: string, parseMode: string | undefined): string {
  if (parseMode?.toLowerCase() !== 'html') return text;
  return text
    .replace(/<[^>]+>/g, '')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&amp;/g, '&');
}

const METHOD_NAMES: Record<string, string> = Object.fromEntries(
  [
    'getMe',
    'logOut',
    'close',
    'getUpdates',
    'setWebhook',
    'deleteWebhook',
    'getWebhookInfo',
    'setMyCommands',
    'getMyCommands',
    'deleteMyCommands',
    'sendMessage',
    'editMessageText',
    'editMessageReplyMarkup',
    'deleteMessage',
    'answerCallbackQuery',
    'sendChatAction',
    'getFile',
    'sendVideo',
    'sendVideoNote',
    'sendDocument',
    'sendPhoto',
  ].map((n) => [n.toLowerCase(), n]),
);

/** The canonical spelling of a method (Bot API method names are case-insensitive). */
function methodName(lower: string): string {
  return METHOD_NAMES[lower] ?? lower;
}

function defaultDescription(status: number): string {
  if (status === 429) return 'Too Many Requests: retry after 1';
  if (status === 401) return 'Unauthorized';
  if (status === 403) return 'Forbidden: bot was blocked by the user';
  if (status >= 500) return 'Internal Server Error';
  return 'Bad Request';
}

const MIME_BY_EXT: Record<string, string> = {
  '.mp4': 'video/mp4',
  '.mov': 'video/quicktime',
  '.webm': 'video/webm',
  '.mkv': 'video/x-matroska',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.png': 'image/png',
  '.txt': 'text/plain',
};

function mimeOf(fileName: string): string {
  return MIME_BY_EXT[extname(fileName).toLowerCase()] ?? 'application/octet-stream';
}

function mimeFor(field: string, fileName: string, sent: string): string {
  if (field === 'video' || field === 'video_note') return 'video/mp4';
  if (field === 'photo') return 'image/jpeg';
  const byName = mimeOf(fileName);
  return byName !== 'application/octet-stream' ? byName : sent || byName;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(t);
      resolve();
    }, { once: true });
  });
}
