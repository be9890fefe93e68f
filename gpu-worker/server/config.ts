import { z } from 'zod';
import { defineConfig, env } from '../../common/config.js';

/**
 * Settings of the GPU worker service. Defaults live here once: `startGpuWorkerServer` falls back to
 * SERVER_DEFAULTS for anything its caller leaves out, and the env schema below uses the same numbers.
 */
export const SERVER_DEFAULTS = {
  port: 8080,
  host: '0.0.0.0',
  /** One job per GPU: a second concurrent job mostly splits the same GPU and doubles memory. */
  concurrency: 1,
  queueDepth: 4,
  /** Bigger than any Telegram video (2000 MB only with a local Bot API server; 20 MB through the cloud API). */
  maxBodyBytes: 512 * 1024 * 1024,
  /** 10 min: a 3-minute clip runs ~5× real time on an A10G; more means something is stuck. */
  jobTimeoutMs: 10 * 60_000,
  /** Results wait this long after a job ends for the client to download them. */
  resultTtlMs: 15 * 60_000,
  /** Whole-request limit for receiving an upload (Node's own default is 300 s). */
  uploadTimeoutMs: 120_000,
  /** Under Modal's 150 s request cap, so a slow `input.url` fetch fails with our answer, not the proxy's. */
  fetchTimeoutMs: 60_000,
  /** SIGTERM → this long for running jobs to finish before they are failed with code `shutdown`. */
  shutdownGraceMs: 20_000,
} as const;

const MIN_TOKEN_LENGTH = 16;

export const gpuWorkerConfig = defineConfig(
  'gpu-worker',
  z.object({
    PORT: env.int(SERVER_DEFAULTS.port, 0, 65535),
    HOST: z.string().default(SERVER_DEFAULTS.host),
    /** Shared secret of the pipeline and this service; required, long enough not to be guessed. */
    GPU_WORKER_TOKEN: z
      .string({ error: 'required: the bearer token clients must send' })
      .min(MIN_TOKEN_LENGTH, `must be at least ${MIN_TOKEN_LENGTH} characters`),
    GPU_WORKER_CONCURRENCY: env.int(SERVER_DEFAULTS.concurrency, 1, 64),
    GPU_WORKER_QUEUE_DEPTH: env.int(SERVER_DEFAULTS.queueDepth, 0, 1000),
    GPU_WORKER_MAX_BODY_BYTES: env.int(SERVER_DEFAULTS.maxBodyBytes, 1),
    GPU_WORKER_JOB_TIMEOUT_MS: env.int(SERVER_DEFAULTS.jobTimeoutMs, 1000),
    GPU_WORKER_RESULT_TTL_MS: env.int(SERVER_DEFAULTS.resultTtlMs, 1000),
    GPU_WORKER_UPLOAD_TIMEOUT_MS: env.int(SERVER_DEFAULTS.uploadTimeoutMs, 1000),
    GPU_WORKER_FETCH_TIMEOUT_MS: env.int(SERVER_DEFAULTS.fetchTimeoutMs, 1000),
    GPU_WORKER_SHUTDOWN_GRACE_MS: env.int(SERVER_DEFAULTS.shutdownGraceMs, 0),
    /** Parent of the per-process work folder (uploads and results); default: the OS temp dir. */
    GPU_WORKER_WORK_DIR: z.string().optional(),
    /** Engines whose models are loaded at start-up (`fast`, `quality`), or `none` to load on first use. */
    GPU_WORKER_WARMUP: z
      .string()
      .default('fast')
      .transform((v) => v.split(',').map((s) => s.trim()).filter((s) => s && s !== 'none'))
      .pipe(z.array(z.enum(['fast', 'quality']))),
    /**
     * Accept `{input: {url}}` submissions (https, public addresses only). Off by default: the pipeline uploads
     * bytes, and a worker that fetches URLs can be pointed at its own network.
     */
    GPU_WORKER_URL_INPUT: env.bool(false),
  }),
);

export type GpuWorkerConfig = ReturnType<typeof gpuWorkerConfig>;
