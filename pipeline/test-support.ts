import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createTelegramApi } from '../common/telegram/api.js';
import type { Redis } from 'ioredis';
import { runFfmpeg } from '../common/ffmpeg.js';
import { logger as rootLogger, type Logger } from '../common/logger.js';
import { createGpuWorkerClient } from '../gpu-worker/client/index.js';
import { fixedReadings, type ReadingsSource } from '../shotstack/calibration/index.js';
import { createShotstackClient } from '../shotstack/client.js';
import { DEFAULT_READINGS, type RendererReadings } from '../shotstack/readings.js';
import { startLocalShotstack, type LocalShotstack } from '../shotstack/local/server.js';
import { startFakeTelegram, type FakeTelegram, type RegisteredFile } from '../testing/fake-telegram.js';
import { media, readFrames } from '../testing/media.js';
import { telegramLimits, type ProcessingMode } from './config.js';
import {
  createRedis,
  createRenderQueue,
  enqueueJob,
  type JobDataInput,
  type RenderJob,
  type RenderQueue,
  type TelegramInputRef,
} from './contract.js';
import type { RenderSettings } from './stages/layout.js';
import { startPipelineWorker, type PipelineWorker, type PipelineWorkerOptions } from './worker/worker.js';

/**
 * Shared by the pipeline's tests (not a test file): short inputs made with ffmpeg, a harness with the real worker,
 * real Redis (a unique prefix per test file), the local Shotstack renderer and the fake Telegram Bot API, and a
 * pixel check that the final video's bubble shows the speaker.
 */
export const BOT_TOKEN = '777000:pipeline-test-token-SECRET';

/** The worker's Bot API settings against a fake Telegram: the cloud Bot API's 20 MB download / 50 MB upload caps. */
export function telegramTestDeps(token: string, apiRoot: string) {
  return {
    // The production client and caps: the fake Bot API is as strict as Telegram (flood control, the HTML 413).
    api: createTelegramApi(token, { apiRoot }),
    token,
    apiRoot,
    downloadLimitBytes: telegramLimits(false).downloadBytes,
    uploadLimitBytes: telegramLimits(false).uploadBytes,
    downloadTimeoutMs: 30_000,
  };
}
export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

export interface TestClips {
  dir: string;
  /** 1.5 s of hopper_static (720×720, Grace Hopper perfectly still), with audio. */
  head: string;
  /** The head's ground-truth alpha (frame 0; the clip is static). */
  headAlpha: string;
  /** 1.5 s solid blue 640×360 with a tone: any change inside the bubble is the speaker. */
  background: string;
}

export const BACKGROUND_RGB: [number, number, number] = [0x20, 0x50, 0xc0];

export async function makeTestClips(dir: string): Promise<TestClips> {
  await mkdir(dir, { recursive: true });
  const head = join(dir, 'head.mp4');
  const background = join(dir, 'background.mp4');
  await runFfmpeg([
    '-i', media('hopper_static_720x720.mp4'), '-t', '1.5',
    '-c:v', 'libx264', '-preset', 'ultrafast', '-crf', '18', '-pix_fmt', 'yuv420p', '-c:a', 'aac', head,
  ]);
  await runFfmpeg([
    '-f', 'lavfi', '-i', 'color=c=0x2050c0:s=640x360:d=1.5:r=25',
    '-f', 'lavfi', '-i', 'sine=f=330:d=1.5',
    '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-shortest', background,
  ]);
  return { dir, head, headAlpha: media('hopper_static_720x720.alpha.mkv'), background };
}

export const TEST_SETTINGS: RenderSettings = {
  resolution: 'sd',
  fps: 25,
  overlayKind: 'luma',
  backgroundVolume: 0.25,
  maxDurationSec: 60,
  maxInputBytes: 200 * 1024 * 1024,
};

/** Short retries so a failing job finishes within a test. */
export const TEST_JOB_OPTIONS = { attempts: 2, backoff: { type: 'fixed', delay: 200 } } as const;

export interface HarnessWorkerOptions {
  mode?: ProcessingMode;
  gpu?: { url: string; token: string; deadlineMs?: number; idleTimeoutMs?: number } | null;
  logger?: Logger;
  shotstackMaxRetries?: number;
  /** The renderer's readings as the worker learns them; default: exactly what the local renderer emulates. */
  readings?: ReadingsSource;
  /** How long a job attempt waits for pending readings. */
  readingsWaitMs?: number;
  extra?: Partial<PipelineWorkerOptions>;
}

