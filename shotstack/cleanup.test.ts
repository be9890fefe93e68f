import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { makeCircleMatte, makeSolidVideo, makeTempDir } from '../testing/shotstack-media.js';
import { createRedis } from '../pipeline/redis.js';
import { createShotstackCleanup, sourceIdFromUrl, sourceIdsOfEdit } from './cleanup.js';
import { createShotstackClient, type ShotstackClient } from './client.js';
import { memoryDeletionSchedule, redisDeletionSchedule } from './deletion-schedule.js';
import { startLocalShotstack, type LocalShotstack } from './local/server.js';
import type { Edit } from './types.js';

/**
 * What a job leaves on Shotstack, removed after it has its file: the pipeline's steps (ingest the three sources,
 * render, download) against the local renderer over HTTP, then the cleanup, with its schedule in real Redis.
 */
const KEY = 'cleanup-key';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = `bctest-cleanup-${process.pid}-${Date.now().toString(36)}`;
const scheduleKey = `${prefix}:bubblecast:shotstack:deletions:test`;
const HOUR = 3_600_000;
let server: LocalShotstack;
let tmp: { dir: string; cleanup: () => Promise<void> };
let files: string[];
const redis = [createRedis(REDIS_URL), createRedis(REDIS_URL)];

const client = (): ShotstackClient =>
  createShotstackClient({ apiUrl: server.url, apiKey: KEY, env: 'stage', pollIntervalMs: 25, maxRetries: 0, retryBaseDelayMs: 5 });

/** The bubble's shape: a colour clip masked by a luma matte, over the background. */
function bubbleLikeEdit(bg: string, color: string, matte: string): Edit {
  return {
    timeline: {
      tracks: [
        { clips: [{ asset: { type: 'video', src: color }, start: 0, length: 0.5, fit: 'none' }, { asset: { type: 'luma', src: matte }, start: 0, length: 0.5, fit: 'none' }] },
        { clips: [{ asset: { type: 'video', src: bg }, start: 0, length: 0.5 }] },
      ],
    },
    output: { format: 'mp4', size: { width: 96, height: 64 }, fps: 25 },
  };
}

/** ingest → render → download, as the render stage does; returns the render and its source ids. */
async function renderAndDownload(c: ShotstackClient): Promise<{ renderId: string; sourceIds: string[] }> {
  const [bg, color, matte] = await Promise.all(files.map((f) => c.ingest(f)));
  const renderId = await c.submitRender(bubbleLikeEdit(bg!.src, color!.src, matte!.src));
  const done = await c.waitForRender(renderId);
  await c.downloadTo(done.url, join(tmp.dir, `${renderId}.mp4`));
  return { renderId, sourceIds: [bg!.id, color!.id, matte!.id] };
}

async function expectSourcesGone(c: ShotstackClient, ids: string[]): Promise<void> {
  for (const id of ids) await expect(c.getSource(id)).rejects.toMatchObject({ status: 404 });
  // Nothing of the users' videos is left on the renderer's disk.
  expect(await readdir(join(server.dataDir, 'sources'))).toEqual([]);
}

beforeAll(async () => {
  tmp = await makeTempDir();
  files = [
    await makeSolidVideo(join(tmp.dir, 'bg.mp4'), { color: 'blue', width: 96, height: 64, durationSec: 0.5, audio: false }),
    await makeSolidVideo(join(tmp.dir, 'color.mp4'), { color: 'red', width: 32, height: 32, durationSec: 0.5, audio: false }),
    await makeCircleMatte(join(tmp.dir, 'matte.mp4'), { size: 32, durationSec: 0.5 }),
  ];
  server = await startLocalShotstack({ apiKey: KEY });
});

afterAll(async () => {
  await server?.close();
  await tmp?.cleanup();
  await redis[0]!.del(scheduleKey);
  await Promise.all(redis.map((r) => r.quit()));
});

afterEach(() => server.clearFaults());

