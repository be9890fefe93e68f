/**
 * bubblecast's Railway project as code (Railway Infrastructure as Code): Redis, the bot and the pipeline worker,
 * every variable they need and where its value comes from. Preview with `railway config plan`, apply with
 * `railway config apply` (Railway CLI ≥ 5.42.1) from the repository root of a linked project.
 *
 * - Self-contained on purpose: the CLI evaluates this file with Node's type stripping, which cannot follow the
 *   repository's `.js` import specifiers, so nothing here imports the app. `npm test` type-checks it against the
 *   `railway` SDK (tsconfig includes `.railway`) and `.railway/railway.test.ts` checks it against the app's config
 *   schemas (every variable known, required ones set, the values parse).
 * - Secrets and per-deploy choices are `preserve()`: the file manages that the variable exists, never its value;
 *   set them once with `railway variables --service bot --set BOT_TOKEN=…` (or in the dashboard).
 * - No `source`: the services deploy from this repository as connected in the dashboard (or `railway up`); the
 *   file manages their settings, not the link to GitHub.
 * - Not covered here: the GPU worker (Railway has no GPUs; `gpu-worker/deploy/README.md`). Point the worker at it
 *   with GPU_WORKER_URL / GPU_WORKER_TOKEN.
 */
import { defineRailway, preserve, redis, service, volume, type BuildConfig, type DeployConfig } from 'railway/iac';

/** The one image of both services (Debian's ffmpeg, the models built in); the same settings as `railway.json`. */
const BUILD: BuildConfig = {
  builder: 'DOCKERFILE',
  dockerfilePath: 'Dockerfile.bot',
  watchPatterns: ['bot/**', 'pipeline/**', 'common/**', 'engine/**', 'models-build/**', 'shotstack/**', 'package.json', 'package-lock.json', 'Dockerfile.bot'],
};
const RESTART: DeployConfig = { restartPolicyType: 'ON_FAILURE', restartPolicyMaxRetries: 10 };

/** The bot's HTTP port: `/healthz` and the webhook (the image's default too). */
const BOT_PORT = 8080;
/**
 * The bot's Railway-provided domain (Telegram posts updates there). `*.up.railway.app` names are shared by all of
 * Railway: pick a free one. WEBHOOK_URL follows whatever the service's public domain is.
 */
const BOT_DOMAIN = 'bubblecast-bot.up.railway.app';
/** Where the image keeps the worker's per-job folders (its WORK_DIR); the volume is mounted there. */
const WORK_DIR = '/data/work';
/**
 * Worker replicas. Railway cannot run replicas of a service that has a volume, so 1 keeps the work folders on a
 * volume (a redeployed worker resumes a job from its stored stages); above 1 the worker runs without one (a redeploy
 * restarts running jobs from their first stage). Each replica runs PIPELINE_CONCURRENCY jobs.
 */
const WORKER_REPLICAS: number = 1;

/**
 * What the bot and the worker must agree on (the bot refuses what the worker would refuse): one list, set on both.
 * PROCESSING_MODE is only the start value; admins switch it at run time with /mode.
 */
const QUEUE_SIDE = {
  PIPELINE_QUEUE_PREFIX: 'bubblecast',
  PROCESSING_MODE: 'auto',
  PIPELINE_MAX_ACTIVE_JOBS_PER_USER: '2',
  PIPELINE_MAX_INPUT_DURATION_SEC: '180',
  PIPELINE_MAX_INPUT_BYTES: '209715200',
  LOG_LEVEL: 'info',
} as const;

export default defineRailway((_ctx, project) => {
  // Railway's Redis; every client connects with ioredis `family: 0` (the private network is IPv6).
  const store = redis('Redis');

  const bot = service('bot', {
    build: BUILD,
    deploy: RESTART,
    // No start command: the image's CMD is the bot (`node --import tsx bot/main.ts`).
    healthcheck: '/healthz',
    replicas: 1,
    networking: { serviceDomains: { [BOT_DOMAIN]: { port: BOT_PORT } } },
    env: {
      BUBBLECAST_SERVICE: 'bot',
      BOT_TOKEN: preserve(),
      ADMIN_IDS: preserve(),
      // Webhook mode: no 409 Conflict while an old and a new deploy overlap. Railway fills in the service's domain.
      WEBHOOK_URL: 'https://${{RAILWAY_PUBLIC_DOMAIN}}/telegram',
      WEBHOOK_SECRET: preserve(),
      PORT: String(BOT_PORT),
      REDIS_URL: store.env.REDIS_URL,
      ...QUEUE_SIDE,
    },
  });

  const work = volume('worker-work');
  const worker = service('worker', {
    build: BUILD,
    deploy: RESTART,
    start: 'node --import tsx pipeline/worker/main.ts',
    // No healthcheck: the worker serves no HTTP; admins see its heartbeat in /mode.
    replicas: WORKER_REPLICAS,
    ...(WORKER_REPLICAS === 1 ? { volumeMounts: { [WORK_DIR]: work } } : {}),
    env: {
      BUBBLECAST_SERVICE: 'worker',
      // The worker downloads the inputs and sends the results itself, with the bot's token.
      BOT_TOKEN: bot.env.BOT_TOKEN,
      REDIS_URL: store.env.REDIS_URL,
      WORK_DIR,
      // Railway mounts volumes owned by root; the image runs as `node`.
      ...(WORKER_REPLICAS === 1 ? { RAILWAY_RUN_UID: '0' } : {}),
      PIPELINE_CONCURRENCY: '1',
      // The GPU worker (Modal/RunPod) when there is one; unset = the worker's CPU.
      GPU_WORKER_URL: preserve(),
      GPU_WORKER_TOKEN: preserve(),
      // Shotstack when a key is set; unset = the local Shotstack-compatible renderer inside the worker.
      SHOTSTACK_API_KEY: preserve(),
      SHOTSTACK_ENV: preserve(),
      ...QUEUE_SIDE,
    },
  });

  return project('bubblecast', { resources: [store, bot, worker, ...(WORKER_REPLICAS === 1 ? [work] : [])] });
});
