import { GrammyError, type Api } from 'grammy';
import type { InlineKeyboardMarkup } from 'grammy/types';
import type { Logger } from '../../common/logger.js';
import { withTitle } from '../flow/summary.js';
import type { BotStore } from '../store.js';
import type { EditOutcome } from './chat-lane.js';

/** A status text in the user's language, with its keyboard when it has one. */
export type Render = (lang: 'ru' | 'en') => { body: string; markup?: InlineKeyboardMarkup };

/**
 * Edits a job's status message to `render`'s text, once: a text already shown (claimed in the store) is skipped, so
 * two bots hearing the same event (a deploy overlap) edit once. A 429 comes back as the wait it asks for; a message
 * the user deleted is posted again and edited from then on.
 */
export async function editStatus(o: { api: Api; store: BotStore; log: Logger }, jobId: string, render: Render): Promise<EditOutcome> {
  const rec = await o.store.getStatus(jobId);
  if (!rec) return 'skipped';
  const { body, markup } = render(rec.lang);
  const text = withTitle(rec.title, body);
  if (!(await o.store.claimStatusText(jobId, text, markup))) return 'skipped';
  try {
    await o.api.editMessageText(rec.chatId, rec.messageId, text, markup ? { reply_markup: markup } : {});
    return 'sent';
  } catch (e) {
    if (e instanceof GrammyError && /not modified/i.test(e.description)) return 'sent';
    // Not shown after all: the same text must be allowed again.
    await o.store.forgetStatusText(jobId).catch(() => undefined);
    if (e instanceof GrammyError && e.error_code === 429) return { retryAfterMs: (e.parameters.retry_after ?? 1) * 1000 };
    if (e instanceof GrammyError && /not found|can't be edited/i.test(e.description)) {
      // The user deleted it: post a new one and keep editing that.
      const m = await o.api.sendMessage(rec.chatId, text, markup ? { reply_markup: markup } : {}).catch(() => null);
      if (m) await o.store.setStatus(jobId, { ...rec, messageId: m.message_id });
      if (m) await o.store.claimStatusText(jobId, text, markup);
      return 'sent';
    }
    o.log.warn({ jobId, err: (e as Error).message }, 'status edit failed');
    return 'sent';
  }
}