describe('Shotstack cleanup after the download', () => {
  it('deletes the sources at once and the hosted render after the retention, from any worker', async () => {
    const c = client();
    const t0 = Date.now();
    const schedule = redisDeletionSchedule(redis[0]!, scheduleKey);
    const cleanup = createShotstackCleanup({ client: c, schedule, retentionMs: HOUR, now: () => t0 });
    const { renderId, sourceIds } = await renderAndDownload(c);

    await cleanup.afterDownload(renderId);
    await cleanup.settled();
    await expectSourcesGone(c, sourceIds);
    // The hosted copy stays for the retention: it backs the download link.
    expect(await c.getHostedUrl(renderId)).toMatch(/\.mp4$/);
    expect(await schedule.pending()).toEqual([{ kind: 'render', renderId, dueMs: t0 + HOUR }]);
    expect(await cleanup.sweep()).toBe(0);

    // Another worker (its own connection, as after a restart) sweeps once the retention has passed.
    const later = createShotstackCleanup({ client: client(), schedule: redisDeletionSchedule(redis[1]!, scheduleKey), retentionMs: HOUR, now: () => t0 + HOUR });
    expect(await later.sweep()).toBe(1);
    await expect(c.getHostedUrl(renderId)).rejects.toMatchObject({ status: 404 });
    expect(await schedule.pending()).toEqual([]);
    expect(await readdir(join(server.dataDir, 'renders'))).toEqual([]);
  });

  it('with a retention of 0 deletes the hosted render at once too', async () => {
    const c = client();
    const schedule = memoryDeletionSchedule();
    const cleanup = createShotstackCleanup({ client: c, schedule, retentionMs: 0 });
    const { renderId, sourceIds } = await renderAndDownload(c);
    await cleanup.afterDownload(renderId);
    await cleanup.settled();
    await expectSourcesGone(c, sourceIds);
    await expect(c.getHostedUrl(renderId)).rejects.toMatchObject({ status: 404 });
    expect(await schedule.pending()).toEqual([]);
  });

  it('a deletion that failed stays scheduled and a later sweep finishes it, sources before the hosted copy', async () => {
    const c = client();
    let now = Date.now();
    const schedule = memoryDeletionSchedule();
    const cleanup = createShotstackCleanup({ client: c, schedule, retentionMs: 0, leaseMs: 60_000, now: () => now });
    const { renderId, sourceIds } = await renderAndDownload(c);

    server.injectFaults({ respond: [{ route: 'ingest', method: 'DELETE', status: 503, count: 1 }] });
    await cleanup.afterDownload(renderId);
    await cleanup.settled();
    // The sources failed (503, no retries here), so the hosted copy was left for later too.
    expect((await schedule.pending()).map((d) => d.kind).sort()).toEqual(['render', 'sources']);
    expect(await c.getHostedUrl(renderId)).toMatch(/\.mp4$/);
    expect(await cleanup.sweep()).toBe(0); // claimed by the failed run: not due before its lease ends

    now += 60_000;
    expect(await cleanup.sweep()).toBe(2);
    await expectSourcesGone(c, sourceIds);
    await expect(c.getHostedUrl(renderId)).rejects.toMatchObject({ status: 404 });
  });

  it('flush runs every scheduled deletion now (an in-memory schedule about to be lost)', async () => {
    const c = client();
    const schedule = memoryDeletionSchedule();
    const cleanup = createShotstackCleanup({ client: c, schedule, retentionMs: HOUR });
    const { renderId, sourceIds } = await renderAndDownload(c);
    await cleanup.afterDownload(renderId);
    expect(await cleanup.flush()).toBe(1);
    await expectSourcesGone(c, sourceIds);
    await expect(c.getHostedUrl(renderId)).rejects.toMatchObject({ status: 404 });
  });
});

describe('source ids', () => {
  it('are read from ingested source URLs (Shotstack’s and the local renderer’s), nothing else', () => {
    const shotstack = 'https://shotstack-ingest-api-v1-sources.s3.ap-southeast-2.amazonaws.com/5ca6hu7s9k/zzytey4v-32km-kq1z-aftr-3kcuqi0brad2/source.mp4';
    expect(sourceIdFromUrl(shotstack)).toBe('zzytey4v-32km-kq1z-aftr-3kcuqi0brad2');
    expect(sourceIdFromUrl('http://127.0.0.1:4550/assets/sources/0b7c6a43-3f1e-4a43-9a52-5d0c1f9e2b11/source.mp4')).toBe(
      '0b7c6a43-3f1e-4a43-9a52-5d0c1f9e2b11',
    );
    expect(sourceIdFromUrl('https://example.com/videos/clip.mp4')).toBeNull();
    expect(sourceIdFromUrl('not a url')).toBeNull();
    const edit = bubbleLikeEdit(shotstack, shotstack, 'https://example.com/m.mp4');
    expect(sourceIdsOfEdit(edit)).toEqual(['zzytey4v-32km-kq1z-aftr-3kcuqi0brad2']);
    expect(sourceIdsOfEdit(undefined)).toEqual([]);
  });
});
