import type { Chat, Message, User, UserFromGetMe } from 'grammy/types';
import { badRequest } from './errors.js';
import { chatIdOf, inlineMarkupOf, intOf, type Params } from './params.js';
import type { StoredMessage } from './types.js';

/** Every chat's messages with per-chat ids, as the real server numbers them. */
export interface ChatStore {
  /** The next free message id of a chat (taken). */
  nextId(chatId: number): number;
  store(chatId: number, message: Message): Message;
  get(chatId: number, messageId: number): StoredMessage | undefined;
  all(chatId: number): StoredMessage[];
  /** A message from the bot, stored in its chat (reply and inline keyboard taken from the call). */
  botMessage(chatId: number, p: Params, extra: Record<string, unknown>): Message;
  /** The live message a call edits or deletes; only the bot's own messages can be edited. */
  findOwnMessage(p: Params, verb: 'edit' | 'delete'): StoredMessage;
}

export const nowSec = () => Math.floor(Date.now() / 1000);

export function chatOf(chatId: number): Chat {
  return chatId > 0
    ? ({ id: chatId, type: 'private', first_name: `User${chatId}` } as Chat)
    : ({ id: chatId, type: 'supergroup', title: `Group ${chatId}` } as Chat);
}

export function createChatStore(bot: UserFromGetMe, blocked: ReadonlySet<number>): ChatStore {
  const chats = new Map<number, { nextMessageId: number; messages: Map<number, StoredMessage> }>();
  const chatState = (chatId: number) => {
    if (!chats.has(chatId)) chats.set(chatId, { nextMessageId: 1, messages: new Map() });
    return chats.get(chatId)!;
  };
  const get = (chatId: number, id: number) => chats.get(chatId)?.messages.get(id);

  function store(chatId: number, message: Message): Message {
    const c = chatState(chatId);
    c.nextMessageId = Math.max(c.nextMessageId, message.message_id + 1);
    const history = 'text' in message && message.text ? [message.text] : [];
    c.messages.set(message.message_id, { message, deleted: false, history });
    return message;
  }

  function replyTo(p: Params, chatId: number): Message | undefined {
    const params = p.reply_parameters as { message_id?: number; allow_sending_without_reply?: boolean } | undefined;
    const id = params?.message_id ?? intOf(p, 'reply_to_message_id');
    if (id === undefined) return undefined;
    const found = get(chatId, id);
    if (found && !found.deleted) return found.message;
    if (params?.allow_sending_without_reply || p.allow_sending_without_reply === true) return undefined;
    throw badRequest('message to be replied not found');
  }

  function botMessage(chatId: number, p: Params, extra: Record<string, unknown>): Message {
    const reply = replyTo(p, chatId);
    const markup = inlineMarkupOf(p);
    const message = {
      message_id: chatState(chatId).nextMessageId++,
      from: { id: bot.id, is_bot: true, first_name: bot.first_name, username: bot.username },
      chat: chatOf(chatId),
      date: nowSec(),
      ...(reply ? { reply_to_message: reply } : {}),
      ...(markup ? { reply_markup: markup } : {}),
      ...extra,
    } as unknown as Message;
    return store(chatId, message);
  }

  function findOwnMessage(p: Params, verb: 'edit' | 'delete'): StoredMessage {
    const chatId = chatIdOf(p, blocked);
    const id = intOf(p, 'message_id');
    if (id === undefined) throw badRequest('message identifier is not specified');
    const stored = get(chatId, id);
    if (!stored || stored.deleted) throw badRequest(verb === 'edit' ? 'message to edit not found' : 'message to delete not found');
    if (verb === 'edit' && (stored.message as { from?: User }).from?.id !== bot.id) throw badRequest("message can't be edited");
    return stored;
  }

  return {
    nextId: (chatId) => chatState(chatId).nextMessageId++,
    store,
    get,
    all: (chatId) => [...(chats.get(chatId)?.messages.values() ?? [])],
    botMessage,
    findOwnMessage,
  };
}
