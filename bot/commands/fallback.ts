import { Composer } from 'grammy';
import type { Logger } from '../../common/logger.js';
import { answerCallback } from '../../common/telegram/best-effort.js';
import { commandOf, type BotContext } from '../context.js';
import { CB } from '../flow/callbacks.js';
import { langOf, t } from '../i18n/index.js';
import { acceptVideo } from '../media/accept.js';

/**
 * Last in the chain: whatever nobody handled gets a helpful answer — unknown commands (including admin commands
 * from non-admins), stickers/photos/audio/text outside a dialogue, and buttons of finished dialogues or unknown
 * data (answered, so the client stops its spinner; never an error).
 */
export function fallback(log: Logger): Composer<BotContext> {
  const composer = new Composer<BotContext>();

  composer.on('callback_query', async (ctx) => {
    const m = t(langOf(ctx));
    await answerCallback(ctx, log, { text: ctx.callbackQuery.data === CB.confirm ? m.alreadyConfirmed : m.buttonExpired });
  });

  composer.on('message', async (ctx) => {
    const m = t(langOf(ctx));
    if (commandOf(ctx)) return void (await ctx.reply(m.unknownCommand));
    const a = acceptVideo(ctx.message);
    if (a.ok) return; // handled upstream; reaching here means it was refused there
    if (a.what === 'text') return void (await ctx.reply(m.askHead));
    await ctx.reply(m.notAVideo(m.what[a.what]));
  });

  return composer;
}
