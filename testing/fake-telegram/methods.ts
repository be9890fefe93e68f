import type { File as TgFile } from 'grammy/types';
import { ApiFailure, badRequest } from './errors.js';
import { MESSAGE_METHODS } from './message-methods.js';
import { chatIdOf, textOf, type Params } from './params.js';
import { sendFileMethod } from './send-file.js';
import type { CallContext, FakeState, MethodHandler } from './state.js';

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

/** setWebhook and deleteWebhook: the fake records the URL and, when asked, drops the pending updates. */
function setWebhook(s: FakeState, p: Params, url: string): true {
  s.settings.webhookUrl = url;
  if (p.drop_pending_updates === true) s.updates.clear();
  return true;
}

function getFile(s: FakeState, p: Params): TgFile {
  const id = textOf(p, 'file_id');
  if (!id) throw badRequest('file_id is empty');
  const f = s.files.byId(id);
  if (!f) throw badRequest('invalid file_id');
  if (f.file_size > s.limits.getFile) throw badRequest('file is too big');
  return { file_id: f.file_id, file_unique_id: f.file_unique_id, file_size: f.file_size, file_path: f.filePath };
}

function sendChatAction(s: FakeState, p: Params): true {
  chatIdOf(p, s.blocked);
  const action = textOf(p, 'action');
  if (!action) throw badRequest('action is empty');
  if (!CHAT_ACTIONS.has(action)) throw badRequest('wrong parameter action in request');
  return true;
}

/**
 * Every method the fake implements, one handler each, by its Bot API name. Method names are case-insensitive on the
 * real server, so calls are looked up by lower case; an unknown method is a 404 like there.
 */
export const METHODS = {
  getMe: (s) => s.bot,
  logOut: () => true,
  close: () => true,
  getUpdates: (s, { params, signal }) => s.updates.getUpdates(params, signal),

  setWebhook: (s, { params: p }) => {
    const url = textOf(p, 'url') ?? '';
    if (url && !/^https:\/\//.test(url)) throw badRequest('bad webhook: An HTTPS URL must be provided for webhook');
    return setWebhook(s, p, url);
  },
  deleteWebhook: (s, { params: p }) => setWebhook(s, p, ''),
  getWebhookInfo: ({ settings, updates }) => ({
    url: settings.webhookUrl,
    has_custom_certificate: false,
    pending_update_count: settings.webhookUrl ? updates.length : 0,
  }),
  setMyCommands: (s, { params: p }) => {
    s.settings.commands = Array.isArray(p.commands) ? p.commands : [];
    return true;
  },
  getMyCommands: (s) => s.settings.commands,
  deleteMyCommands: (s) => {
    s.settings.commands = [];
    return true;
  },

  ...MESSAGE_METHODS,

  answerCallbackQuery: (s, { params: p }) => {
    s.callbackQueries.answer(textOf(p, 'callback_query_id') ?? '');
    return true;
  },
  sendChatAction: (s, { params: p }) => sendChatAction(s, p),
  getFile: (s, { params: p }) => getFile(s, p),

  sendVideo: (s, ctx) => sendFileMethod(s, 'sendvideo', ctx),
  sendVideoNote: (s, ctx) => sendFileMethod(s, 'sendvideonote', ctx),
  sendDocument: (s, ctx) => sendFileMethod(s, 'senddocument', ctx),
  sendPhoto: (s, ctx) => sendFileMethod(s, 'sendphoto', ctx),
} satisfies Record<string, MethodHandler>;

const BY_LOWER_CASE = new Map<string, MethodHandler>(Object.entries(METHODS).map(([name, handler]) => [name.toLowerCase(), handler]));

/** Runs one call; `method` is the lower-cased name from the URL. */
export async function callMethod(s: FakeState, method: string, ctx: CallContext): Promise<unknown> {
  const handler = BY_LOWER_CASE.get(method);
  if (!handler) throw new ApiFailure(404, 'Not Found: method not found');
  return handler(s, ctx);
}
