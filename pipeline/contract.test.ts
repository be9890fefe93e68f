import { UnrecoverableError } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ZodError } from 'zod';
import { getQueueOverview, pauseQueue, resumeQueue } from './admin.js';
import {
  cancelJob,
  checkInputHints,
  createRedis,
  createRenderQueue,
  DEFAULT_JOB_OPTIONS,
  enqueueJob,
  EnqueueRefusedError,
  failureOfJob,
  formatFailure,
  jobIdFor,
  makeFailure,
  parseFailure,
  parseJobData,
  parseProgress,
  unrecoverable,
  type JobDataInput,
  type RenderQueue,
} from './contract.js';
import { pipelineKeys } from './keys.js';
import { getEffectiveMode, setModeOverride } from './mode.js';
import { ProgressTracker } from './stages/progress.js';
import type { JobProgress } from './contract.js';
import type { Redis } from 'ioredis';

const ref = (id: string) => ({ source: 'telegram' as const, fileId: `AgAC${id}xyz`, fileUniqueId: `u${id}abc`, kind: 'video' as const });

describe('job data schema', () => {
  it('fills defaults and requires a background for video output', () => {
    const d = parseJobData({ chatId: 1, userId: 2, head: ref('a'), background: ref('b') });
    expect(d).toMatchObject({ v: 1, language: 'en', output: 'video', failureNotice: 'worker', options: { shape: 'circle', position: 'bottomRight', size: 'M', engine: 'fast', aspect: '9:16' } });
    expect(() => parseJobData({ chatId: 1, userId: 2, head: ref('a') })).toThrow(ZodError);
    expect(parseJobData({ chatId: 1, userId: 2, head: ref('a'), output: 'note' }).background).toBeNull();
  });

  it('refuses file URLs (they carry the bot token) and unknown fields', () => {
    const url = 'https://api.telegram.org/file/bot123:SECRET/videos/file_1.mp4';
    expect(() => parseJobData({ chatId: 1, userId: 2, output: 'note', head: { ...ref('a'), fileId: url } })).toThrow(ZodError);
    expect(() => parseJobData({ chatId: 1, userId: 2, output: 'note', head: { source: 'local', path: url } })).toThrow(ZodError);
    expect(() => parseJobData({ chatId: 1, userId: 2, output: 'note', head: { source: 'url', url } })).toThrow(ZodError);
    expect(() => parseJobData({ chatId: 1, userId: 2, output: 'note', head: ref('a'), token: 'x' })).toThrow(ZodError);
  });
});

describe('job ids, failures, progress', () => {
  it('derives BullMQ-safe ids from chat and message (no ":" and never an integer string)', () => {
    for (const [chat, msg] of [[42, 7], [-1001234567890, 1], [0, 0]] as const) {
      const id = jobIdFor(chat, msg);
      expect(id).not.toContain(':');
      expect(/^\d+$/.test(id)).toBe(false);
      expect(jobIdFor(chat, msg)).toBe(id);
    }
    expect(jobIdFor(1, 23)).not.toBe(jobIdFor(12, 3));
  });

  it('round-trips failure reasons, reads the stalled limit as interrupted and other foreign ones as internal', () => {
    const f = makeFailure('too_long', 'The video lasts 200.0 s; the limit is 180 s.');
    expect(formatFailure(f)).toBe('media:too_long: The video lasts 200.0 s; the limit is 180 s.');
    expect(parseFailure(formatFailure(f))).toEqual(f);
    expect(parseFailure('pipeline:render_failed: Asset: 404')).toMatchObject({ category: 'pipeline', code: 'render_failed', userFixable: false });
    expect(parseFailure('job stalled more than allowable limit')).toMatchObject({ code: 'interrupted', message: 'job stalled more than allowable limit', userFixable: false });
    expect(parseFailure('job started more than allowable limit')).toMatchObject({ code: 'internal', message: 'job started more than allowable limit' });
    expect(parseFailure('media:render_failed: wrong category')).toMatchObject({ code: 'internal' });
    const err = unrecoverable(makeFailure('no_person', 'nobody'));
    expect(err).toBeInstanceOf(UnrecoverableError);
    expect(failureOfJob({ failedReason: err.message })).toMatchObject({ category: 'media', code: 'no_person', userFixable: true });
  });

  it('parses progress and keeps it monotonic with throttling', async () => {
    expect(parseProgress({ stage: 'render', percent: 40, eta: 12 })).toEqual({ stage: 'render', percent: 40, eta: 12 });
    expect(parseProgress(42)).toBeNull();
    const seen: JobProgress[] = [];
    const t = new ProgressTracker('video', (p) => void seen.push(p), 0);
    t.update('fetch', 1);
    t.update('overlay', 0.5);
    t.update('render', 0);
    t.update('overlay', 0.2); // a late report of an earlier stage never moves the bar back
    t.update('deliver', 1);
    await t.flush();
    const percents = seen.map((p) => p.percent);
    expect([...percents].sort((a, b) => a - b)).toEqual(percents);
    expect(seen.at(-1)).toMatchObject({ stage: 'deliver', percent: 100 });
  });

  it('refuses inputs from Telegram metadata before enqueueing', () => {
    const limits = { maxDurationSec: 180, maxBytes: 200e6, telegramDownloadBytes: 20 * 1024 * 1024 };
    const base = { chatId: 1, userId: 1, output: 'note' as const };
    expect(checkInputHints(parseJobData({ ...base, head: { ...ref('a'), sizeBytes: 21 * 1024 * 1024 } }), limits)?.code).toBe('telegram_file_too_big');
    expect(checkInputHints(parseJobData({ ...base, head: { ...ref('a'), durationSec: 200 } }), limits)?.code).toBe('too_long');
    expect(checkInputHints(parseJobData({ ...base, head: { ...ref('a'), sizeBytes: 1000, durationSec: 10 } }), limits)).toBeNull();
  });
});

