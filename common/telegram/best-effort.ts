import { GrammyError, HttpError, type Context } from 'grammy';
import type { Logger } from '../logger.js';
import { networkErrorLabel } from './network-errors.js';

/**
 * Cosmetic Bot API calls that Telegram may refuse without anything being wrong — above all answering a button
 * press, which it refuses once the press is about 15 s old ("query is too old …"), e.g. presses that queued up
 * while the bot restarted. Their failure is logged and swallowed, so the reply and the action that follow happen
 * anyway.
 */
export async function bestEffort(log: Logger, method: string, call: () => Promise<unknown>): Promise<boolean> {
  try {
    await call();
    return true;
  } catch (e) {
    log.info({ method, err: telegramErrorText(e) }, 'telegram refused a best-effort call; going on');
    return false;
  }
}

/** Stops the client's spinner on a button press (with an optional toast); never throws. */
export function answerCallback(
  ctx: Pick<Context, 'answerCallbackQuery'>,
  log: Logger,
  other?: Parameters<Context['answerCallbackQuery']>[0],
): Promise<boolean> {
  return bestEffort(log, 'answerCallbackQuery', () => ctx.answerCallbackQuery(other));
}

/** What went wrong, in words safe for logs (no URLs, so no token). */
export function telegramErrorText(e: unknown): string {
  if (e instanceof GrammyError) return `${e.error_code} ${e.description}`;
  if (e instanceof HttpError) return `network: ${networkErrorLabel(e.error)}`;
  return e instanceof Error ? e.name : String(e);
}
