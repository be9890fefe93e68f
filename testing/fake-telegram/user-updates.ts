import { randomBytes } from 'node:crypto';
import type { Message, Update, User } from 'grammy/types';
import { chatOf, nowSec } from './chats.js';
import { mediaMeta } from './media-meta.js';
import type { FakeState } from './state.js';
import type { CallbackQueryInput, RegisteredFile, StoredFile, UserMessageInput } from './types.js';

/** Updates the test makes happen: what users send and press, built like the real server builds them. */
export interface UserUpdates {
  pushUpdate(u: Omit<Update, 'update_id'> & { update_id?: number }): Update;
  pushUserMessage(input: UserMessageInput): Promise<Update>;
  pushCallbackQuery(input: CallbackQueryInput): Update;
}

function senderOf(chatId: number, from?: Partial<User> & { id: number }): User {
  return { is_bot: false, first_name: `User${from?.id ?? chatId}`, language_code: 'en', ...from, id: from?.id ?? chatId } as User;
}

export function createUserUpdates(s: FakeState, changed: () => void): UserUpdates {
  function pushUpdate(u: Omit<Update, 'update_id'> & { update_id?: number }): Update {
    if (u.message) s.chats.store(u.message.chat.id, u.message);
    // The answer window starts when the press reaches the server, i.e. now.
    if (u.callback_query) s.callbackQueries.add(u.callback_query.id);
    const update = s.updates.push(u);
    changed();
    return update;
  }

  const known = (r: RegisteredFile): StoredFile => {
    const f = s.files.byId(r.file_id);
    if (!f) throw new Error(`pushUserMessage: ${r.file_id} was not registered`);
    return f;
  };

  async function mediaOf(input: UserMessageInput): Promise<Record<string, unknown>> {
    const media: Record<string, unknown> = {};
    const ids = (f: StoredFile) => ({ file_id: f.file_id, file_unique_id: f.file_unique_id });
    if (input.video) {
      const f = known(input.video);
      media.video = { ...ids(f), ...(await mediaMeta(f)), file_name: f.fileName, mime_type: f.mimeType, file_size: f.file_size };
    }
    if (input.video_note) {
      const f = known(input.video_note);
      const m = await mediaMeta(f);
      media.video_note = { ...ids(f), length: m.width, duration: m.duration, file_size: f.file_size };
    }
    if (input.document) {
      const f = known(input.document);
      media.document = { ...ids(f), file_name: f.fileName, mime_type: f.mimeType, file_size: f.file_size };
    }
    return media;
  }

  async function pushUserMessage(input: UserMessageInput): Promise<Update> {
    const message: Record<string, unknown> = {
      message_id: s.chats.nextId(input.chatId),
      date: nowSec(),
      chat: chatOf(input.chatId),
      from: senderOf(input.chatId, input.from),
    };
    if (input.text !== undefined) message.text = input.text;
    if (input.text?.startsWith('/')) {
      const cmd = input.text.split(/\s/)[0]!;
      message.entities = [{ type: 'bot_command', offset: 0, length: cmd.length }];
    }
    if (input.caption !== undefined) message.caption = input.caption;
    const replied = input.reply_to_message_id ? s.chats.get(input.chatId, input.reply_to_message_id) : undefined;
    if (replied) message.reply_to_message = replied.message;
    Object.assign(message, await mediaOf(input));
    return pushUpdate({ message: message as unknown as Message & Update.NonChannel });
  }

  function pushCallbackQuery(input: CallbackQueryInput): Update {
    const stored = s.chats.get(input.chatId, input.messageId);
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

  return { pushUpdate, pushUserMessage, pushCallbackQuery };
}
