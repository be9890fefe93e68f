import type { Message, Update, UserFromGetMe } from 'grammy/types';

/**
 * Update builders for the bot's tests: what users send and press, shaped like Telegram's updates. A press needs
 * the id of a message the bot really sent: take it from the recording peer (`wire.press`, `wire.lastIn`,
 * `wire.withButton` in recording-fetch.ts), not from counting.
 */
export const BOT_INFO: UserFromGetMe = {
  id: 424242,
  is_bot: true,
  first_name: 'Bubblecast',
  username: 'bubblecast_test_bot',
  can_join_groups: false,
  can_read_all_group_messages: false,
  supports_inline_queries: false,
  can_connect_to_business: false,
  has_main_web_app: false,
} as UserFromGetMe;

let updateId = 1;
let messageId = 1;

export interface From {
  id: number;
  lang?: string;
}

const user = (f: From) => ({ id: f.id, is_bot: false, first_name: 'Tester', language_code: f.lang ?? 'en' });
const chat = (f: From) => ({ id: f.id, type: 'private' as const, first_name: 'Tester' });

export function messageUpdate(f: From, fields: Record<string, unknown>): Update {
  const id = messageId++;
  return { update_id: updateId++, message: { message_id: id, date: Math.floor(Date.now() / 1000), chat: chat(f), from: user(f), ...fields } as Update['message'] };
}

export function textUpdate(f: From, text: string): Update {
  const entities = text.startsWith('/') ? [{ type: 'bot_command', offset: 0, length: text.split(/\s/)[0]!.length }] : undefined;
  return messageUpdate(f, { text, ...(entities ? { entities } : {}) });
}

export function videoUpdate(f: From, o: { size?: number; duration?: number; kind?: 'video' | 'video_note' | 'document'; id?: string } = {}): Update {
  const file = { file_id: `${o.id ?? 'vid'}${updateId}AAAA`, file_unique_id: `u${o.id ?? 'vid'}${updateId}`, file_size: o.size ?? 1_000_000 };
  if (o.kind === 'video_note') return messageUpdate(f, { video_note: { ...file, length: 480, duration: o.duration ?? 5 } });
  if (o.kind === 'document') return messageUpdate(f, { document: { ...file, mime_type: 'video/mp4', file_name: 'clip.mp4' } });
  return messageUpdate(f, { video: { ...file, width: 720, height: 1280, duration: o.duration ?? 5, mime_type: 'video/mp4' } });
}

export function callbackUpdate(f: From, onMessageId: number, data: string): Update {
  return {
    update_id: updateId++,
    callback_query: {
      id: `cq${updateId}`,
      from: user(f),
      chat_instance: 'ci',
      data,
      message: { message_id: onMessageId, date: 1, chat: chat(f), from: BOT_INFO, text: 'x' } as Message,
    },
  } as Update;
}

/** The same update sent in a group chat (a supergroup with id `groupId`, negative as Telegram's are). */
export function inGroup(update: Update, groupId: number): Update {
  const group = { id: groupId, type: 'supergroup' as const, title: 'Test group' };
  if (update.message) return { ...update, message: { ...update.message, chat: group } } as Update;
  const q = update.callback_query;
  if (q?.message) return { ...update, callback_query: { ...q, message: { ...q.message, chat: group } } } as Update;
  return update;
}

/** A unique user (chat) id per test. */
let userCounter = 7_000_000 + (process.pid % 1000) * 1000;
export const newUser = (lang = 'en'): From => ({ id: ++userCounter, lang });

