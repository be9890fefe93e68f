import type { Message, Update } from 'grammy/types';
import { createChatLog, type BotMessage, type ChatLog } from './chat-log.js';
import { BOT_INFO, callbackUpdate, inGroup, type From } from './updates.js';

export interface WireCall {
  method: string;
  params: Record<string, any>;
}

const json = (body: unknown, status = 200) => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
const ok = (result: unknown) => json({ ok: true, result });
const badRequest = (description: string) => json({ ok: false, error_code: 400, description: `Bad Request: ${description}` }, 400);
const TOO_OLD = 'query is too old and response timeout expired or query ID is invalid';

/** What Telegram answers to one call, with the peer's memory (`log`, `texts`) updated. */
function answer(log: ChatLog, texts: Map<string, string>, method: string, params: Record<string, any>): Response {
  const chatId = Number(params.chat_id);
  const message = (id: number, extra: Record<string, unknown> = {}) =>
    ({ message_id: id, date: 1, chat: { id: chatId, type: 'private', first_name: 'U' }, from: BOT_INFO, ...extra }) as Message;
  switch (method) {
    case 'sendMessage':
    case 'sendPhoto': {
      const sent = log.add(chatId, method, params.text ?? params.caption ?? '', params.reply_markup);
      texts.set(`${chatId}/${sent.messageId}`, sent.text);
      return ok(message(sent.messageId, { text: params.text }));
    }
    case 'editMessageText': {
      const key = `${chatId}/${params.message_id}`;
      if (texts.get(key) === params.text && !params.reply_markup) return badRequest('message is not modified');
      texts.set(key, params.text);
      log.edit(chatId, params.message_id, { text: params.text, markup: params.reply_markup });
      return ok(message(params.message_id, { text: params.text }));
    }
    case 'editMessageReplyMarkup':
      log.edit(chatId, params.message_id, { markup: params.reply_markup });
      return ok(message(params.message_id));
    default:
      return ok(true);
  }
}

/**
 * A fetch that plays Telegram: records calls, numbers sent messages per chat, refuses identical edits, and keeps
 * each message's current text and buttons so tests take real message ids from it (`press`, `lastIn`, `withButton`)
 * instead of guessing them from the numbering.
 */
export function recordingFetch() {
  const calls: WireCall[] = [];
  const log = createChatLog();
  /** The last text of every message sent or edited, also of ones a test set up without sending (a status message). */
  const texts = new Map<string, string>();
  /** Methods answered with Telegram's "query is too old" error (e.g. presses that waited out a restart). */
  const failing = new Set<string>();
  const fetchImpl = (async (input: string | URL | Request, init?: RequestInit) => {
    const method = String(input instanceof Request ? input.url : input).split('/').pop()!;
    const params = typeof init?.body === 'string' ? JSON.parse(init.body) : {};
    calls.push({ method, params });
    return failing.has(method) ? badRequest(TOO_OLD) : answer(log, texts, method, params);
  }) as typeof fetch;
  return {
    fetch: fetchImpl,
    calls,
    failing,
    of: (method: string) => calls.filter((c) => c.method === method),
    /** Calls made since `mark` (an index into calls). */
    since: (mark: number) => calls.slice(mark),
    clear: () => void calls.splice(0, calls.length),
    /** The bot's messages in a chat, oldest first, as they stand now. */
    sentTo: (chatId: number): BotMessage[] => log.inChat(chatId),
    /** The newest message the bot sent to a chat. */
    lastIn: (chatId: number): BotMessage => log.last(chatId),
    /** The newest message in a chat that shows button `data` now. */
    withButton: (chatId: number, data: string): BotMessage => log.withButton(chatId, data),
    /**
     * `from` pressing button `data` where the bot shows it now: on the newest message of `chatId` (default: from's
     * private chat; a negative id is a group) that has it. Throws when no message shows it: a test that means to
     * press a stale button says so with callbackUpdate and a real id.
     */
    press(from: From, data: string, chatId = from.id): Update {
      const update = callbackUpdate(from, log.withButton(chatId, data).messageId, data);
      return chatId === from.id ? update : inGroup(update, chatId);
    },
  };
}
