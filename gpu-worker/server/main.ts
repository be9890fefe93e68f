/**
 * `npm run gpu-worker` — the GPU worker HTTP service (see gpu-worker/deploy/README.md for the API and hosting).
 * Configuration comes from the environment (server/config.ts); a bad or missing variable stops it at once with
 * the variable's name. SIGTERM/SIGINT drain gracefully; a second signal exits at once.
 */
import { ConfigError } from '../../common/config.js';
import { isFfmpegUnavailableError } from '../../common/errors.js';
import { checkFfmpegTools } from '../../common/ffmpeg.js';
import { logger } from '../../common/logger.js';
import { setUpProcess } from '../../common/runtime-config.js';
import { gpuWorkerConfig } from './config.js';
import { startGpuWorkerServer } from './server.js';

// LOG_LEVEL, BUBBLECAST_SERVICE, FFMPEG_PATH/FFPROBE_PATH: applied before anything logs or runs ffmpeg.
const runtime = setUpProcess();
let cfg;
try {
  cfg = gpuWorkerConfig();
} catch (e) {
  if (e instanceof ConfigError) {
    process.stderr.write(`${e.message}\n`);
    process.exit(1);
  }
  throw e;
}

// Every job decodes and encodes with ffmpeg: without working ffmpeg/ffprobe the service stops here, named.
try {
  logger.info(await checkFfmpegTools(), 'ffmpeg and ffprobe found');
} catch (e) {
  if (!isFfmpegUnavailableError(e)) throw e;
  logger.fatal({ tool: e.tool, variable: e.variable }, e.message);
  process.exit(1);
}

const worker = await startGpuWorkerServer({
  token: cfg.GPU_WORKER_TOKEN,
  port: cfg.PORT,
  host: cfg.HOST,
  concurrency: cfg.GPU_WORKER_CONCURRENCY,
  queueDepth: cfg.GPU_WORKER_QUEUE_DEPTH,
  maxBodyBytes: cfg.GPU_WORKER_MAX_BODY_BYTES,
  jobTimeoutMs: cfg.GPU_WORKER_JOB_TIMEOUT_MS,
  resultTtlMs: cfg.GPU_WORKER_RESULT_TTL_MS,
  uploadTimeoutMs: cfg.GPU_WORKER_UPLOAD_TIMEOUT_MS,
  fetchTimeoutMs: cfg.GPU_WORKER_FETCH_TIMEOUT_MS,
  shutdownGraceMs: cfg.GPU_WORKER_SHUTDOWN_GRACE_MS,
  workDir: cfg.GPU_WORKER_WORK_DIR,
  warmup: cfg.GPU_WORKER_WARMUP,
  inputUrl: cfg.GPU_WORKER_URL_INPUT ? { protocols: ['https:'] } : null,
  version: runtime.BUBBLECAST_VERSION,
});

let stopping = false;
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    if (stopping) process.exit(1);
    stopping = true;
    worker.close(signal).then(
      () => process.exit(0),
      (e: unknown) => {
        logger.error({ err: e }, 'shutdown failed');
        process.exit(1);
      },
    );
  });
}
