/**
 * `npm run worker` — the pipeline worker (see pipeline/README.md). Configuration comes from the environment
 * (pipeline/config.ts, shotstack/config.ts); a bad variable stops it at once with its name. SIGTERM/SIGINT stop
 * it gracefully (running jobs get PIPELINE_SHUTDOWN_GRACE_MS, then go back to the queue); a second signal exits.
 */
import { ConfigError } from '../../common/config.js';
import { isFfmpegUnavailableError } from '../../common/errors.js';
import { checkFfmpegTools } from '../../common/ffmpeg.js';
import { logger } from '../../common/logger.js';
import { setUpProcess } from '../../common/runtime-config.js';
import { loadMetricsConfig } from '../../common/metrics/config.js';
import { checkRedisDurability, RedisDurabilityError } from '../../common/redis-durability.js';
import { createTelegramApi } from '../../common/telegram/api.js';
import { loadShotstackConfig } from '../../shotstack/config.js';
import { loadPipelineConfig, telegramLimits } from '../config.js';
import { openPipeline } from '../contract.js';
import { openMetricsEndpoint } from '../metrics-endpoint.js';
import { createRedis } from '../redis.js';
import { gpuClientFromConfig, openRenderer, renderSettingsFromConfig } from '../services.js';
import { routingSettingsFromConfig } from '../routing/settings.js';
import { startPipelineWorker } from './worker.js';

// LOG_LEVEL, BUBBLECAST_SERVICE, FFMPEG_PATH/FFPROBE_PATH: applied before anything logs or runs ffmpeg.
setUpProcess();
const log = logger.child({ component: 'pipeline-main' });
let cfg;
let shotstackCfg;
let metricsCfg;
try {
  cfg = loadPipelineConfig();
  shotstackCfg = loadShotstackConfig();
  metricsCfg = loadMetricsConfig();
} catch (e) {
  if (e instanceof ConfigError) {
    process.stderr.write(`${e.message}\n`);
    process.exit(1);
  }
  throw e;
}

// Every job runs ffmpeg and ffprobe: a host without working ones stops here, naming the binary, FFMPEG_PATH /
// FFPROBE_PATH and how to install it, instead of failing its first job.
try {
  log.info(await checkFfmpegTools(), 'ffmpeg and ffprobe found');
} catch (e) {
  if (!isFfmpegUnavailableError(e)) throw e;
  log.fatal({ tool: e.tool, variable: e.variable }, e.message);
  process.exit(1);
}

// Before any job is taken: a Redis that can lose jobs and delivery markers is named (REDIS_DURABILITY).
const durabilityProbe = createRedis(cfg.REDIS_URL, { connectionName: 'bubblecast-durability-check' });
try {
  await checkRedisDurability(durabilityProbe, log, cfg.REDIS_DURABILITY);
} catch (e) {
  if (!(e instanceof RedisDurabilityError)) throw e;
  log.fatal({ redisDurability: e.problems }, e.message);
  process.exit(1);
} finally {
  await durabilityProbe.quit().catch(() => undefined);
}

// METRICS_PORT: /metrics reads the queue and the counters through a Redis connection of its own.
const ops = await openMetricsEndpoint(
  metricsCfg,
  () => {
    const p = openPipeline({ redisUrl: cfg.REDIS_URL, prefix: cfg.PIPELINE_QUEUE_PREFIX });
    p.redis.on('error', (e) => log.warn({ err: e.message }, 'redis error (metrics)'));
    return p;
  },
  { process: 'worker', log },
);

const gpu = gpuClientFromConfig(cfg, log);
// An in-process local renderer keeps its files in its own temp folder (removed on close), not in WORK_DIR, whose
// sub-folders are job folders.
// Calibrated readings live beside the queue, so every worker shares one calibration and /mode shows it.
const renderer = await openRenderer(shotstackCfg, {
  logger: log,
  calibrationRedis: { url: cfg.REDIS_URL, prefix: cfg.PIPELINE_QUEUE_PREFIX },
  onShotstackRetry: ops.metrics.shotstackRetry,
});
const limits = telegramLimits(cfg.TELEGRAM_LOCAL_API);
if (!cfg.BOT_TOKEN) log.warn('BOT_TOKEN is not set: jobs with Telegram inputs or results will fail');

const worker = await startPipelineWorker({
  redisUrl: cfg.REDIS_URL,
  prefix: cfg.PIPELINE_QUEUE_PREFIX,
  workDir: cfg.WORK_DIR,
  concurrency: cfg.PIPELINE_CONCURRENCY,
  globalConcurrency: cfg.PIPELINE_GLOBAL_CONCURRENCY,
  envMode: cfg.PROCESSING_MODE,
  gpu: gpu?.client ?? null,
  gpuHost: gpu?.host ?? null,
  gpuHealthIntervalMs: cfg.GPU_HEALTH_INTERVAL_MS,
  cpuQualityEngine: cfg.PIPELINE_CPU_QUALITY_ENGINE,
  routing: routingSettingsFromConfig(cfg),
  telegram: cfg.BOT_TOKEN
    ? {
        api: createTelegramApi(cfg.BOT_TOKEN, { apiRoot: cfg.TELEGRAM_API_ROOT, log, onRetry: ops.metrics.telegramRetry }),
        token: cfg.BOT_TOKEN,
        apiRoot: cfg.TELEGRAM_API_ROOT,
        downloadLimitBytes: limits.downloadBytes,
        uploadLimitBytes: limits.uploadBytes,
        downloadTimeoutMs: cfg.PIPELINE_DOWNLOAD_TIMEOUT_MS,
      }
    : null,
  renderer: renderer.renderer,
  settings: renderSettingsFromConfig(cfg),
  allowLocalInputs: cfg.PIPELINE_ALLOW_LOCAL_INPUTS,
  lockDurationMs: cfg.PIPELINE_LOCK_DURATION_MS,
  stalledIntervalMs: cfg.PIPELINE_STALLED_INTERVAL_MS,
  maxStalledCount: cfg.PIPELINE_MAX_STALLED_COUNT,
  shutdownGraceMs: cfg.PIPELINE_SHUTDOWN_GRACE_MS,
  heartbeatIntervalMs: cfg.PIPELINE_HEARTBEAT_INTERVAL_MS,
  stateTtlSec: cfg.PIPELINE_STATE_TTL_SEC,
  workSweepIntervalMs: cfg.PIPELINE_WORK_SWEEP_INTERVAL_MS,
  workMaxAgeSec: cfg.PIPELINE_WORK_MAX_AGE_SEC,
  metrics: ops.metrics,
});

let stopping = false;
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    if (stopping) process.exit(1);
    stopping = true;
    log.info({ signal }, 'stopping');
    worker
      .close()
      .then(() => renderer.close())
      .then(() => ops.close())
      .then(
        () => process.exit(0),
        (e: unknown) => {
          log.error({ err: (e as Error).message }, 'shutdown failed');
          process.exit(1);
        },
      );
  });
}
