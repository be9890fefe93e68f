import type { Context, MiddlewareFn, Transformer } from 'grammy';
import type { Logger } from '../common/logger.js';
import { answerCallback } from '../common/telegram/best-effort.js';
import type { BotContext } from './context.js';
import { langOf, t } from './i18n/index.js';
import type { BotStore } from './store.js';

/**
 * Dialogue ownership. A dialogue belongs to one user, also in a group chat where several members talk to the bot:
 *  - the conversation state is keyed per (chat, user) (`dialogueKey`), so another member's messages and button
 *    presses never reach — or advance — someone else's dialogue;
 *  - every bot message with inline buttons sent while handling a user's update in a group is recorded as that
 *    user's (`recordMenuOwner`, an API transformer on the outside context and inside the dialogues);
 *  - a press on such a message by anyone else is answered with a polite "this menu belongs to another user" and
 *    goes no further (`refuseOthersMenus`), so it cannot drive the presser's own dialogue with someone else's menu
 *    either. Presses on messages with no recorded owner (older than this, or status messages, whose "try again"
 *    checks the job's user itself) pass on as before.
 * Private chats have one user: their key stays the chat id (dialogues stored before this change carry on) and
 * nothing is recorded or looked up for them.
 */
export function dialogueKey(ctx: Pick<Context, 'chat' | 'from'>): string {
  const chat = ctx.chat;
  if (chat?.type === 'private') return String(chat.id);
  return `${chat?.id ?? 'nochat'}:${ctx.from?.id ?? 'nobody'}`;
}

const isGroup = (ctx: Pick<Context, 'chat'>) => ctx.chat !== undefined && ctx.chat.type !== 'private';

function hasInlineKeyboard(payload: unknown): boolean {
  const markup = (payload as { reply_markup?: { inline_keyboard?: unknown[] } } | undefined)?.reply_markup;
  return Array.isArray(markup?.inline_keyboard) && markup.inline_keyboard.length > 0;
}

/**
 * An API transformer that records the sender of `ctx`'s update as the owner of every message with inline buttons
 * sent (or edited to have them) in `ctx`'s group chat. A no-op outside groups. A failed record is logged, never
 * thrown: the message has been sent, and the dialogue must go on.
 */
export function recordMenuOwner(ctx: Pick<Context, 'chat' | 'from'>, store: BotStore, log: Logger): Transformer {
  const chatId = ctx.chat?.id;
  const userId = ctx.from?.id;
  return async (prev, method, payload, signal) => {
    const res = await prev(method, payload, signal);
    if (!res.ok || chatId === undefined || userId === undefined || !hasInlineKeyboard(payload)) return res;
    const p = payload as { chat_id?: number | string; message_id?: number };
    if (Number(p.chat_id) !== chatId) return res;
    const result = res.result as { message_id?: number } | true;
    const messageId = typeof result === 'object' && result !== null ? (result.message_id ?? p.message_id) : p.message_id;
    if (messageId === undefined) return res;
    await store.setMenuOwner(chatId, messageId, userId).catch((e: unknown) => {
      log.warn({ chatId, messageId, err: (e as Error).message }, 'menu owner not recorded');
    });
    return res;
  };
}

/** Installs `recordMenuOwner` on this update's API (groups only); use outside and as a conversation plugin. */
export function recordMenusOf<C extends Context>(store: BotStore, log: Logger): MiddlewareFn<C> {
  return async (ctx, next) => {
    if (isGroup(ctx) && ctx.from) ctx.api.config.use(recordMenuOwner(ctx, store, log));
    await next();
  };
}

/** Answers a press on another user's menu politely and stops it there (groups only). */
export function refuseOthersMenus(store: BotStore, log: Logger): MiddlewareFn<BotContext> {
  return async (ctx, next) => {
    const q = ctx.callbackQuery;
    if (q?.message && isGroup(ctx)) {
      const owner = await store.getMenuOwner(ctx.chat!.id, q.message.message_id);
      if (owner !== null && owner !== q.from.id) {
        log.debug({ chatId: ctx.chat!.id, messageId: q.message.message_id, owner, from: q.from.id }, "press on another user's menu refused");
        // Best effort: Telegram refuses answers to presses older than about 15 s.
        await answerCallback(ctx, log, { text: t(langOf(ctx)).notYourMenu });
        return;
      }
    }
    await next();
  };
}
