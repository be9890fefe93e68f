import type { Api } from 'grammy';
import type { JobData } from '../contract.js';
import { resendButtonText, uncertainDeliveryText } from '../messages.js';

/**
 * The question the worker sends when an earlier send of a job's result may have reached the chat: "it may already
 * be here; if not, press «Send again»". The button's callback data is `resend:<jobId>` (the bot's
 * `bot/commands/resend.ts` answers it); Telegram allows 64 bytes, and job ids from `jobIdFor` take at most 41.
 */
export const RESEND_CALLBACK_RE = /^resend:([A-Za-z0-9_-]{1,57})$/;

/** The button's callback data, or null for a job id that does not fit in Telegram's 64 bytes. */
export function resendCallbackData(jobId: string): string | null {
  const data = `resend:${jobId}`;
  return RESEND_CALLBACK_RE.test(data) ? data : null;
}

/** Sends the question in the job's language, replying to the request; resolves with its message id. */
export type NotifyUncertain = (data: JobData, jobId: string) => Promise<number>;

export function createUncertainNotice(api: Api, windowSec: number): NotifyUncertain {
  return async (data, jobId) => {
    const callback = resendCallbackData(jobId);
    const m = await api.sendMessage(data.chatId, uncertainDeliveryText(data.language, windowSec), {
      ...(data.messageId ? { reply_parameters: { message_id: data.messageId, allow_sending_without_reply: true } } : {}),
      // A job id too long for a button (not one of the bot's) still gets the words; /new makes a fresh video.
      ...(callback ? { reply_markup: { inline_keyboard: [[{ text: resendButtonText(data.language), callback_data: callback }]] } } : {}),
    });
    return m.message_id;
  };
}
