import { randomUUID } from 'node:crypto';
import { Queue, UnrecoverableError, type Job, type JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { makeFailure, formatFailure, parseFailure, type JobFailure } from './failures.js';
import { loadPipelineConfig, telegramLimits } from './config.js';
import { pipelineKeys } from './keys.js';
import { createRedis } from './redis.js';

/**
 * The job contract between the bot (producer) and the pipeline worker (consumer). The bot imports only this module:
 * queue name, job data schema, progress and result types, job ids, default job options, and small helpers to
 * enqueue, cancel and read failures. Nothing else needs to know BullMQ's shape.
 *
 * Inputs travel as *references* (Telegram file ids, or a local path for the CLI/tests) — never as file URLs: a
 * Telegram file URL embeds the bot token, and job data is visible to anyone who can read Redis or the admin views.
 */

export const RENDER_QUEUE = 'bubblecast-render';
export const RENDER_JOB_NAME = 'render';
export const CONTRACT_VERSION = 1;

// ---- inputs ------------------------------------------------------------------------------------------------------

/** Telegram file ids are base64url; the pattern also guarantees a URL (with its token) can never sneak in. */
const telegramFileId = z.string().regex(/^[A-Za-z0-9_-]{4,256}$/, 'a Telegram file id (base64url), not a URL');

export const telegramInputSchema = z
  .object({
    source: z.literal('telegram'),
    fileId: telegramFileId,
    fileUniqueId: telegramFileId,
    /** Which message field it came in: video, video_note (round), document (video/* mime) or animation. */
    kind: z.enum(['video', 'video_note', 'document', 'animation']),
    /** What Telegram said about the file, when it said it (lets the bot and the worker refuse early). */
    sizeBytes: z.number().int().nonnegative().optional(),
    durationSec: z.number().nonnegative().optional(),
    mimeType: z.string().max(100).optional(),
  })
  .strict();

export const localInputSchema = z
  .object({
    source: z.literal('local'),
    /** An absolute path on the worker's disk (CLI, tests, ops). Workers refuse these unless allowed. */
    path: z.string().min(1).refine((p) => !/^[a-z][a-z0-9+.-]*:\/\//i.test(p), 'a path, not a URL'),
  })
  .strict();

export const inputRefSchema = z.discriminatedUnion('source', [telegramInputSchema, localInputSchema]);
export type TelegramInputRef = z.infer<typeof telegramInputSchema>;
export type LocalInputRef = z.infer<typeof localInputSchema>;
export type InputRef = z.infer<typeof inputRefSchema>;

// ---- options -----------------------------------------------------------------------------------------------------

export const BUBBLE_SHAPES = ['circle', 'rounded', 'rect'] as const;
/** Corners, sides and centre; the names Shotstack uses for clip positions. */
export const BUBBLE_POSITIONS = ['topLeft', 'top', 'topRight', 'left', 'center', 'right', 'bottomLeft', 'bottom', 'bottomRight'] as const;
export const BUBBLE_SIZES = ['S', 'M', 'L'] as const;
/** fast = MediaPipe selfie (CPU real time); quality = ISNet (GPU-class). */
export const ENGINES = ['fast', 'quality'] as const;
export const ASPECTS = ['9:16', '16:9', '1:1'] as const;
/**
 * video = the bubble over the background, rendered (needs a background);
 * overlay = the transparent bubble file alone (WebM VP9 with alpha, sent as a document);
 * note = a round Telegram video note of the speaker.
 */
export const OUTPUT_KINDS = ['video', 'overlay', 'note'] as const;
export const LANGUAGES = ['ru', 'en'] as const;

export type BubbleShape = (typeof BUBBLE_SHAPES)[number];
export type BubblePosition = (typeof BUBBLE_POSITIONS)[number];
export type BubbleSize = (typeof BUBBLE_SIZES)[number];
export type EngineChoice = (typeof ENGINES)[number];
export type Aspect = (typeof ASPECTS)[number];
export type OutputKind = (typeof OUTPUT_KINDS)[number];
export type { Language } from './messages.js';

export const bubbleOptionsSchema = z
  .object({
    shape: z.enum(BUBBLE_SHAPES).default('circle'),
    position: z.enum(BUBBLE_POSITIONS).default('bottomRight'),
    size: z.enum(BUBBLE_SIZES).default('M'),
    engine: z.enum(ENGINES).default('fast'),
    aspect: z.enum(ASPECTS).default('9:16'),
    /** Output resolution override (default: the worker's PIPELINE_RESOLUTION). Tests use `sd`. */
    resolution: z.enum(['sd', 'hd', '1080']).optional(),
  })
  .strict();
export type BubbleOptions = z.infer<typeof bubbleOptionsSchema>;

// ---- job data ----------------------------------------------------------------------------------------------------

export const jobDataSchema = z
  .object({
    v: z.literal(CONTRACT_VERSION).default(CONTRACT_VERSION),
    chatId: z.number().int(),
    userId: z.number().int(),
    /** The user's message that asked for it: the result replies to it, and the job id is derived from it. */
    messageId: z.number().int().positive().optional(),
    language: z.enum(LANGUAGES).default('en'),
    head: inputRefSchema,
    /** Required for output `video`, ignored otherwise. */
    background: inputRefSchema.nullable().default(null),
    output: z.enum(OUTPUT_KINDS).default('video'),
    options: bubbleOptionsSchema.default(bubbleOptionsSchema.parse({})),
    /**
     * Who tells the user about a final failure: `worker` sends a short message in `language` itself; `bot` means
     * the bot listens to QueueEvents and does it (then the worker stays silent).
     */
    failureNotice: z.enum(['worker', 'bot']).default('worker'),
    requestedAt: z.string().optional(),
  })
  .strict()
  .superRefine((d, ctx) => {
    if (d.output === 'video' && !d.background) {
      ctx.addIssue({ code: 'custom', path: ['background'], message: 'output "video" needs a background video' });
    }
  });

/** What the bot passes in (defaults may be left out). */
export type JobDataInput = z.input<typeof jobDataSchema>;
/** What the worker reads (defaults filled in). */
export type JobData = z.output<typeof jobDataSchema>;

export function parseJobData(input: unknown): JobData {
  return jobDataSchema.parse(input);
}

// ---- progress ----------------------------------------------------------------------------------------------------

export const STAGES = ['fetch', 'overlay', 'render', 'deliver'] as const;
export type Stage = (typeof STAGES)[number];

/**
 * Sent with `job.updateProgress` (QueueEvents `progress` → `data`), at most about once a second.
 * `percent` is the whole job (0..100, never goes back); `stagePercent` the current stage; `eta` seconds left for
 * the whole job when it can be estimated.
 */
export const jobProgressSchema = z.object({
  stage: z.enum(STAGES),
  percent: z.number().min(0).max(100),
  stagePercent: z.number().min(0).max(100).optional(),
  eta: z.number().nonnegative().optional(),
});
export type JobProgress = z.infer<typeof jobProgressSchema>;

/** Parses a progress value from QueueEvents (unknown JSON); null when it is not ours. */
export function parseProgress(data: unknown): JobProgress | null {
  const r = jobProgressSchema.safeParse(data);
  return r.success ? r.data : null;
}

// ---- result ------------------------------------------------------------------------------------------------------

export type OverlayPath = 'gpu' | 'cpu';

/** Which engine path made the bubble, and why the CPU ran when the GPU was asked first. */
export interface OverlayRecord {
  path: OverlayPath;
  /** The execution provider that really ran the model (a GPU worker can itself run on CPU). */
  provider: 'cuda' | 'cpu';
  /** The engine that really ran. */
  engine: EngineChoice;
  /** Set when it differs from the one the job asked for (quality asked, the CPU ran fast). */
  requestedEngine?: EngineChoice;
  /** auto | gpu | cpu, as it was when the stage ran (env or admin override). */
  mode: 'auto' | 'gpu' | 'cpu';
  /** Why the GPU path was not used in auto mode (e.g. `unavailable:connection_failed`), else null. */
  fallbackReason: string | null;
  /** The GPU worker (host only) that ran it, when path is gpu and the pool knows it. */
  gpuHost?: string;
  /** GPU workers that failed this job before (`host: kind:reason`), whatever path finally ran it. */
  gpuFailedOver?: string[];
}

export interface DeliveryRecord {
  method: 'sendVideo' | 'sendVideoNote' | 'sendDocument' | 'sendMessage' | 'file';
  /** The chat message that carries the result (Telegram), if any. */
  messageId?: number;
  bytes: number;
  /** True when the file was too large and the user got a download link instead. */
  asLink?: boolean;
  /** True when the file was re-encoded smaller to fit Telegram's upload limit. */
  shrunk?: boolean;
  /** Where the result was written (the CLI). */
  path?: string;
  /**
   * True when an earlier send of the result may or may not have reached the chat (its worker died, or lost Redis,
   * between the send and the delivered marker): nothing was sent again; the user was asked instead, with a «Send
   * again» button (`method` sendMessage, `messageId` that question), and the rendered file is kept for 24 h.
   */
  uncertain?: boolean;
}

export interface JobResult {
  v: typeof CONTRACT_VERSION;
  output: OutputKind;
  delivered: DeliveryRecord;
  overlay: OverlayRecord;
  /** Wall time of each stage when it ran (a stage resumed from an earlier attempt keeps its original time). */
  timingsMs: Partial<Record<Stage, number>> & { total: number };
  /** Stages whose output was reused from an earlier attempt instead of being done again. */
  resumed: Stage[];
  /** Length of the result, seconds. */
  durationSec: number;
}

// ---- ids and options ---------------------------------------------------------------------------------------------

/**
 * The job id of "this chat asked with this message": a double tap or a re-delivered update adds the same id, which
 * BullMQ ignores. BullMQ forbids ':' and pure integers in custom ids; this has neither.
 */
export function jobIdFor(chatId: number, messageId: number): string {
  if (!Number.isSafeInteger(chatId) || !Number.isSafeInteger(messageId)) throw new RangeError('jobIdFor: integer ids expected');
  return `chat${chatId}-msg${messageId}`;
}

export const DEFAULT_JOB_OPTIONS = {
  /** Network trouble, a busy GPU or Shotstack: retried with backoff. Bad input is never retried. */
  attempts: 4,
  backoff: { type: 'exponential', delay: 10_000 },
  /** Kept for admins (/failed, /stats), bounded in time and number. */
  removeOnComplete: { age: 7 * 24 * 3600, count: 2000 },
  removeOnFail: { age: 30 * 24 * 3600, count: 5000 },
} as const satisfies JobsOptions;

export type RenderQueue = Queue<JobData, JobResult, typeof RENDER_JOB_NAME>;
export type RenderJob = Job<JobData, JobResult, typeof RENDER_JOB_NAME>;

/** The render queue on a connection (`createRedis` from pipeline/redis.ts, or connection options). */
export function createRenderQueue(connection: Redis, prefix: string): RenderQueue {
  return new Queue<JobData, JobResult, typeof RENDER_JOB_NAME>(RENDER_QUEUE, {
    connection,
    prefix,
    defaultJobOptions: DEFAULT_JOB_OPTIONS,
  });
}

/**
 * What a producer or an admin holds: the render queue plus a plain Redis client on the same server (for the
 * pipeline's own keys: mode override, heartbeats, cancel flags) and the prefix both use.
 */
export interface PipelineHandle {
  queue: RenderQueue;
  redis: Redis;
  prefix: string;
  close(): Promise<void>;
}

/** Opens the queue and a Redis client (defaults: REDIS_URL / PIPELINE_QUEUE_PREFIX from the env). */
export function openPipeline(o: { redisUrl?: string; prefix?: string } = {}): PipelineHandle {
  const cfg = loadPipelineConfig();
  const redis = createRedis(o.redisUrl ?? cfg.REDIS_URL, { connectionName: 'bubblecast-producer' });
  const prefix = o.prefix ?? cfg.PIPELINE_QUEUE_PREFIX;
  const queue = createRenderQueue(redis, prefix);
  return {
    queue,
    redis,
    prefix,
    async close() {
      await queue.close();
      await redis.quit().catch(() => undefined);
    },
  };
}

/** The limits enqueueJob should apply, from the env (the same variables the worker reads). */
export function inputLimitsFromEnv(): InputLimits & { maxActivePerUser: number } {
  const cfg = loadPipelineConfig();
  return {
    maxDurationSec: cfg.PIPELINE_MAX_INPUT_DURATION_SEC,
    maxBytes: cfg.PIPELINE_MAX_INPUT_BYTES,
    telegramDownloadBytes: telegramLimits(cfg.TELEGRAM_LOCAL_API).downloadBytes,
    maxActivePerUser: cfg.PIPELINE_MAX_ACTIVE_JOBS_PER_USER,
  };
}

// ---- enqueue -----------------------------------------------------------------------------------------------------

export interface InputLimits {
  maxDurationSec: number;
  maxBytes: number;
  /** Largest file the Bot API in use lets the bot download (20 MB on the cloud API). */
  telegramDownloadBytes: number;
}

/**
 * Refuses, from what Telegram already told us, inputs the worker would refuse after downloading them.
 * The bot calls it before enqueueing to answer at once; enqueueJob calls it again.
 */
export function checkInputHints(data: JobData, limits: InputLimits): JobFailure | null {
  for (const ref of [data.head, data.background]) {
    if (!ref || ref.source !== 'telegram') continue;
    if (ref.sizeBytes !== undefined && ref.sizeBytes > limits.telegramDownloadBytes) {
      return makeFailure('telegram_file_too_big', `${ref.sizeBytes} bytes > the Bot API download limit of ${limits.telegramDownloadBytes}`);
    }
    if (ref.sizeBytes !== undefined && ref.sizeBytes > limits.maxBytes) {
      return makeFailure('too_large', `${ref.sizeBytes} bytes > ${limits.maxBytes}`);
    }
    if (ref.durationSec !== undefined && ref.durationSec > limits.maxDurationSec) {
      return makeFailure('too_long', `${ref.durationSec} s > ${limits.maxDurationSec} s`);
    }
  }
  return null;
}

export class EnqueueRefusedError extends Error {
  constructor(readonly failure: JobFailure) {
    super(formatFailure(failure));
    this.name = 'EnqueueRefusedError';
  }
}

export interface EnqueueOptions {
  /** Default: jobIdFor(chatId, messageId) when messageId is given, else a random id. */
  jobId?: string;
  /** Refuse when the user already has this many jobs waiting or running (0 = no limit). */
  maxActivePerUser?: number;
  limits?: InputLimits;
  /** Overrides of DEFAULT_JOB_OPTIONS (e.g. tests use short backoffs). */
  jobOptions?: Omit<JobsOptions, 'jobId'>;
}

export interface EnqueueResult {
  jobId: string;
  /** False when a job with this id already existed (a double tap): nothing was added. */
  created: boolean;
  job: RenderJob;
}

const ACTIVE_STATES = ['waiting', 'active', 'delayed', 'prioritized', 'waiting-children'] as const;

/** Jobs of this user that are queued or running. Scans at most the first 1000 of those states. */
export async function activeJobsOf(queue: RenderQueue, userId: number): Promise<RenderJob[]> {
  const jobs = (await queue.getJobs([...ACTIVE_STATES], 0, 999)) as RenderJob[];
  return jobs.filter((j) => j?.data?.userId === userId);
}

/**
 * Validates and adds a job. Throws ZodError for malformed data, EnqueueRefusedError (with a JobFailure the bot can
 * translate: too_many_jobs, telegram_file_too_big, too_long, too_large) when it must not be queued.
 */
export async function enqueueJob(queue: RenderQueue, input: JobDataInput, opts: EnqueueOptions = {}): Promise<EnqueueResult> {
  const data = parseJobData({ requestedAt: new Date().toISOString(), ...input });
  const jobId = opts.jobId ?? (data.messageId ? jobIdFor(data.chatId, data.messageId) : `job-${randomUUID()}`);
  const existing = (await queue.getJob(jobId)) as RenderJob | undefined;
  if (existing) return { jobId, created: false, job: existing };
  if (opts.limits) {
    const refused = checkInputHints(data, opts.limits);
    if (refused) throw new EnqueueRefusedError(refused);
  }
  if (opts.maxActivePerUser && opts.maxActivePerUser > 0) {
    const active = await activeJobsOf(queue, data.userId);
    if (active.length >= opts.maxActivePerUser) {
      throw new EnqueueRefusedError(makeFailure('too_many_jobs', `user ${data.userId} has ${active.length} jobs in progress`));
    }
  }
  const job = await queue.add(RENDER_JOB_NAME, data, { ...DEFAULT_JOB_OPTIONS, ...opts.jobOptions, jobId });
  return { jobId, created: true, job };
}

export type CancelOutcome = 'removed' | 'cancelling' | 'finished' | 'not_found';

/**
 * Cancels a job: a queued one is removed at once; a running one is flagged and stops at its next check (within a
 * few seconds), failing with `pipeline:cancelled`. `redis` is a plain client on the same server as the queue.
 */
export async function cancelJob(p: Pick<PipelineHandle, 'queue' | 'redis'>, jobId: string): Promise<CancelOutcome> {
  const { queue, redis } = p;
  const job = (await queue.getJob(jobId)) as RenderJob | undefined;
  if (!job) return 'not_found';
  const state = await job.getState();
  if (state === 'completed' || state === 'failed') return 'finished';
  if (state === 'active') {
    await redis.set(pipelineKeys(queue.opts.prefix ?? 'bull').cancel(jobId), '1', 'EX', 24 * 3600);
    return 'cancelling';
  }
  try {
    await job.remove();
    return 'removed';
  } catch {
    // It became active between the two calls.
    await redis.set(pipelineKeys(queue.opts.prefix ?? 'bull').cancel(jobId), '1', 'EX', 24 * 3600);
    return 'cancelling';
  }
}

// ---- failures ----------------------------------------------------------------------------------------------------

/** Why a failed job failed (null while it has not failed). */
export function failureOfJob(job: Pick<Job, 'failedReason'>): JobFailure | null {
  return job.failedReason ? parseFailure(job.failedReason) : null;
}

/** The error a processor throws for a failure that retrying cannot fix; its message is the parseable reason. */
export function unrecoverable(failure: Pick<JobFailure, 'code' | 'message'>): UnrecoverableError {
  return new UnrecoverableError(formatFailure(failure));
}

export {
  formatFailure,
  parseFailure,
  makeFailure,
  MEDIA_FAILURE_CODES,
  PIPELINE_FAILURE_CODES,
  type FailureCode,
  type FailureCategory,
  type JobFailure,
} from './failures.js';
export { failureText, resultCaption } from './messages.js';
export { createRedis } from './redis.js';
export { approveResend, type ResendOutcome } from './worker/delivery-claim.js';
export { RESEND_CALLBACK_RE } from './worker/uncertain-notice.js';
export { PROCESSING_MODES, type ProcessingMode } from './config.js';