export interface Harness {
  prefix: string;
  tg: FakeTelegram;
  shotstack: LocalShotstack;
  redis: Redis;
  queue: RenderQueue;
  workDir: string;
  worker: PipelineWorker | null;
  startWorker(o?: HarnessWorkerOptions): Promise<PipelineWorker>;
  stopWorker(): Promise<void>;
  /** A Telegram reference to a local file, registered with the fake Bot API. */
  telegramRef(path: string, kind?: TelegramInputRef['kind']): TelegramInputRef;
  enqueue(input: Partial<JobDataInput> & Pick<JobDataInput, 'head'>, opts?: { jobId?: string; attempts?: number }): Promise<string>;
  waitFinished(jobId: string, timeoutMs?: number): Promise<{ state: 'completed' | 'failed'; job: RenderJob }>;
  close(): Promise<void>;
}

let chatCounter = 1000;

/** `emulate`: how the local renderer reads Edits (shotstack/readings.ts); default DEFAULT_READINGS. */
export async function startHarness(name: string, o: { emulate?: Partial<RendererReadings> } = {}): Promise<Harness> {
  const prefix = `bctest-${name}-${process.pid}-${Date.now().toString(36)}`;
  const workDir = await mkdtemp(join(tmpdir(), `pipeline-${name}-`));
  const tg = await startFakeTelegram({ token: BOT_TOKEN });
  const shotstack = await startLocalShotstack({ port: 0, logger: rootLogger, emulate: o.emulate });
  const emulated: RendererReadings = { ...DEFAULT_READINGS, ...o.emulate };
  const redis = createRedis(REDIS_URL);
  const queue = createRenderQueue(redis, prefix);
  const files = new Map<string, RegisteredFile>();

  const h: Harness = {
    prefix,
    tg,
    shotstack,
    redis,
    queue,
    workDir,
    worker: null,
    async startWorker(o: HarnessWorkerOptions = {}) {
      await h.stopWorker();
      const client = createShotstackClient({
        apiUrl: shotstack.url,
        env: 'stage',
        pollIntervalMs: 100,
        maxRetries: o.shotstackMaxRetries ?? 3,
        retryBaseDelayMs: 20,
        retryMaxDelayMs: 200,
      });
      h.worker = await startPipelineWorker({
        redisUrl: REDIS_URL,
        prefix,
        workDir: join(workDir, 'work'),
        concurrency: 1,
        envMode: o.mode ?? 'cpu',
        gpu: o.gpu
          ? createGpuWorkerClient({
              url: o.gpu.url,
              token: o.gpu.token,
              deadlineMs: o.gpu.deadlineMs ?? 20_000,
              idleTimeoutMs: o.gpu.idleTimeoutMs ?? 2000,
              submitAttempts: 2,
            })
          : null,
        gpuHost: o.gpu ? new URL(o.gpu.url).host : null,
        gpuHealthIntervalMs: 60_000,
        telegram: telegramTestDeps(BOT_TOKEN, tg.apiRoot),
        renderer: {
          client,
          id: shotstack.url,
          isLocal: true,
          readings: o.readings ?? fixedReadings(emulated, 'local'),
          readingsWaitMs: o.readingsWaitMs,
          discardRender: (id) => shotstack.discardRender(id),
        },
        settings: TEST_SETTINGS,
        allowLocalInputs: true,
        lockDurationMs: 30_000,
        stalledIntervalMs: 30_000,
        maxStalledCount: 1,
        shutdownGraceMs: 0,
        heartbeatIntervalMs: 500,
        stateTtlSec: 3600,
        logger: o.logger,
        ...o.extra,
      });
      return h.worker;
    },
    async stopWorker() {
      await h.worker?.close();
      h.worker = null;
    },
    telegramRef(path, kind = 'video') {
      let f = files.get(path);
      if (!f) {
        f = tg.registerFile(path);
        files.set(path, f);
      }
      return { source: 'telegram', fileId: f.file_id, fileUniqueId: f.file_unique_id, kind, sizeBytes: f.file_size };
    },
    async enqueue(input, opts = {}) {
      const chatId = input.chatId ?? ++chatCounter;
      const { jobId } = await enqueueJob(
        queue,
        { chatId, userId: input.userId ?? chatId, messageId: input.messageId ?? 1, language: 'en', options: { resolution: 'sd' }, ...input },
        { jobId: opts.jobId, jobOptions: { ...TEST_JOB_OPTIONS, ...(opts.attempts ? { attempts: opts.attempts } : {}) } },
      );
      return jobId;
    },
    async waitFinished(jobId, timeoutMs = 90_000) {
      const end = Date.now() + timeoutMs;
      for (;;) {
        // State first, then the job: a job read before its state turned final would carry stale fields (attemptsMade).
        const state = await queue.getJobState(jobId);
        if (state === 'completed' || state === 'failed') {
          const job = (await queue.getJob(jobId)) as RenderJob | undefined;
          if (job) return { state, job };
        }
        if (Date.now() > end) throw new Error(`job ${jobId} still ${state} after ${timeoutMs} ms`);
        await sleep(100);
      }
    },
    async close() {
      await h.stopWorker();
      await queue.obliterate({ force: true }).catch(() => undefined);
      const keys = await redis.keys(`${prefix}:*`);
      if (keys.length) await redis.del(...keys);
      await queue.close();
      await redis.quit();
      await tg.close();
      await shotstack.close();
      await rm(workDir, { recursive: true, force: true });
    },
  };
  return h;
}

