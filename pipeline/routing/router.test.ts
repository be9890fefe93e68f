import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { routingErrorText } from '../../bot/admin/format.js';
import { t } from '../../bot/i18n/index.js';
import { logger } from '../../common/logger.js';
import { GpuWorkerError, type GpuWorkerClient, type GpuWorkerResult, type HealthBody } from '../../gpu-worker/client/index.js';
import { createRedis, createRenderQueue, type RenderQueue } from '../contract.js';
import { createGpuPool, type GpuPool } from '../gpu-pool.js';
import { readOperatorNumbers } from '../operator-numbers.js';
import { createOverlayProducer, type CpuEngine, type OverlayRequest } from '../stages/overlay.js';
import { REDIS_URL } from '../test-support.js';
import { readEstimateErrors, recordEstimateError } from './error-store.js';
import { memoryFpsStore, redisFpsStore } from './fps-store.js';
import { routingKeys } from './keys.js';
import { createRouter } from './router.js';
import { DEFAULT_ROUTING, type RoutingSettings } from './settings.js';

/**
 * The router inside the overlay stage, with fake engines (CPU and GPU answer at once, so the choice is the only
 * thing under test) and real Redis under a unique prefix: where auto mode sends a job, what it records, what it
 * learns, and what /stats shows of it.
 */
const SETTINGS: RoutingSettings = {
  ...DEFAULT_ROUTING,
  cpuFpsSeed: { fast: 40, quality: 0.4 },
  gpuFpsSeed: { fast: 200, quality: 10 },
  gpuColdStartSec: 60,
  gpuIdleWarmSec: 240,
  gpuTransferMbps: 100,
  jobStartSec: 0,
  hostClass: 'test-class',
};

