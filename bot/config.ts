import { z } from 'zod';
import { ConfigError, defineConfig, env } from '../common/config.js';

/**
 * The bot's own settings, keyed by environment variable. The queue side (REDIS_URL, PIPELINE_QUEUE_PREFIX, the
 * input limits, PROCESSING_MODE, TELEGRAM_LOCAL_API) is read from the pipeline's config, so the bot and the worker
 * can never disagree about them.
 */
export const botConfigSchema = z.object({
  /** From @BotFather. Never logged; the only place it appears is grammY's request URLs. */
  BOT_TOKEN: z.string().regex(/^\d+:[A-Za-z0-9_-]{10,}$/, 'a token from @BotFather, like 123456:ABC-DEF…'),
  /** Telegram user ids allowed to run /queue, /failed, /retry, /pause, /resume, /mode, /stats (comma separated). */
  ADMIN_IDS: env
    .list()
    .refine((ids) => ids.every((id) => /^\d+$/.test(id)), 'comma-separated numeric Telegram user ids')
    .transform((ids) => ids.map(Number)),
  /** Bot API server root (no trailing slash): a self-hosted telegram-bot-api, or the fake server in tests. */
  TELEGRAM_API_ROOT: env.url().default('https://api.telegram.org'),
  /** Set → webhook mode: Telegram POSTs updates to this public HTTPS URL (its path is served on PORT). */
  WEBHOOK_URL: env.url().optional(),
  /** Checked against X-Telegram-Bot-Api-Secret-Token on every webhook request; required with WEBHOOK_URL. */
  WEBHOOK_SECRET: z.string().regex(/^[A-Za-z0-9_-]{16,256}$/, '16–256 characters of A-Z a-z 0-9 _ -').optional(),
  /** HTTP port for the webhook and /healthz (Railway sets it). */
  PORT: env.int(8080, 0, 65535),
  /** A half-finished dialogue is forgotten after this long without a message. */
  BOT_CONVERSATION_TTL_SEC: env.int(7 * 24 * 3600, 60),
  /** Send a preview photo of one composed frame before the user confirms. */
  BOT_PREVIEW: env.bool(true),
  BOT_PREVIEW_TIMEOUT_MS: env.int(45_000, 1000),
  /** Where previews download inputs (removed after each preview). */
  BOT_PREVIEW_DIR: z.string().optional(),
  /** Minimum gap between two edits of one status message (Telegram allows about one message per second per chat). */
  BOT_STATUS_EDIT_INTERVAL_MS: env.int(3000, 500),
});

export type BotConfig = z.infer<typeof botConfigSchema>;

export const loadBotConfig = defineConfig('bot', botConfigSchema);

/** Webhook mode needs its secret: without it anyone who guesses the URL could post fake updates. */
export function assertWebhookConfig(cfg: BotConfig): void {
  if (cfg.WEBHOOK_URL && !cfg.WEBHOOK_SECRET) {
    throw new ConfigError('bot', [{ variable: 'WEBHOOK_SECRET', message: 'required when WEBHOOK_URL is set' }]);
  }
}
