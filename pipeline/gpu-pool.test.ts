import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { modeText } from '../bot/admin/format.js';
import { logger } from '../common/logger.js';
import type { ErrorBody, HealthBody } from '../gpu-worker/server/api.js';
import type { GpuWorkerServer } from '../gpu-worker/server/server.js';
import { startTestServer, tempParent, TOKEN } from '../gpu-worker/server/test-support.js';
import { parseWorkerUrlList } from '../gpu-worker/client/urls.js';
import { media, needSharedMedia } from '../testing/media.js';
import { loadPipelineConfig } from './config.js';
import { PipelineError } from './failures.js';
import { gpuPoolFromUrls, type GpuPool } from './gpu-pool.js';
import { createOverlayProducer, loadCpuEngine, type OverlayRequest } from './stages/overlay.js';
import { GpuHealthMonitor } from './worker/gpu-health.js';
import { unusedPort } from '../testing/ports.js';

/**
 * Several GPU workers behind GPU_WORKER_URL: two real GPU worker servers (CPU provider) on loopback, plus a minimal
 * real HTTP server that answers like a draining worker (503 with the worker's JSON error) and a port nobody listens
 * on. Each test asserts where each job really ran, by the worker's host in the result and in the job record.
 */
const TINY = media('tiny_64x64.mp4');
const SMALL = { size: 128, formats: ['webm' as const] };
const hostOf = (url: string) => new URL(url).host;

