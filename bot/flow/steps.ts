import type { Api } from 'grammy';
import type { InlineKeyboardMarkup } from 'grammy/types';
import type { Logger } from '../../common/logger.js';
import { bestEffort as bestEffortCall } from '../../common/telegram/best-effort.js';
import { commandOf, type FlowContext, type FlowConversation } from '../context.js';
import type { Messages } from '../i18n/types.js';
import { parseOption } from './callbacks.js';
import { optionKeyboard } from './keyboards.js';
import type { ChosenOptions, OptionField } from './options.js';

/**
 * Building blocks of the dialogues. Rules of conversations v2 they keep:
 * - the builder is replayed from the top on every update, so everything non-deterministic (Redis, the queue,
 *   files) runs in `conversation.external` and returns plain JSON;
 * - an API call that may fail (editing or un-keyboarding an old message) runs in `external` with the outside
 *   context's API and swallows its error there: a failed call caught *inside* a conversation can hang the chat
 *   (open bug in 2.0–2.1), and those edits are cosmetic anyway. Refusals are logged, never thrown.
 */
export const RESTART = Symbol('restart');
export type Restart = typeof RESTART;

/**
 * Waits until `handle` accepts an update (returns a value). Meanwhile: `/new` restarts the dialogue, `/settings`
 * is refused politely, other commands (/help, /status, admin ones, unknown) go on to the outside handlers with
 * the dialogue kept where it is; stale buttons are answered so the client stops spinning.
 */
export async function waitForStep<T>(
  conversation: FlowConversation,
  m: Messages,
  handle: (c: FlowContext) => Promise<T | undefined>,
): Promise<T | Restart> {
  for (;;) {
    const c = await conversation.wait();
    const cmd = commandOf(c);
    if (cmd === 'new' || cmd === 'start') {
      await c.reply(cmd === 'new' ? m.startingOver : m.start);
      if (cmd === 'new') return RESTART;
      continue;
    }
    if (cmd === 'settings') {
      await c.reply(m.finishFirst);
      continue;
    }
    if (cmd) await conversation.skip({ next: true });
    const value = await handle(c);
    if (value !== undefined) return value;
  }
}

/**
 * Answers a button press (stops the client's spinner). Best effort: Telegram refuses answers to presses older than
 * about 15 s — e.g. ones that queued up while the bot was restarting — and that must not end the dialogue.
 */
export async function answer(conversation: FlowConversation, log: Logger, c: FlowContext, text?: string): Promise<void> {
  const id = c.callbackQuery?.id;
  if (id) await bestEffort(conversation, log, 'answerCallbackQuery', (api) => api.answerCallbackQuery(id, text ? { text } : {}));
}

/** Answers a button press that the current step does not expect. */
export function answerStale(conversation: FlowConversation, log: Logger, c: FlowContext, m: Messages): Promise<void> {
  return answer(conversation, log, c, m.buttonExpired);
}

/** Runs a cosmetic API call outside the replay log; false when Telegram refused it (logged once, on the real pass). */
export function bestEffort(conversation: FlowConversation, log: Logger, method: string, call: (api: Api) => Promise<unknown>): Promise<boolean> {
  return conversation.external((outside) => bestEffortCall(log, method, () => call(outside.api)));
}

export function removeKeyboard(conversation: FlowConversation, log: Logger, chatId: number, messageId: number): Promise<boolean> {
  return bestEffort(conversation, log, 'editMessageReplyMarkup', (api) => api.editMessageReplyMarkup(chatId, messageId, { reply_markup: undefined }));
}

/**
 * Asks for each of `fields` in turn in ONE message that is edited from question to question (less noise in the
 * chat than a message per option). Starts from `start` for the fields not asked.
 */
export async function pickOptions(
  conversation: FlowConversation,
  log: Logger,
  ctx: FlowContext,
  m: Messages,
  fields: readonly OptionField[],
  start: ChosenOptions,
  summary: (o: ChosenOptions) => string,
): Promise<ChosenOptions | Restart> {
  const chatId = ctx.chat!.id;
  const chosen: ChosenOptions = { ...start };
  let messageId: number | null = null;
  for (const field of fields) {
    const keyboard: InlineKeyboardMarkup = optionKeyboard(m, field);
    if (messageId === null) {
      messageId = (await ctx.api.sendMessage(chatId, m.pick[field], { reply_markup: keyboard })).message_id;
    } else {
      const id = messageId;
      await bestEffort(conversation, log, 'editMessageText', (api) => api.editMessageText(chatId, id, m.pick[field], { reply_markup: keyboard }));
    }
    const value = await waitForStep(conversation, m, async (c) => {
      if (!c.callbackQuery) {
        if (c.message) await c.reply(m.pick[field], { reply_markup: keyboard });
        return undefined;
      }
      const opt = parseOption(c.callbackQuery.data);
      if (!opt || opt.field !== field) return void (await answerStale(conversation, log, c, m));
      await answer(conversation, log, c);
      return opt.value;
    });
    if (value === RESTART) return RESTART;
    // parseOption admitted only values of OPTIONS[field].values.
    (chosen as Record<OptionField, string>)[field] = value;
  }
  if (messageId !== null) {
    const id = messageId;
    await bestEffort(conversation, log, 'editMessageText', (api) => api.editMessageText(chatId, id, summary(chosen)));
  }
  return chosen;
}
