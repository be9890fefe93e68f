import type { UserFromGetMe } from 'grammy/types';
import type { MultipartFile } from '../fake-telegram-multipart.js';
import type { CallbackQueries } from './callback-queries.js';
import type { ChatStore } from './chats.js';
import type { FileRegistry } from './files.js';
import type { Params } from './params.js';
import type { RecordedCall, SentFile } from './types.js';
import type { UpdateQueue } from './updates.js';

/** What one fake server knows, shared by its method handlers. */
export interface FakeState {
  bot: UserFromGetMe;
  local: boolean;
  limits: { getFile: number; upload: number; photo: number };
  files: FileRegistry;
  chats: ChatStore;
  updates: UpdateQueue;
  callbackQueries: CallbackQueries;
  blocked: Set<number>;
  sentFiles: SentFile[];
  settings: { webhookUrl: string; commands: unknown[] };
}

/** One API call being handled. */
export interface CallContext {
  params: Params;
  uploads: Map<string, MultipartFile>;
  signal: AbortSignal;
  /** The call record's file parameters, filled by file methods. */
  files: RecordedCall['files'];
}

/** What the fake does for one Bot API method: its result, or a thrown ApiFailure (errors.ts). */
export type MethodHandler = (s: FakeState, ctx: CallContext) => unknown;
