import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisCalibrationStore } from '../../shotstack/calibration/store.js';
import { DEFAULT_READINGS } from '../../shotstack/readings.js';
import { media, needSharedMedia } from '../../testing/media.js';
import { setMode } from '../admin.js';
import { DEFAULT_JOB_OPTIONS, RENDER_QUEUE } from '../contract.js';
import { pipelineKeys } from '../keys.js';
import { makeTestClips, startHarness, type Harness, type TestClips } from '../test-support.js';

/**
 * Retention: after real jobs (one delivered, one failed for good) every Redis key under the test's prefix expires,
 * except BullMQ's own (bounded by removeOnComplete/removeOnFail, checked on the job) and the counters hash (one
 * field per code: documented in keys.ts). The scan runs while the worker is still up, so its heartbeat is in it.
 */
describe.skipIf(!needSharedMedia())('retention of a job run', () => {
  let h: Harness;
  let clips: TestClips;

  beforeAll(async () => {
    h = await startHarness('retention');
    clips = await makeTestClips(join(h.workDir, 'clips'));
    await h.startWorker({ mode: 'cpu' });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('a delivered job leaves no work folder; every key the app wrote has a TTL but the documented exceptions', async () => {
    await setMode(h, 'cpu', 1); // the admin's override, read by the worker's heartbeat
    const okId = await h.enqueue({ head: h.telegramRef(clips.head, 'video_note'), output: 'overlay', background: null, options: { size: 'S', resolution: 'sd' } });
    const badId = await h.enqueue({ head: h.telegramRef(media('bad/not_video.mp4'), 'document'), output: 'overlay', background: null });
    const ok = await h.waitFinished(okId);
    expect(ok.state, ok.job.failedReason).toBe('completed');
    expect((await h.waitFinished(badId)).state).toBe('failed');

    // The delivered job's folder went with the delivery; the failed job's on its final failure.
    expect(await readdir(join(h.workDir, 'work'))).toEqual([]);
    // BullMQ's keys: bounded by the job options, not TTLs.
    expect(ok.job.opts).toMatchObject({ removeOnComplete: DEFAULT_JOB_OPTIONS.removeOnComplete, removeOnFail: DEFAULT_JOB_OPTIONS.removeOnFail });

    const keys = pipelineKeys(h.prefix);
    const written = await appKeys(h.redis, h.prefix);
    // The scan saw what the run writes (else "all have a TTL" would hold vacuously).
    for (const k of [keys.state(okId), keys.delivered(okId), keys.deliveryClaim(okId), keys.workFolder(okId), keys.failureCounted(badId), keys.failureNotified(badId), keys.modeOverride, keys.workers]) {
      expect(written).toContain(k);
    }
    expect(written.some((k) => k.startsWith(`${h.prefix}:bubblecast:heartbeat:`))).toBe(true);
    expect(await withoutTtl(h.redis, written)).toEqual([keys.counters]);
  });

  it('calibration readings, failure, lock and published status all expire', async () => {
    const store = redisCalibrationStore(h.redis, h.prefix, 'key1');
    await store.saveReadings({ readings: DEFAULT_READINGS, at: new Date().toISOString(), schemaVersion: 't' });
    await store.publish({ state: 'known', origin: 'calibrated' });
    await store.saveFailure({ attempt: 1, error: 'x', at: new Date().toISOString(), nextTryAt: new Date().toISOString() });
    const lock = await store.tryLock(60_000);
    const written = (await appKeys(h.redis, h.prefix)).filter((k) => k.includes(':shotstack:'));
    expect(written).toHaveLength(4);
    expect(await withoutTtl(h.redis, written)).toEqual([]);
    await lock?.release();
  });
});

/** Every key under the prefix but BullMQ's (`<prefix>:<queue>:*`). */
async function appKeys(redis: Redis, prefix: string): Promise<string[]> {
  const all = await redis.keys(`${prefix}:*`);
  return all.filter((k) => !k.startsWith(`${prefix}:${RENDER_QUEUE}:`)).sort();
}

async function withoutTtl(redis: Redis, keys: string[]): Promise<string[]> {
  const ttls = await Promise.all(keys.map((k) => redis.pttl(k)));
  return keys.filter((_, i) => ttls[i]! <= 0);
}
