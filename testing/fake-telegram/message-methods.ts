import type { Message } from 'grammy/types';
import { badRequest, TEXT } from './errors.js';
import { MAX_TEXT } from './limits.js';
import { chatIdOf, inlineMarkupOf, intOf, textOf, visibleText, type Params } from './params.js';
import { captionOf } from './send-file.js';
import type { FakeState, MethodHandler } from './state.js';
import type { StoredMessage } from './types.js';

/** sendMessage, the edits, deleteMessage, copyMessage and forwardMessage. */

type Editable = Omit<Message, 'reply_markup'> & { text?: string; caption?: string; reply_markup?: unknown };

/** The text the user will see, refused when empty or over 4096 UTF-16 code units (after entity parsing). */
function messageText(p: Params): string {
  const text = visibleText(textOf(p, 'text') ?? '', textOf(p, 'parse_mode'));
  if (!text.trim()) throw badRequest('message text is empty');
  if (text.length > MAX_TEXT) throw badRequest(TEXT.textTooLong);
  return text;
}

const sameMarkup = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** Replaces the stored message with `changes` applied; an edit that changes nothing is refused like the real one. */
function applyEdit(stored: StoredMessage, changes: Partial<Editable>, markup: unknown): Message {
  const current = stored.message as Editable;
  const same = Object.entries(changes).every(([k, v]) => current[k as keyof Editable] === v);
  if (same && sameMarkup(current.reply_markup, markup)) throw badRequest(TEXT.notModified);
  const next = { ...current, ...changes, edit_date: Math.floor(Date.now() / 1000) } as Editable;
  if (markup) next.reply_markup = markup;
  else delete next.reply_markup;
  stored.message = next as Message;
  if (changes.text !== undefined) stored.history.push(changes.text);
  return next as Message;
}

function copyOf(s: FakeState, p: Params, forward: boolean): Message {
  const chatId = chatIdOf(p, s.blocked);
  const fromChatId = chatIdOf(p, s.blocked, 'from_chat_id');
  const id = intOf(p, 'message_id');
  const source = id === undefined ? undefined : s.chats.get(fromChatId, id);
  if (!source || source.deleted) throw badRequest(forward ? 'message to forward not found' : 'message to copy not found');
  // The content travels; identity, sender, reply and buttons are the new message's own.
  const content: Record<string, unknown> = { ...source.message };
  for (const k of ['message_id', 'chat', 'date', 'from', 'reply_markup', 'reply_to_message', 'edit_date']) delete content[k];
  const caption = p.caption !== undefined ? { caption: captionOf(p) } : {};
  const origin = forward ? { forward_origin: { type: 'user', sender_user: source.message.from, date: source.message.date } } : {};
  return s.chats.botMessage(chatId, forward ? { ...p, reply_markup: undefined } : p, { ...content, ...caption, ...origin });
}

/** Edits of inline messages (sent via inline mode) are accepted and not tracked: the bot under test sends none. */
const isInline = (p: Params) => p.inline_message_id !== undefined;

/** One handler per method, by its Bot API name (methods.ts merges this table into the fake's). */
export const MESSAGE_METHODS = {
  sendMessage: (s, { params: p }) => s.chats.botMessage(chatIdOf(p, s.blocked), p, { text: messageText(p) }),
  editMessageText: (s, { params: p }) => isInline(p) || applyEdit(s.chats.findOwnMessage(p, 'edit'), { text: messageText(p) }, inlineMarkupOf(p)),
  editMessageCaption: (s, { params: p }) => isInline(p) || applyEdit(s.chats.findOwnMessage(p, 'edit'), { caption: captionOf(p) }, inlineMarkupOf(p)),
  editMessageReplyMarkup: (s, { params: p }) => isInline(p) || applyEdit(s.chats.findOwnMessage(p, 'edit'), {}, inlineMarkupOf(p)),
  deleteMessage: (s, { params: p }) => {
    s.chats.findOwnMessage(p, 'delete').deleted = true;
    return true;
  },
  copyMessage: (s, { params: p }) => ({ message_id: copyOf(s, p, false).message_id }),
  forwardMessage: (s, { params: p }) => copyOf(s, p, true),
} satisfies Record<string, MethodHandler>;
