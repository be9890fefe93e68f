import { z } from 'zod';
import { ConfigError, defineConfig, env, type Env } from '../common/config.js';

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
  /** Set → webhook mode: Telegram POSTs updates to this public HTTPS URL (its path is served on PORT). See `transport`. */
  WEBHOOK_URL: env.url().optional(),
  /** Checked against X-Telegram-Bot-Api-Secret-Token on every webhook request; webhook mode only. See `transport`. */
  WEBHOOK_SECRET: z.string().regex(/^[A-Za-z0-9_-]{16,256}$/, '16–256 characters of A-Z a-z 0-9 _ -').optional(),
  /** HTTP port for the webhook and /healthz (Railway sets it). */
  PORT: env.int(8080, 0, 65535),
  /** A half-finished dialogue is forgotten after this long without a message. */
  BOT_CONVERSATION_TTL_SEC: env.int(7 * 24 * 3600, 60),
  /** A user's saved defaults (/settings) are forgotten after this long without being used or changed. */
  BOT_DEFAULTS_TTL_SEC: env.int(180 * 24 * 3600, 3600),
  /** Send a preview photo of one composed frame before the user confirms. */
  BOT_PREVIEW: env.bool(true),
  BOT_PREVIEW_TIMEOUT_MS: env.int(45_000, 1000),
  /** Where previews download inputs (removed after each preview). */
  BOT_PREVIEW_DIR: z.string().optional(),
  /** Minimum gap between two edits of one status message (Telegram allows about one message per second per chat). */
  BOT_STATUS_EDIT_INTERVAL_MS: env.int(3000, 500),
});

/** The variables as read, each checked on its own (`.railway/railway.ts` is checked against their names). */
export type BotVariables = z.infer<typeof botConfigSchema>;

/**
 * How updates arrive, the one setting that depends on a mode. WEBHOOK_URL chooses it; each mode then requires its
 * own variables and refuses the other's, so a half-configured webhook fails at start naming the variable instead of
 * polling (or serving an unprotected webhook) by surprise.
 */
const transportSchema = z
  .discriminatedUnion('mode', [
    z.object({
      mode: z.literal('polling'),
      WEBHOOK_SECRET: z.undefined({ error: 'set without WEBHOOK_URL: set WEBHOOK_URL for webhook mode, or unset WEBHOOK_SECRET to poll' }),
    }),
    z.object({
      mode: z.literal('webhook'),
      WEBHOOK_URL: z.string(),
      // Without it anyone who guesses the URL could post fake updates.
      WEBHOOK_SECRET: z.string({ error: 'required when WEBHOOK_URL is set' }),
    }),
  ])
  .transform((v): BotTransport =>
    v.mode === 'polling' ? { mode: 'polling' } : { mode: 'webhook', url: v.WEBHOOK_URL, path: new URL(v.WEBHOOK_URL).pathname, secret: v.WEBHOOK_SECRET },
  );

export type BotTransport =
  | { mode: 'polling' }
  /** `path` is the URL's path, served on PORT; `secret` is checked on every request. */
  | { mode: 'webhook'; url: string; path: string; secret: string };

/** The bot's config: the variables, plus the transport they describe. */
export type BotConfig = BotVariables & { readonly transport: BotTransport };

/** The transport `vars` describe; a ConfigError naming the variable when the combination is invalid. */
export function transportOf(vars: Pick<BotVariables, 'WEBHOOK_URL' | 'WEBHOOK_SECRET'>): BotTransport {
  const mode = vars.WEBHOOK_URL === undefined ? 'polling' : 'webhook';
  const r = transportSchema.safeParse({ mode, WEBHOOK_URL: vars.WEBHOOK_URL, WEBHOOK_SECRET: vars.WEBHOOK_SECRET });
  if (r.success) return r.data;
  throw new ConfigError('bot', r.error.issues.map((i) => ({ variable: String(i.path[0] ?? '?'), message: i.message })));
}

const loadVariables = defineConfig('bot', botConfigSchema);

function parseBotConfig(vars: BotVariables): BotConfig {
  return Object.freeze({ ...vars, transport: transportOf(vars) });
}

let cached: BotConfig | undefined;

/** Reads and checks the bot's variables once (memoised); `.parse(env)` checks a given env; `.schema` lists them. */
export const loadBotConfig = Object.assign(() => (cached ??= parseBotConfig(loadVariables())), {
  parse: (e: Env): BotConfig => parseBotConfig(loadVariables.parse(e)),
  schema: botConfigSchema,
});

/** Kept for callers written before `transport`: loadBotConfig already refuses what this checked. */
export function assertWebhookConfig(cfg: Pick<BotVariables, 'WEBHOOK_URL' | 'WEBHOOK_SECRET'>): void {
  transportOf(cfg);
}
