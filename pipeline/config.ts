import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { defineConfig, env } from '../common/config.js';
import { parseWorkerUrlList } from '../gpu-worker/client/urls.js';
import { MAX_RING_WIDTH_PX } from '../shotstack/bubble-ring.js';

/**
 * Pipeline settings, keyed by environment variable (the worker, the render CLI and the bot's enqueue side read the
 * same names). Secrets (BOT_TOKEN, GPU_WORKER_TOKEN) are read here and passed to clients; they never go into job
 * data, logs or Redis.
 */
export const PROCESSING_MODES = ['auto', 'gpu', 'cpu'] as const;
export type ProcessingMode = (typeof PROCESSING_MODES)[number];

export const TELEGRAM_CLOUD_API_ROOT = 'https://api.telegram.org';
const MB = 1024 * 1024;

/** `6:#FFFFFF` → { widthPx: 6, color: '#FFFFFF' }. The messages name the variable, so an operator sees what to fix. */
function bubbleRingVariable() {
  return z
    .string()
    .regex(/^\d{1,2}:#[0-9a-fA-F]{6}$/, 'PIPELINE_BUBBLE_RING must be WIDTH:#RRGGBB (width in output pixels), e.g. 6:#FFFFFF')
    .transform((v) => {
      const [width, color] = v.split(':') as [string, string];
      return { widthPx: Number(width), color: color.toUpperCase() };
    })
    .refine((r) => r.widthPx >= 1 && r.widthPx <= MAX_RING_WIDTH_PX, `PIPELINE_BUBBLE_RING width must be 1..${MAX_RING_WIDTH_PX} px`)
    .optional();
}

export const pipelineConfigSchema = z.object({
  REDIS_URL: z.string().default('redis://127.0.0.1:6379'),
  /**
   * What bot and worker do at start-up when Redis could lose jobs (no `appendonly yes`, or a `maxmemory-policy`
   * other than `noeviction`): `warn` logs it and goes on, `refuse` stops the process naming the setting.
   */
  REDIS_DURABILITY: z.enum(['warn', 'refuse']).default('warn'),
  /** BullMQ key prefix; the pipeline's own keys live under `<prefix>:bubblecast:*`. */
  PIPELINE_QUEUE_PREFIX: z.string().regex(/^[A-Za-z0-9_.-]+$/).default('bubblecast'),
  /** Per-job work folders `<WORK_DIR>/<jobId>`; on a persistent volume a restarted worker resumes from them. */
  WORK_DIR: z.string().default(join(tmpdir(), 'bubblecast-pipeline')),
  /** auto = GPU worker first, CPU engine when it fails; gpu = GPU only; cpu = CPU only. An admin can override it. */
  PROCESSING_MODE: z.enum(PROCESSING_MODES).default('auto'),
  /**
   * One GPU worker's base URL, or several comma-separated (jobs are spread over the healthy ones and fail over
   * between them; pipeline/gpu-pool.ts). Each entry is held to the client's own rule (https, or http to loopback),
   * checked here too so the process stops naming the variable. One GPU_WORKER_TOKEN serves them all.
   */
  GPU_WORKER_URL: z
    .string()
    .optional()
    .superRefine((v, ctx) => {
      if (v === undefined) return;
      try {
        parseWorkerUrlList(v);
      } catch (e) {
        ctx.addIssue({ code: 'custom', message: (e as Error).message });
      }
    }),
  GPU_WORKER_TOKEN: z.string().optional(),
  /** Everything one GPU call may take (upload, queue, run, download) before the CPU takes over. */
  GPU_WORKER_DEADLINE_MS: env.int(10 * 60_000, 1000),
  /** A silent connection is given up after this long (a hanging worker). */
  GPU_WORKER_IDLE_TIMEOUT_MS: env.int(30_000, 100),
  GPU_HEALTH_INTERVAL_MS: env.int(30_000, 1000),

  // Routing in PROCESSING_MODE=auto (pipeline/routing/): each job goes where it should finish first.
  /** CPU engine speed (fast model, frames/s) before this host class has measured its own: ≈ 40–60 on 2 cores. */
  ROUTING_CPU_FPS_SEED: env.num(40, 0.01, 10_000),
  /** Same for ISNet on the CPU (only with PIPELINE_CPU_QUALITY_ENGINE=quality): ≈ 2–3 s a frame on 2 cores. */
  ROUTING_CPU_QUALITY_FPS_SEED: env.num(0.4, 0.001, 10_000),
  /** A GPU worker's speed (fast model, frames/s, decode and encode included) before it was measured. */
  ROUTING_GPU_FPS_SEED: env.num(60, 0.01, 10_000),
  /** Same for ISNet on a GPU worker. */
  ROUTING_GPU_QUALITY_FPS_SEED: env.num(8, 0.001, 10_000),
  /**
   * The fixed cost of one overlay run (processes, model session, first frames; on a GPU also submit and polling):
   * a 2 s clip is not 5× faster than a 10 s one. Left out of the measured fps.
   */
  ROUTING_JOB_START_SEC: env.num(2, 0, 600),
  /** A quality job leaves the GPU only when its estimate is more than this many times the CPU's (ISNet needs a GPU). */
  ROUTING_QUALITY_GPU_FACTOR: env.num(3, 1, 1000),
  /** A measured fps is forgotten after this long without a new job (hosts and models change). */
  ROUTING_FPS_TTL_SEC: env.int(7 * 24 * 3600, 60),
  /**
   * Workers sharing a class share their CPU measurement; default `cpu<cores>` (same cores, same speed). Set it when
   * one deployment runs on different machines with the same core count.
   */
  ROUTING_HOST_CLASS: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'letters, digits, _ . - (up to 64)').optional(),
  /** What a scaled-to-zero GPU host costs before a job starts (image pull, CUDA init, model load: tens of seconds). */
  GPU_COLD_START_SEC: env.num(45, 0, 3600),
  /**
   * A GPU worker that answered /health ok or finished a job this recently is taken as warm; keep it under the host's
   * scale-down window (Modal scaledown_window=300, RunPod idle timeout ≈ 300).
   */
  GPU_IDLE_WARM_SEC: env.num(240, 0, 86_400),
  /** Upload + download bandwidth to the GPU workers (Mbit/s): the input goes up, the overlay (≈ its size) comes back. */
  GPU_TRANSFER_MBPS: env.num(50, 0.1, 100_000),

  BOT_TOKEN: z.string().optional(),
  /** Bot API server root (no trailing slash); a self-hosted `telegram-bot-api` lifts the 20/50 MB limits. */
  TELEGRAM_API_ROOT: env.url().default(TELEGRAM_CLOUD_API_ROOT),
  /** Set when TELEGRAM_API_ROOT is a self-hosted server started with --local (files up to 2000 MB). */
  TELEGRAM_LOCAL_API: env.bool(false),

  /** Jobs one worker process runs at once (ffmpeg + ONNX use both cores of a small host: keep 1). */
  PIPELINE_CONCURRENCY: env.int(1, 1, 64),
  /** Jobs running at once across all workers (BullMQ global concurrency); unset = no global cap. */
  PIPELINE_GLOBAL_CONCURRENCY: env.int(0, 0, 1000),
  PIPELINE_MAX_ACTIVE_JOBS_PER_USER: env.int(2, 1, 100),
  PIPELINE_MAX_INPUT_DURATION_SEC: env.num(180, 1),
  PIPELINE_MAX_INPUT_BYTES: env.int(200 * MB, 1),
  /** Jobs may point at files on the worker's disk ({source:'local'}): only for trusted enqueuers (tests, ops). */
  PIPELINE_ALLOW_LOCAL_INPUTS: env.bool(false),

  PIPELINE_RESOLUTION: z.enum(['sd', 'hd', '1080']).default('hd'),
  PIPELINE_FPS: z.coerce.number().refine((n) => [24, 25, 30].includes(n), 'one of 24, 25, 30').default(25),
  /**
   * What the in-process CPU engine does when a job asks for the `quality` engine (ISNet): `fast` runs the fast model
   * instead and tells the user (ISNet takes ≈ 2 s per frame on CPU: a 1-minute clip would take about an hour);
   * `quality` runs it anyway (a host with many cores, short clips). The GPU worker always runs what was asked.
   */
  PIPELINE_CPU_QUALITY_ENGINE: z.enum(['fast', 'quality']).default('fast'),
  /** luma = colour + matte MP4 pair (Shotstack's documented masking); alpha = one QuickTime qtrle .mov. */
  PIPELINE_OVERLAY_KIND: z.enum(['luma', 'alpha']).default('luma'),
  /** Background music level under the speaker (0 = mute). */
  PIPELINE_BACKGROUND_VOLUME: env.num(0.25, 0, 1),
  /** A ring around the bubble in the final video, `WIDTH:#RRGGBB` (width in output px); unset = no ring. */
  PIPELINE_BUBBLE_RING: bubbleRingVariable(),

  PIPELINE_LOCK_DURATION_MS: env.int(60_000, 1000),
  PIPELINE_STALLED_INTERVAL_MS: env.int(30_000, 500),
  /** How often a job may be picked up again after its worker died, before it fails. */
  PIPELINE_MAX_STALLED_COUNT: env.int(2, 0, 100),
  /** SIGTERM: running jobs get this long, then they are handed back to the queue (and resume elsewhere). */
  PIPELINE_SHUTDOWN_GRACE_MS: env.int(20_000, 0),
  PIPELINE_HEARTBEAT_INTERVAL_MS: env.int(15_000, 500),
  /** Limit for one Telegram file download. */
  PIPELINE_DOWNLOAD_TIMEOUT_MS: env.int(10 * 60_000, 1000),
  /** How long the per-job state and delivered markers stay in Redis (for admins and late retries). */
  PIPELINE_STATE_TTL_SEC: env.int(7 * 24 * 3600, 60),
  /**
   * How often each worker sweeps WORK_DIR (besides at start-up) for folders left behind: a job finished or gone,
   * or any folder older than PIPELINE_WORK_MAX_AGE_SEC — never one of a running job.
   */
  PIPELINE_WORK_SWEEP_INTERVAL_MS: env.int(10 * 60_000, 1000),
  /**
   * No work folder outlives this (unless its job is running). Keep it above the 24 h «Send again» window, whose
   * rendered file lives in the folder.
   */
  PIPELINE_WORK_MAX_AGE_SEC: env.int(2 * 24 * 3600, 3600),
});

export type PipelineConfig = z.infer<typeof pipelineConfigSchema>;

export const loadPipelineConfig = defineConfig('pipeline', pipelineConfigSchema);

/**
 * The cloud Bot API refuses uploads over 50 MB, and its 50 MB are 50,000,000 bytes (not 50 MiB = 52,428,800, which
 * this used to allow). The limit applies to the whole multipart request, which carries the caption, the other
 * fields and the part headers besides the file, so the file itself is kept 1,000,000 bytes under it.
 */
export const CLOUD_UPLOAD_LIMIT_BYTES = 49_000_000;

/** Byte limits of the Bot API server in use: the cloud refuses downloads over 20 MB and uploads over 50 MB. */
export function telegramLimits(localApi: boolean): { downloadBytes: number; uploadBytes: number } {
  return localApi ? { downloadBytes: 2000 * MB, uploadBytes: 2000 * MB } : { downloadBytes: 20 * MB, uploadBytes: CLOUD_UPLOAD_LIMIT_BYTES };
}
