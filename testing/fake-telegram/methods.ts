import type { File as TgFile } from 'grammy/types';
import { ApiFailure, badRequest } from './errors.js';
import { messageMethod } from './message-methods.js';
import { FILE_METHODS } from './method-names.js';
import { chatIdOf, textOf, type Params } from './params.js';
import { sendFileMethod } from './send-file.js';
import type { CallContext, FakeState } from './state.js';

/** Every method the fake implements, by lower-case name; unknown ones are 404 like on the real server. */

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

function setupMethod(s: FakeState, method: string, p: Params): unknown {
  const { settings, updates } = s;
  switch (method) {
    case 'setwebhook': {
      const url = textOf(p, 'url') ?? '';
      if (url && !/^https:\/\//.test(url)) throw badRequest('bad webhook: An HTTPS URL must be provided for webhook');
      settings.webhookUrl = url;
      if (p.drop_pending_updates === true) updates.clear();
      return true;
    }
    case 'deletewebhook':
      settings.webhookUrl = '';
      if (p.drop_pending_updates === true) updates.clear();
      return true;
    case 'getwebhookinfo':
      return { url: settings.webhookUrl, has_custom_certificate: false, pending_update_count: settings.webhookUrl ? updates.length : 0 };
    case 'setmycommands':
      settings.commands = Array.isArray(p.commands) ? p.commands : [];
      return true;
    case 'getmycommands':
      return settings.commands;
    case 'deletemycommands':
      settings.commands = [];
      return true;
    default:
      return undefined;
  }
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

export async function callMethod(s: FakeState, method: string, ctx: CallContext): Promise<unknown> {
  const p = ctx.params;
  switch (method) {
    case 'getme':
      return s.bot;
    case 'logout':
    case 'close':
      return true;
    case 'getupdates':
      return s.updates.getUpdates(p, ctx.signal);
    case 'answercallbackquery':
      s.callbackQueries.answer(textOf(p, 'callback_query_id') ?? '');
      return true;
    case 'sendchataction':
      return sendChatAction(s, p);
    case 'getfile':
      return getFile(s, p);
  }
  if (FILE_METHODS[method]) return sendFileMethod(s, method, ctx);
  const result = setupMethod(s, method, p) ?? messageMethod(s, method, ctx);
  if (result === undefined) throw new ApiFailure(404, 'Not Found: method not found');
  return result;
}
