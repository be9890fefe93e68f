import type { Bot } from 'grammy';
import { isFfmpegUnavailableError } from '../common/errors.js';
import { checkFfmpegTools } from '../common/ffmpeg.js';
import { logger, type Logger } from '../common/logger.js';
import { loadMetricsConfig } from '../common/metrics/config.js';
import { checkRedisDurability } from '../common/redis-durability.js';
import { setUpProcess } from '../common/runtime-config.js';
import { createTelegramApi } from '../common/telegram/api.js';
import { loadPipelineConfig } from '../pipeline/config.js';
import { inputLimitsFromEnv, openPipeline } from '../pipeline/contract.js';
import { openMetricsEndpoint } from '../pipeline/metrics-endpoint.js';
import { loadBotConfig } from './config.js';
import type { BotContext } from './context.js';
import { createBot, PUBLIC_COMMANDS } from './create-bot.js';
import type { BotDeps } from './deps.js';
import { createPreviewService } from './preview/preview-service.js';
import { createStatusNotifier } from './progress/status-notifier.js';
import { startBotHttp } from './runtime/http.js';
import { ALLOWED_UPDATES, startPolling, type Polling } from './runtime/polling.js';
import { BotStore } from './store.js';

type BotConfig = ReturnType<typeof loadBotConfig>;
type PipelineConfig = ReturnType<typeof loadPipelineConfig>;
type MetricsConfig = ReturnType<typeof loadMetricsConfig>;

/**
 * `npm run bot`: config (fails fast naming the variable), Redis + queue, the bot, the status notifier, /healthz,
 * and either long polling (409-tolerant) or a webhook with a secret token when WEBHOOK_URL is set.
 * SIGTERM/SIGINT: stop taking updates, let the ones in progress finish, close connections, exit 0.
 */
async function main(): Promise<void> {
  // LOG_LEVEL, BUBBLECAST_SERVICE, FFMPEG_PATH/FFPROBE_PATH: applied before anything logs or runs ffmpeg.
  setUpProcess();
  const cfg = loadBotConfig();
  const pipelineCfg = loadPipelineConfig();
  const metricsCfg = loadMetricsConfig();
  const log = logger.child({ component: 'bot' });
  if (cfg.BOT_PREVIEW) await checkPreviewTools(log);
  const services = await openServices(cfg, pipelineCfg, metricsCfg, log);
  const { deps, ops } = services;
  const bot = createBot({ token: cfg.BOT_TOKEN, apiRoot: services.apiRoot, deps, onTelegramRetry: ops.metrics.telegramRetry });
  await bot.init();
  await deps.status.listen();
  await Promise.all([
    bot.api.setMyCommands([...PUBLIC_COMMANDS.en]),
    bot.api.setMyCommands([...PUBLIC_COMMANDS.ru], { language_code: 'ru' }),
  ]).catch((e: Error) => log.warn({ err: e.message }, 'setMyCommands failed'));
  const transport = await startTransport(bot, cfg, log);
  stopOnSignals(log, async () => {
    await transport.close();
    await deps.status.close();
    await ops.close();
    await deps.pipeline.close();
  }, transport.markUnhealthy);
}

/** The bot runs ffmpeg/ffprobe for previews only: with previews on, a host without them stops here, named. */
async function checkPreviewTools(log: Logger): Promise<void> {
  try {
    log.info(await checkFfmpegTools(), 'ffmpeg and ffprobe found');
  } catch (e) {
    if (!isFfmpegUnavailableError(e)) throw e;
    log.fatal({ tool: e.tool, variable: e.variable }, `${e.message} (The bot needs them for previews only: BOT_PREVIEW=false starts it without.)`);
    process.exit(1);
  }
}