export interface BubbleCheck {
  /** Mean |final − speaker| over points where the ground truth says "person" (small = the speaker is there). */
  personVsHead: number;
  /** Mean |final − background| over the same points (large = the speaker, not the background). */
  personVsBackground: number;
  /** Mean |final − background| over points outside the bubble (small = background untouched). */
  outsideVsBackground: number;
  personPoints: number;
}

/**
 * Compares one frame of the final video with the speaker and the background. The bubble square is known from the
 * layout (top-left x,y and side); inside it, only points well within the circle and where the ground-truth alpha
 * is solid are compared, so the soft edges and the exact circle radius do not matter.
 */
export async function checkBubble(
  finalPath: string,
  clips: TestClips,
  layout: { width: number; height: number; x: number; y: number; side: number },
  frame = 10,
): Promise<BubbleCheck> {
  const { width: W, height: H, side } = layout;
  const x0 = Math.round(layout.x);
  const y0 = Math.round(layout.y);
  const final = await readFrames(finalPath, { pixFmt: 'rgb24', from: frame, count: 1 });
  if (final.length !== W * H * 3) throw new Error(`final frame is ${final.length} bytes, expected ${W}x${H}`);
  const headScaled = join(clips.dir, `head-${side}.rgb`);
  await runFfmpeg(['-i', clips.head, '-frames:v', '1', '-vf', `scale=${side}:${side}:flags=bicubic`, '-f', 'rawvideo', '-pix_fmt', 'rgb24', headScaled]);
  const head = await readFile(headScaled);
  const alpha = await readFrames(clips.headAlpha, { pixFmt: 'gray', from: 0, count: 1 });
  const alphaAt = (bx: number, by: number) => alpha[Math.floor((by / side) * 720) * 720 + Math.floor((bx / side) * 720)]!;
  const px = (buf: Buffer, i: number) => [buf[i]!, buf[i + 1]!, buf[i + 2]!];
  const diff = (a: number[], b: number[]) => (Math.abs(a[0]! - b[0]!) + Math.abs(a[1]! - b[1]!) + Math.abs(a[2]! - b[2]!)) / 3;
  let personVsHead = 0;
  let personVsBackground = 0;
  let n = 0;
  const r = side / 2;
  for (let by = 2; by < side - 2; by += 3) {
    for (let bx = 2; bx < side - 2; bx += 3) {
      if (Math.hypot(bx - r, by - r) > r * 0.8 || alphaAt(bx, by) < 250) continue;
      const f = px(final, ((y0 + by) * W + (x0 + bx)) * 3);
      personVsHead += diff(f, px(head, (by * side + bx) * 3));
      personVsBackground += diff(f, BACKGROUND_RGB);
      n++;
    }
  }
  let outside = 0;
  let m = 0;
  for (let y = 4; y < H; y += 16) {
    for (let x = 4; x < W; x += 16) {
      if (x > x0 - 8 && x < x0 + side + 8 && y > y0 - 8 && y < y0 + side + 8) continue;
      outside += diff(px(final, (y * W + x) * 3), BACKGROUND_RGB);
      m++;
    }
  }
  return { personVsHead: personVsHead / n, personVsBackground: personVsBackground / n, outsideVsBackground: outside / m, personPoints: n };
}
