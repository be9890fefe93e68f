import { mkdir, mkdtemp, readdir, rm, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { UnrecoverableError, Worker } from 'bullmq';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRenderQueue, RENDER_QUEUE, type RenderQueue } from '../contract.js';
import { pipelineKeys } from '../keys.js';
import { createRedis } from '../redis.js';
import { REDIS_URL } from '../test-support.js';
import { startWorkSweep, sweepWorkDir, type WorkSweepOptions } from './work-sweep.js';

/**
 * The work folder sweep against a real BullMQ queue (jobs really completed, failed, delayed and held active by a
 * real Worker) and real folders whose ages are set with utimes. No media, no ffmpeg: it runs in about a second.
 */
const HOUR = 3600_000;
const MAX_AGE = 48 * HOUR;
const log = pino({ level: 'silent' });

describe('work folder sweep', () => {
  const prefix = `bctest-sweep-${process.pid}-${Date.now().toString(36)}`;
  const redis = createRedis(REDIS_URL);
  let queue: RenderQueue;
  let worker: Worker;
  let root: string;
  let releaseHeld!: () => void;
  const held = new Promise<void>((resolve) => (releaseHeld = resolve));

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'bc-sweep-'));
    queue = createRenderQueue(redis, prefix);
    // Plain job names steer the outcome; the sweep only looks at the state, not at the job data.
    worker = new Worker(
      RENDER_QUEUE,
      async (job) => {
        if (job.id === 'failed-job') throw new UnrecoverableError('bad input');
        if (job.id === 'active-job') await held;
        return {};
      },
      { connection: createRedis(REDIS_URL), prefix, concurrency: 4 },
    );
    const add = (id: string, delay = 0) => queue.add('render', {} as never, { jobId: id, delay, attempts: 1 });
    await Promise.all([add('completed-job'), add('failed-job'), add('active-job'), add('parked-job'), add('young-job'), add('delayed-job', HOUR), add('delayed-ancient', HOUR)]);
    await waitFor(async () => (await queue.getJobState('active-job')) === 'active' && (await queue.getJobState('parked-job')) === 'completed');
    await waitFor(async () => (await queue.getJobState('completed-job')) === 'completed' && (await queue.getJobState('failed-job')) === 'failed');
  });
  afterAll(async () => {
    releaseHeld();
    await worker.close();
    await queue.obliterate({ force: true }).catch(() => undefined);
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length) await redis.del(...keys);
    await queue.close();
    await redis.quit();
    await rm(root, { recursive: true, force: true });
  });

  /** A job's folder as the worker names it (`<jobId>.<24 hex>`), last changed `ageMs` ago. */
  async function folder(dir: string, jobId: string, ageMs: number): Promise<string> {
    const name = `${jobId}.${'ab'.repeat(12)}`;
    await mkdir(join(dir, name, 'inner'), { recursive: true });
    const t = new Date(Date.now() - ageMs);
    await utimes(join(dir, name), t, t);
    return name;
  }

  const options = (dir: string, extra: Partial<WorkSweepOptions> = {}): WorkSweepOptions => ({
    workDir: dir,
    queue,
    r: { redis, prefix },
    maxAgeMs: MAX_AGE,
    log,
    ...extra,
  });

  it('removes folders of finished and vanished jobs and anything past the max age; keeps running, parked, young and waiting ones', async () => {
    const dir = join(root, 'one');
    await mkdir(dir);
    await redis.set(pipelineKeys(prefix).resendParked('parked-job'), 'claim', 'EX', 60);
    const gone = [
      await folder(dir, 'completed-job', 2 * HOUR),
      await folder(dir, 'failed-job', 2 * HOUR),
      await folder(dir, 'never-queued', 2 * HOUR), // its job was removed from the queue (or a worker died mid-way)
      await folder(dir, 'delayed-ancient', MAX_AGE + HOUR), // waiting for a retry, but older than any job may be
    ];
    const kept = [
      await folder(dir, 'active-job', MAX_AGE + HOUR), // running on some worker: never, whatever its age
      await folder(dir, 'parked-job', 2 * HOUR), // «Send again» resends the file in this folder
      await folder(dir, 'young-job', 10 * 60_000), // within the grace period
      await folder(dir, 'delayed-job', 2 * HOUR), // its retry resumes from the folder
      await folder(dir, 'running-here', 2 * HOUR), // not yet `active` in BullMQ, but this process runs it
    ];
    const removed = await sweepWorkDir(options(dir, { runningHere: () => ['running-here'] }));
    expect(removed.sort()).toEqual([...gone].sort());
    expect((await readdir(dir)).sort()).toEqual([...kept].sort());
  });

  it('runs at start and on its interval, and stop() ends it (the worker close path)', async () => {
    const dir = join(root, 'timer');
    await mkdir(dir);
    const first = await folder(dir, 'completed-job', 2 * HOUR);
    const sweep = startWorkSweep({ ...options(dir), intervalMs: 50 });
    await sweep.running();
    expect(await readdir(dir)).not.toContain(first);

    const second = await folder(dir, 'failed-job', 2 * HOUR);
    await waitFor(async () => !(await readdir(dir)).includes(second));

    sweep.stop();
    await sweep.running();
    const third = await folder(dir, 'never-queued', 2 * HOUR);
    await sleep(200); // four intervals: a live timer would have removed it
    expect(await readdir(dir)).toContain(third);
  });
});

async function waitFor(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await sleep(20);
  }
}
