import type { Message, Update, User, UserFromGetMe } from 'grammy/types';

/** The public shapes of the fake Bot API (see ../fake-telegram.ts for what it does). */

export interface RateLimitOptions {
  /** Private chats (positive ids): a token bucket holding this many sends… */
  privateBurst: number;
  /** …refilled at this rate. */
  privatePerSecond: number;
  /** Groups and supergroups (negative ids): at most groupMax sends per groupWindowMs. */
  groupMax: number;
  groupWindowMs: number;
  /** All chats together, per second. */
  globalPerSecond: number;
}

export interface FakeTelegramOptions {
  token: string;
  port?: number;
  host?: string;
  /** Where uploads and fetched files are stored; default a temp dir removed by close(). */
  dataDir?: string;
  /** Behave like a self-hosted Bot API server in --local mode (2000 MB limits, absolute file paths). */
  local?: boolean;
  /** Overrides of the size limits (bytes). uploadLimitBytes caps the whole request body (default 50,000,000). */
  getFileLimitBytes?: number;
  uploadLimitBytes?: number;
  /** How long a callback query can be answered after it was created (default 15 000 ms). */
  callbackQueryTtlMs?: number;
  /** Flood control on sending methods (default on: private 5 burst + 1/s, groups 20/min, 30/s overall). */
  rateLimits?: false | Partial<RateLimitOptions>;
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
  /** True when flood control answered 429 (the call was not performed); injected 429s leave it unset. */
  rateLimited?: boolean;
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

export interface CallbackQueryInput {
  chatId: number;
  messageId: number;
  data: string;
  from?: Partial<User> & { id: number };
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
  /** A button press on a message the bot sent; it can be answered for callbackQueryTtlMs. */
  pushCallbackQuery(input: CallbackQueryInput): Update;
  /** `from` pressing button `data` on the bot's newest live message in the chat that shows it; throws when none does. */
  pressButton(input: Omit<CallbackQueryInput, 'messageId'>): Update;
  /** The bot's newest live message in a chat, as the last edit left it. */
  lastBotMessage(chatId: number): Message | undefined;
  /** The bot's newest live message in a chat whose inline keyboard has a button with this callback_data. */
  messageWithButton(chatId: number, data: string): Message | undefined;
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