describe('enqueue, cancel, pause and mode (real Redis)', () => {
  let redis: Redis;
  let queue: RenderQueue;
  const prefix = `bctest-contract-${process.pid}-${Date.now().toString(36)}`;

  beforeAll(async () => {
    redis = createRedis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
    queue = createRenderQueue(redis, prefix);
    await queue.pause(); // nothing consumes here: jobs stay queued
  });
  afterAll(async () => {
    await queue.obliterate({ force: true });
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length) await redis.del(...keys);
    await queue.close();
    await redis.quit();
  });

  const data = (userId: number, messageId: number): JobDataInput => ({ chatId: userId, userId, messageId, head: ref('h'), background: ref('b') });

  it('adds one job per (chat, message): a double tap is a no-op', async () => {
    const a = await enqueueJob(queue, data(10, 1));
    const b = await enqueueJob(queue, data(10, 1));
    expect(a).toMatchObject({ jobId: jobIdFor(10, 1), created: true });
    expect(b).toMatchObject({ jobId: jobIdFor(10, 1), created: false });
    expect(a.job.opts).toMatchObject({ attempts: DEFAULT_JOB_OPTIONS.attempts, backoff: DEFAULT_JOB_OPTIONS.backoff });
    expect((await queue.getJobs(['waiting'])).filter((j) => j.data.userId === 10)).toHaveLength(1);
  });

  it('limits active jobs per user, with a translatable refusal', async () => {
    await enqueueJob(queue, data(20, 1), { maxActivePerUser: 2 });
    await enqueueJob(queue, data(20, 2), { maxActivePerUser: 2 });
    const err = await enqueueJob(queue, data(20, 3), { maxActivePerUser: 2 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EnqueueRefusedError);
    expect((err as EnqueueRefusedError).failure).toMatchObject({ code: 'too_many_jobs', userFixable: true });
    await enqueueJob(queue, data(21, 1), { maxActivePerUser: 2 }); // another user is not affected
  });

  it('cancels a queued job by removing it, and flags unknown ones as not found', async () => {
    const { jobId } = await enqueueJob(queue, data(30, 1));
    expect(await cancelJob({ queue, redis }, jobId)).toBe('removed');
    expect(await queue.getJob(jobId)).toBeUndefined();
    expect(await cancelJob({ queue, redis }, 'nope-1')).toBe('not_found');
  });

  it('pauses and resumes through the admin wrappers', async () => {
    await resumeQueue({ queue });
    expect((await getQueueOverview({ queue })).paused).toBe(false);
    await pauseQueue({ queue });
    const o = await getQueueOverview({ queue });
    expect(o.paused).toBe(true);
    expect(o.counts.waiting).toBeGreaterThanOrEqual(3);
  });

  it('lets an admin override the processing mode at run time', async () => {
    const r = { redis, prefix };
    expect(await getEffectiveMode(r, 'auto')).toMatchObject({ mode: 'auto', source: 'env' });
    await setModeOverride(r, 'cpu', 99);
    expect(await getEffectiveMode(r, 'auto')).toMatchObject({ mode: 'cpu', source: 'override', override: { by: 99 } });
    await setModeOverride(r, null);
    expect(await getEffectiveMode(r, 'gpu')).toMatchObject({ mode: 'gpu', source: 'env' });
    expect(await redis.exists(pipelineKeys(prefix).modeOverride)).toBe(0);
  });
});