/** Redis + queue (durability checked), /metrics, the store, the status notifier and the preview: the bot's deps. */
async function openServices(cfg: BotConfig, pipelineCfg: PipelineConfig, metricsCfg: MetricsConfig, log: Logger) {
  const apiRoot = cfg.TELEGRAM_API_ROOT.replace(/\/+$/, '');
  const pipeline = openPipeline({ redisUrl: pipelineCfg.REDIS_URL, prefix: pipelineCfg.PIPELINE_QUEUE_PREFIX });
  pipeline.redis.on('error', (e) => log.warn({ err: e.message }, 'redis error'));
  pipeline.queue.on('error', (e) => log.warn({ err: e.message }, 'queue error'));
  // Before anything is queued: a Redis that can lose jobs is named (REDIS_DURABILITY=refuse throws: exit 1 below).
  await checkRedisDurability(pipeline.redis, log, pipelineCfg.REDIS_DURABILITY);
  // METRICS_PORT: its own listener, not PORT (public in webhook mode); it reads through the bot's queue handle.
  const ops = await openMetricsEndpoint(metricsCfg, () => ({ ...pipeline, close: async () => undefined }), { process: 'bot', log });
  const { maxActivePerUser, ...limits } = inputLimitsFromEnv();
  const store = new BotStore(pipeline.redis, pipeline.prefix, { defaultsTtlSec: cfg.BOT_DEFAULTS_TTL_SEC });
  // The status notifier's and the preview's client; the bot's own (createBot) follows the same policy.
  const api = createTelegramApi(cfg.BOT_TOKEN, { apiRoot, log, onRetry: ops.metrics.telegramRetry });
  const status = createStatusNotifier({
    api,
    queue: pipeline.queue,
    store,
    redisUrl: pipelineCfg.REDIS_URL,
    prefix: pipeline.prefix,
    minIntervalMs: cfg.BOT_STATUS_EDIT_INTERVAL_MS,
    log,
  });
  const preview = cfg.BOT_PREVIEW
    ? createPreviewService({
        api,
        token: cfg.BOT_TOKEN,
        apiRoot,
        downloadLimitBytes: limits.telegramDownloadBytes,
        maxBytes: limits.maxBytes,
        timeoutMs: cfg.BOT_PREVIEW_TIMEOUT_MS,
        dir: cfg.BOT_PREVIEW_DIR,
        log,
      })
    : null;
  const deps: BotDeps = {
    pipeline,
    store,
    limits,
    maxActivePerUser,
    adminIds: cfg.ADMIN_IDS,
    envMode: pipelineCfg.PROCESSING_MODE,
    preview,
    status,
    conversationTtlSec: cfg.BOT_CONVERSATION_TTL_SEC,
    log,
  };
  return { apiRoot, deps, ops };
}

/** /healthz and the updates: a webhook when WEBHOOK_URL is set, long polling otherwise. */
async function startTransport(bot: Bot<BotContext>, cfg: BotConfig, log: Logger) {
  let polling: Polling | null = null;
  let healthy = true;
  const { transport } = cfg;
  const http = await startBotHttp({
    bot,
    port: cfg.PORT,
    webhook: transport.mode === 'webhook' ? { path: transport.path, secret: transport.secret } : null,
    log,
    healthy: () => healthy,
  });
  if (transport.mode === 'webhook') {
    await bot.api.setWebhook(transport.url, { secret_token: transport.secret, allowed_updates: [...ALLOWED_UPDATES] });
    log.info({ username: bot.botInfo.username, port: http.port, path: transport.path }, 'bot started (webhook)');
  } else {
    // A webhook left over from an earlier deploy would make every getUpdates a 409.
    await bot.api.deleteWebhook();
    polling = startPolling(bot, { log });
    polling.done.catch((e: Error) => {
      log.fatal({ err: e.message }, 'polling failed; exiting so the platform restarts the bot');
      healthy = false;
      process.exit(1);
    });
    log.info({ username: bot.botInfo.username, port: http.port }, 'bot started (long polling)');
  }
  return {
    /** /healthz answers 503 from now on (shutting down). */
    markUnhealthy: () => {
      healthy = false;
    },
    close: async () => {
      await polling?.stop();
      await http.close();
    },
  };
}

/** SIGTERM/SIGINT: unhealthy first, then `close` (updates, then connections), exit 0; 25 s at most, then exit 1. */
function stopOnSignals(log: Logger, close: () => Promise<void>, markUnhealthy: () => void): void {
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    markUnhealthy();
    const force = setTimeout(() => process.exit(1), 25_000);
    force.unref();
    await close();
    log.info('bye');
    process.exit(0);
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));
}

main().catch((e: unknown) => {
  logger.fatal({ err: e instanceof Error ? e.message : String(e) }, 'bot failed to start');
  process.exit(1);
});
