import { conversations, createConversation, type ConversationData, type VersionedState } from '@grammyjs/conversations';
import { sequentialize } from '@grammyjs/runner';
import { RedisAdapter } from '@grammyjs/storage-redis';
import { Bot, type Context } from 'grammy';
import type { UserFromGetMe } from 'grammy/types';
import { installTelegramPolicy, telegramClientOptions } from '../common/telegram/api.js';
import type { TelegramPolicyOptions } from '../common/telegram/policy.js';
import { adminCommands } from './admin/admin-commands.js';
import { cancelCommand } from './commands/cancel.js';
import { fallback } from './commands/fallback.js';
import { resendButton } from './commands/resend.js';
import { userCommands } from './commands/user-commands.js';
import type { BotContext, FlowContext } from './context.js';
import type { BotDeps } from './deps.js';
import { createOrderConversation, ORDER } from './flow/order.js';
import { createSettingsConversation, SETTINGS } from './flow/settings.js';
import { dialogueKey, recordMenusOf, refuseOthersMenus } from './ownership.js';

/**
 * The bot's middleware chain, in the order that matters:
 *  1. per-chat sequentialize (with the runner, updates of one chat never race; e.g. a double-tapped Confirm);
 *  2. dialogue ownership (`ownership.ts`; matters in groups): a press on another user's menu is refused politely
 *     here, and menus sent from now on are recorded as the sender's;
 *  3. the conversations plugin, state in Redis per (chat, user) — in a group each member has their own dialogue
 *     (a restarted bot resumes a half-finished dialogue);
 *  4. /cancel, before the dialogues themselves (createConversation), or an active one would swallow it;
 *  5. the dialogues, then commands, admin commands, a video that starts a dialogue, "try again";
 *  6. the fallback for everything else.
 * The Telegram API client follows the project's one policy (`common/telegram/`: 429s waited out, only safe repeats
 * after network errors, an HTML 413 as a typed error) outside and — installed as a conversation plugin, because API
 * transformers on bot.api do not reach inside conversations — inside the dialogues too.
 */
export interface CreateBotOptions {
  token: string;
  deps: BotDeps;
  apiRoot?: string;
  /** Known bot identity (tests, and skipping getMe at start). */
  botInfo?: UserFromGetMe;
  /** A custom fetch for the Bot API client (tests record the exact wire calls with it). */
  fetch?: typeof fetch;
  /** Counts the policy's retries, inside dialogues too (operators' numbers: Metrics.telegramRetry). */
  onTelegramRetry?: TelegramPolicyOptions['onRetry'];
}

/** Bumping this discards stored dialogues whose shape no longer fits the code (users start over). */
const CONVERSATION_STATE_VERSION = 1;

export function createBot(o: CreateBotOptions): Bot<BotContext> {
  const { deps } = o;
  const bot = new Bot<BotContext>(o.token, {
    botInfo: o.botInfo,
    client: telegramClientOptions({ apiRoot: o.apiRoot, fetch: o.fetch }),
  });
  const policy: TelegramPolicyOptions = { log: deps.log, onRetry: o.onTelegramRetry };
  installTelegramPolicy(bot.api.config, policy);

  bot.use(sequentialize((ctx: Context) => ctx.chat?.id.toString() ?? ctx.from?.id.toString()));
  bot.use(refuseOthersMenus(deps.store, deps.log));
  bot.use(recordMenusOf<BotContext>(deps.store, deps.log));
  bot.use(
    conversations<BotContext, FlowContext>({
      storage: {
        type: 'key',
        version: CONVERSATION_STATE_VERSION,
        prefix: deps.store.conversationPrefix(),
        // Per (chat, user); a private chat keeps its chat id as the key.
        getStorageKey: dialogueKey,
        adapter: new RedisAdapter<VersionedState<ConversationData>>({ instance: deps.store.redis, ttl: deps.conversationTtlSec }),
      },
      plugins: [
        async (ctx, next) => {
          installTelegramPolicy(ctx.api.config, policy);
          await next();
        },
        // API transformers on the outside context do not reach inside the dialogues either.
        recordMenusOf<FlowContext>(deps.store, deps.log),
      ],
    }),
  );
  bot.use(cancelCommand(deps));
  // «Send again» (an uncertain delivery) works mid-dialogue too, so before the dialogues as well.
  bot.use(resendButton(deps));
  bot.use(createConversation<BotContext, FlowContext>(createOrderConversation(deps), ORDER));
  bot.use(createConversation<BotContext, FlowContext>(createSettingsConversation(deps), SETTINGS));
  bot.use(userCommands(deps));
  bot.use(adminCommands(deps));
  bot.use(fallback(deps.log));

  bot.catch((err) => {
    deps.log.error({ updateId: err.ctx.update.update_id, err: err.error instanceof Error ? err.error.message : String(err.error) }, 'update failed');
  });
  return bot;
}

/** The commands shown in Telegram's menu (admin commands stay unlisted). */
export const PUBLIC_COMMANDS = {
  en: [
    { command: 'new', description: 'Make a new bubble video' },
    { command: 'status', description: 'Your videos' },
    { command: 'settings', description: 'Your default settings' },
    { command: 'cancel', description: 'Stop the current dialogue or video' },
    { command: 'help', description: 'How it works' },
  ],
  ru: [
    { command: 'new', description: 'Новое видео с пузырём' },
    { command: 'status', description: 'Ваши видео' },
    { command: 'settings', description: 'Настройки по умолчанию' },
    { command: 'cancel', description: 'Остановить диалог или видео' },
    { command: 'help', description: 'Как это работает' },
  ],
} as const;