/** Answers like gpu-worker/server while it drains: /health 503 `draining`, every job route 503 `shutting_down`. */
async function drainingWorker(): Promise<{ url: string; jobRequests: () => number; server: Server }> {
  let jobRequests = 0;
  const json = (res: ServerResponse, status: number, body: unknown) =>
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  const server = createServer((req, res) => {
    req.resume();
    if (req.url === '/health') {
      const h: HealthBody = {
        status: 'draining',
        ready: false,
        version: 'test',
        uptimeSec: 1,
        provider: null,
        gpuName: null,
        providersRequested: ['cpu'],
        models: [],
        jobs: { running: 0, queued: 0, concurrency: 1, queueDepth: 8 },
      };
      return json(res, 503, h);
    }
    jobRequests++;
    const body: ErrorBody = { error: { code: 'shutting_down', message: 'This worker is shutting down.' } };
    return json(res, 503, body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, jobRequests: () => jobRequests, server };
}

describe('GPU_WORKER_URL as a list', () => {
  it('accepts one URL unchanged or several comma-separated; a bad or repeated entry stops the start naming the variable', () => {
    expect(loadPipelineConfig.parse({ GPU_WORKER_URL: 'https://gpu.example.com' }).GPU_WORKER_URL).toBe('https://gpu.example.com');
    const list = 'https://a.example.com, https://b.example.com/v,';
    expect(loadPipelineConfig.parse({ GPU_WORKER_URL: list }).GPU_WORKER_URL).toBe(list);
    expect(parseWorkerUrlList(list).map((u) => u.host)).toEqual(['a.example.com', 'b.example.com']);
    expect(() => loadPipelineConfig.parse({ GPU_WORKER_URL: 'https://a.example.com,http://10.0.0.5:8080' })).toThrow(
      /GPU_WORKER_URL: GPU worker URL http:\/\/10\.0\.0\.5:8080 must use https/,
    );
    expect(() => loadPipelineConfig.parse({ GPU_WORKER_URL: 'https://a.example.com,https://a.example.com/' })).toThrow(/GPU_WORKER_URL: .*listed twice/);
    // Credentials in an entry are refused without being repeated in the message (it reaches the logs).
    const err = (() => {
      try {
        loadPipelineConfig.parse({ GPU_WORKER_URL: 'https://a.example.com,https://user:s3cret@b.example.com' });
      } catch (e) {
        return e as Error;
      }
    })();
    expect(err?.message).toMatch(/GPU_WORKER_URL: .*must not carry credentials/);
    expect(err?.message).not.toContain('s3cret');
  });
});

describe.skipIf(!needSharedMedia())('a pool of GPU workers on loopback', () => {
  let parent: string;
  let a: GpuWorkerServer;
  let b: GpuWorkerServer;
  let draining: Awaited<ReturnType<typeof drainingWorker>>;
  let refusedUrl: string;
  let runs = 0;
  const pool = (urls: string[], now?: () => number): GpuPool =>
    gpuPoolFromUrls(parseWorkerUrlList(urls.join(',')), { token: TOKEN, deadlineMs: 20_000, idleTimeoutMs: 5000, logger, now });
  const req = (): OverlayRequest => ({
    input: TINY,
    outDir: join(parent, `out${++runs}`),
    options: SMALL,
    engine: 'fast',
    durationSec: 1,
    onProgress: () => undefined,
    signal: new AbortController().signal,
    log: logger,
  });

  beforeAll(async () => {
    parent = await tempParent('bubblecast-gpu-pool-');
    [a, b, draining] = await Promise.all([startTestServer(join(parent, 'a')), startTestServer(join(parent, 'b')), drainingWorker()]);
    refusedUrl = `http://127.0.0.1:${await unusedPort()}`;
  });
  afterAll(async () => {
    await Promise.all([a?.close(), b?.close(), new Promise((r) => draining?.server.close(r))]);
    await rm(parent, { recursive: true, force: true });
  });

  it('spreads jobs over two healthy workers: two at once run one on each, in turn otherwise', async () => {
    const p = pool([a.url, b.url]);
    await p.checkAll(5000);
    expect(p.states().map((s) => [s.host, s.ok, s.provider])).toEqual([
      [hostOf(a.url), true, 'cpu'],
      [hostOf(b.url), true, 'cpu'],
    ]);
    const produce = createOverlayProducer({ mode: async () => 'gpu', gpu: p });
    const together = await Promise.all([produce(req()), produce(req())]);
    expect(together.map((o) => o.record.gpuHost).sort()).toEqual([hostOf(a.url), hostOf(b.url)].sort());
    const inTurn = [];
    // One after the other, both idle: the tie goes in turn, so the next two jobs land one on each.
    for (let i = 0; i < 2; i++) inTurn.push((await produce(req())).record);
    expect(inTurn.map((r) => r.gpuHost).sort()).toEqual([hostOf(a.url), hostOf(b.url)].sort());
    for (const o of together) {
      expect(o.record).toMatchObject({ path: 'gpu', provider: 'cpu', fallbackReason: null });
      expect(o.record.gpuFailedOver).toBeUndefined();
      for (const f of Object.values(o.files)) expect(existsSync(f), f).toBe(true);
    }
  }, 20_000);

  it('one worker down: the job fails over to the other without the CPU, and the failed one is benched', async () => {
    // Unchecked, so the first job goes to the draining worker (first in the list) and has to fail over.
    let clock = Date.now();
    const p = pool([draining.url, a.url], () => clock);
    const produce = createOverlayProducer({ mode: async () => 'auto', gpu: p, cpu: loadCpuEngine });
    const first = await produce(req());
    expect(first.record).toMatchObject({ path: 'gpu', gpuHost: hostOf(a.url), fallbackReason: null });
    expect(first.record.gpuFailedOver).toEqual([`${hostOf(draining.url)}: unavailable:http_503`]);
    // Two submissions (a pool member retries once), then never again while it is benched.
    expect(draining.jobRequests()).toBe(2);
    const down = p.states().find((s) => s.host === hostOf(draining.url))!;
    expect(down.ok).toBe(false);
    expect(down.downUntil).not.toBeNull();
    // Ties go in turn, so one of the next two jobs would start on the draining worker; benched, it is not asked.
    for (let i = 0; i < 2; i++) expect((await produce(req())).record).toMatchObject({ path: 'gpu', gpuHost: hostOf(a.url) });
    expect(draining.jobRequests()).toBe(2);
    // The bench (30 s by default) ends by itself: the worker is a candidate again without waiting for a check.
    clock += 31_000;
    expect(p.states().find((s) => s.host === hostOf(draining.url))).toMatchObject({ ok: null, downUntil: null });
    expect(p.usable()).toBe(true);
  }, 20_000);

  it('a worker whose /health says it is draining gets no job at all once checked', async () => {
    const p = pool([draining.url, b.url]);
    await p.checkAll(5000);
    expect(p.states().map((s) => [s.ok, s.status])).toEqual([
      [false, 'draining'],
      [true, 'ok'],
    ]);
    const before = draining.jobRequests();
    const out = await createOverlayProducer({ mode: async () => 'auto', gpu: p, cpu: loadCpuEngine })(req());
    expect(out.record).toMatchObject({ path: 'gpu', gpuHost: hostOf(b.url) });
    expect(out.record.gpuFailedOver).toBeUndefined();
    expect(draining.jobRequests()).toBe(before);
  }, 10_000);

  it('both down: auto falls back to the CPU naming both; gpu mode tries both again, then fails as before', async () => {
    const p = pool([refusedUrl, draining.url]);
    const auto = await createOverlayProducer({ mode: async () => 'auto', gpu: p, cpu: loadCpuEngine })(req());
    expect(auto.record).toMatchObject({ path: 'cpu', fallbackReason: 'unavailable:http_503' });
    expect(auto.record.gpuFailedOver).toEqual([`${hostOf(refusedUrl)}: unavailable:connection_failed`, `${hostOf(draining.url)}: unavailable:http_503`]);
    expect(p.usable()).toBe(false);
    // gpu mode has no CPU to go to: benched workers are still tried (a bench may be stale) before the job fails.
    const before = draining.jobRequests();
    const err = await createOverlayProducer({ mode: async () => 'gpu', gpu: p, cpu: loadCpuEngine })(req()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PipelineError);
    expect((err as PipelineError).code).toBe('gpu_unavailable');
    expect((err as Error).message).toMatch(/all 2 GPU workers failed/);
    expect(draining.jobRequests()).toBeGreaterThan(before);
  }, 25_000);

  it('/mode shows each worker with its host and state', async () => {
    const monitor = new GpuHealthMonitor(pool([a.url, refusedUrl]), null, 60_000, logger);
    await monitor.check();
    const gpu = monitor.current();
    expect(monitor.healthy()).toBe(true);
    expect(gpu.workers?.map((w) => [w.host, w.ok, w.status])).toEqual([
      [hostOf(a.url), true, 'ok'],
      [hostOf(refusedUrl), false, 'unreachable:connection_failed'],
    ]);
    const text = modeText({
      mode: 'auto',
      source: 'env',
      envMode: 'auto',
      override: null,
      health: {
        workers: [
          {
            workerId: 'w1',
            hostname: 'h',
            pid: 1,
            startedAt: '',
            at: '',
            mode: { effective: 'auto', source: 'env', env: 'auto' },
            concurrency: 1,
            activeJobs: [],
            shuttingDown: false,
            gpu,
          },
        ],
        counters: { overlayGpu: 0, overlayCpu: 0, fallbacks: {}, fallbackTotal: 0 },
      },
    });
    expect(text).toContain('GPU workers: 1/2 healthy');
    expect(text).toContain(`GPU ${hostOf(a.url)}: healthy (ok), provider`);
    expect(text).toContain(`GPU ${hostOf(refusedUrl)}: DOWN (unreachable:connection_failed)`);
    expect(text).not.toContain(TOKEN);
  });
});