describe('auto mode routing through the overlay stage', () => {
  let redis: Redis;
  let queue: RenderQueue;
  let dir: string;
  const prefix = `bctest-routing-${process.pid}-${Date.now().toString(36)}`;
  const calls: string[] = [];

  const fakeCpu: CpuEngine = {
    parseOverlayOptions: (o) => o as never,
    renderOverlay: async (_input, outDir) => {
      calls.push('cpu');
      return { files: { 'note.mp4': join(outDir, 'note.mp4') }, provider: 'cpu', durationSec: 4, width: 64, height: 64 } as never;
    },
  };
  const health: HealthBody = {
    status: 'ok',
    ready: true,
    version: 't',
    uptimeSec: 100,
    provider: 'cuda',
    gpuName: 'T',
    providersRequested: ['cuda'],
    models: [],
    jobs: { running: 0, queued: 0, concurrency: 1, queueDepth: 8 },
  };
  const fakeGpu = (fail?: Error): GpuWorkerClient => ({
    process: async (_i, _o, p) => {
      calls.push('gpu');
      if (fail) throw fail;
      const r: Partial<GpuWorkerResult> = {
        files: { 'note.mp4': join(p.outDir, 'note.mp4') },
        provider: 'cuda',
        fps: 250,
        frames: 100,
        durationSec: 4,
        width: 64,
        height: 64,
        timings: { submitMs: 10, queuedMs: 0, runMs: 500, downloadMs: 10, totalMs: 520, perFrame: null },
      };
      return r as GpuWorkerResult;
    },
    health: async () => health,
  });
  const poolOf = (client: GpuWorkerClient): GpuPool => createGpuPool([{ host: 'gpu-a:443', client }], { logger });
  const req = (durationSec: number, engine: 'fast' | 'quality' = 'fast'): OverlayRequest => ({
    input: '/in.mp4',
    durationSec,
    fps: 25,
    inputBytes: 5_000_000,
    outDir: join(dir, `o${calls.length}`),
    options: {},
    engine,
    onProgress: () => undefined,
    signal: new AbortController().signal,
    log: logger,
  });
  const producer = (gpu: GpuPool | null, fps = memoryFpsStore()) =>
    createOverlayProducer({
      mode: async () => 'auto',
      gpu,
      cpu: async () => fakeCpu,
      router: createRouter({ settings: SETTINGS, fps, errors: { redis, prefix }, gpuStates: () => gpu?.states() ?? null }),
    });

  beforeAll(async () => {
    redis = createRedis(REDIS_URL);
    queue = createRenderQueue(redis, prefix);
    dir = await mkdtemp(join(tmpdir(), 'pipeline-routing-'));
  });
  afterAll(async () => {
    await queue.obliterate({ force: true }).catch(() => undefined);
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length) await redis.del(...keys);
    await queue.close();
    await redis.quit();
    await rm(dir, { recursive: true, force: true });
  });

  it('a short clip with a cold GPU goes to the CPU; a long one, or once the GPU is warm, to the GPU', async () => {
    calls.length = 0;
    const pool = poolOf(fakeGpu());
    // The fake engines answer at once: what they would teach the store is not real, so this router keeps its seeds.
    const produce = producer(pool, { read: async () => null, record: async () => undefined });
    const short = await produce(req(4));
    expect(calls).toEqual(['cpu']);
    expect(short.record).toMatchObject({ path: 'cpu', mode: 'auto', fallbackReason: 'routed:cpu_sooner' });
    expect(short.routing).toMatchObject({ chosen: 'cpu', reason: 'cpu_sooner', gpuHost: 'gpu-a:443', gpuWarm: false, ran: 'cpu' });
    expect(short.routing!.estimates.cpuSec).toBeCloseTo(2.5);
    expect(short.routing!.estimates.gpuSec!).toBeGreaterThan(60);
    expect(short.routing!.actualSec).toBeGreaterThanOrEqual(0);
    expect(short.routing!.errorPct).toBeGreaterThanOrEqual(0);

    const long = await produce(req(180));
    expect(long.record).toMatchObject({ path: 'gpu', fallbackReason: null, gpuHost: 'gpu-a:443' });
    expect(long.routing).toMatchObject({ chosen: 'gpu', reason: 'gpu_sooner', ran: 'gpu' });

    // The long job just finished there: warm now, so the short clip goes to the GPU too.
    const again = await produce(req(4));
    expect(again.routing).toMatchObject({ chosen: 'gpu', gpuWarm: true, ran: 'gpu' });
    expect(calls).toEqual(['cpu', 'gpu', 'gpu']);
  });

  it('a health check that answers ok makes the GPU warm', async () => {
    calls.length = 0;
    const pool = poolOf(fakeGpu());
    await pool.checkAll(1000);
    expect((await producer(pool)(req(4))).routing).toMatchObject({ chosen: 'gpu', gpuWarm: true });
  });

  it('quality prefers the GPU unless it is much worse', async () => {
    calls.length = 0;
    const pool = poolOf(fakeGpu());
    // Cold: 60 s + against ≈ 2.5 s of the fast stand-in on the CPU: far over 3× → CPU.
    expect((await producer(pool)(req(4, 'quality'))).routing).toMatchObject({ chosen: 'cpu', reason: 'gpu_much_slower' });
    await pool.checkAll(1000);
    // Warm: 100 frames at 10 fps ≈ 10.8 s against 2.5 s: slower, within 5× → GPU.
    const r = await createOverlayProducer({
      mode: async () => 'auto',
      gpu: pool,
      cpu: async () => fakeCpu,
      router: createRouter({ settings: { ...SETTINGS, qualityGpuFactor: 5 }, fps: memoryFpsStore(), errors: null, gpuStates: () => pool.states() }),
    })(req(4, 'quality'));
    expect(r.routing).toMatchObject({ chosen: 'gpu', reason: 'quality_prefers_gpu', ran: 'gpu' });
  });

  it('the GPU chosen and failing still falls back to the CPU with the reason; the error is scored on the CPU estimate', async () => {
    calls.length = 0;
    const pool = poolOf(fakeGpu(new GpuWorkerError('unavailable', 'connection_failed', 'down')));
    await pool.checkAll(1000);
    const out = await producer(pool)(req(60));
    expect(calls).toEqual(['gpu', 'cpu']);
    expect(out.record).toMatchObject({ path: 'cpu', fallbackReason: 'unavailable:connection_failed' });
    expect(out.routing).toMatchObject({ chosen: 'gpu', ran: 'cpu' });
    // A refused input is still not retried on the CPU.
    calls.length = 0;
    const refused = poolOf(fakeGpu(new GpuWorkerError('input', 'no_person', 'nobody', { code: 'no_person' })));
    await refused.checkAll(1000);
    await expect(producer(refused)(req(60))).rejects.toMatchObject({ code: 'no_person' });
    expect(calls).toEqual(['gpu']);
  });

  it('learns fps in Redis (with a TTL) and counts the estimate error, which /stats shows in both languages', async () => {
    const fps = redisFpsStore({ redis, prefix }, 3600);
    const pool = poolOf(fakeGpu());
    await pool.checkAll(1000);
    await producer(pool, fps)(req(180));
    const gpuKey = routingKeys(prefix).fps('gpu', 'gpu-a:443', 'fast');
    // 100 frames in the worker's 0.5 s of run time.
    expect(Number(await redis.hget(gpuKey, 'fps'))).toBe(200);
    expect(await redis.ttl(gpuKey)).toBeGreaterThan(3000);
    await producer(null, fps)(req(4));
    const cpuKey = routingKeys(prefix).fps('cpu', 'test-class', 'fast');
    expect(Number(await redis.hget(cpuKey, 'fps'))).toBeGreaterThan(0);
    expect(await redis.ttl(cpuKey)).toBeGreaterThan(3000);

    const n = await readOperatorNumbers({ queue, redis, prefix });
    expect(n.routing.gpu.count).toBeGreaterThanOrEqual(1);
    expect(n.routing.cpu.count).toBeGreaterThanOrEqual(1);
    expect(n.routing.gpu.mapePct).not.toBeNull();
    const en = routingErrorText(n, t('en'));
    expect(en).toMatch(new RegExp(`GPU ${n.routing.gpu.mapePct}% × ${n.routing.gpu.count}; CPU ${n.routing.cpu.mapePct}% × ${n.routing.cpu.count}`));
    expect(routingErrorText(n, t('ru'))).toMatch(/^Ошибка оценки маршрута за 24 ч .*GPU \d/);
  });

  it('the error window: per path, mean absolute % error, buckets that expire', async () => {
    const p2 = `${prefix}-win`;
    const r = { redis, prefix: p2 };
    const now = Date.parse('2026-03-01T10:30:00Z');
    expect(await readEstimateErrors(r, now)).toEqual({ gpu: { count: 0, mapePct: null }, cpu: { count: 0, mapePct: null } });
    await recordEstimateError(r, 'cpu', 12, 10, now);
    await recordEstimateError(r, 'cpu', 5, 10, now - 3600_000);
    await recordEstimateError(r, 'gpu', 10, 10, now);
    // Outside the 24 h window.
    await recordEstimateError(r, 'cpu', 100, 10, now - 30 * 3600_000);
    expect(await readEstimateErrors(r, now)).toEqual({ gpu: { count: 1, mapePct: 0 }, cpu: { count: 2, mapePct: 35 } });
    const keys = await redis.keys(`${p2}:*`);
    expect(keys.length).toBe(4);
    for (const k of keys) expect(await redis.ttl(k)).toBeGreaterThan(0);
    await redis.del(...keys);
  });
});
