import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { makeSolidVideo, makeTempDir } from '../testing/shotstack-media.js';
import { createRedis } from '../pipeline/redis.js';
import { budgetKeyId, createRedisBudget } from './budget.js';
import { createShotstackClient, type ShotstackClientOptions } from './client.js';
import { clientOptionsFromConfig, loadShotstackConfig } from './config.js';
import { abortableSleep } from './http.js';
import { startLocalShotstack, type LocalShotstack, type RequestLogEntry } from './local/server.js';
import type { Edit } from './types.js';

/**
 * How the client spends a key's request budget, against the local renderer over real HTTP: Shotstack's 429s
 * (emulated by its rate limiter), the shared Redis budget, polling backoff, the ingest cap, and the deletions.
 */
const KEY = 'limits-key';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = `bctest-limits-${process.pid}-${Date.now().toString(36)}`;
let tmp: { dir: string; cleanup: () => Promise<void> };
let video: string;
let server: LocalShotstack;

function client(over: Partial<ShotstackClientOptions> = {}) {
  return createShotstackClient({
    apiUrl: server.url,
    apiKey: KEY,
    env: 'stage',
    timeoutMs: 5000,
    pollIntervalMs: 25,
    retryBaseDelayMs: 5,
    retryMaxDelayMs: 20,
    ...over,
  });
}

/** The smallest Edit the renderer takes: one clip of an ingested video. */
function oneClipEdit(src: string): Edit {
  return {
    timeline: { tracks: [{ clips: [{ asset: { type: 'video', src }, start: 0, length: 0.5 }] }] },
    output: { format: 'mp4', size: { width: 64, height: 64 }, fps: 25 },
  };
}

beforeAll(async () => {
  tmp = await makeTempDir();
  video = await makeSolidVideo(join(tmp.dir, 'v.mp4'), { color: 'blue', width: 64, height: 64, durationSec: 0.5, audio: false });
  server = await startLocalShotstack({ apiKey: KEY });
});

afterAll(async () => {
  await server?.close();
  await tmp?.cleanup();
});

afterEach(() => server.clearFaults());

describe('Shotstack rate limits (emulated by the local renderer)', () => {
  // No apiKey: any key is let in, and each test's own key has its own counters.
  let limited: LocalShotstack;
  const redis = createRedis(REDIS_URL);
  const limitedClient = (apiKey: string, over: Partial<ShotstackClientOptions> = {}) => client({ apiUrl: limited.url, apiKey, ...over });
  /** Ingest-API requests the limiter refused so far. */
  const ingestRejections = () => limited.rateLimitWindows().filter((w) => w.api === 'ingest').reduce((n, w) => n + w.rejected, 0);

  beforeAll(async () => {
    limited = await startLocalShotstack({ rateLimits: { edit: 4, ingest: 4, serve: 4, windowMs: 1000 } });
  });

  afterAll(async () => {
    await limited?.close();
    const left = await redis.keys(`${prefix}:*`);
    if (left.length) await redis.del(...left);
    await redis.quit();
  });

  it('answers over the limit the way Shotstack’s gateway does: 429 {"message":"Too Many Requests"}, no Retry-After', async () => {
    let res: Response | null = null;
    // At most 4 a window: one of the first 9 must be refused, even if the first ones straddle a window's end.
    for (let i = 0; i < 9; i++) {
      res = await fetch(`${limited.url}/ingest/stage/sources/nope`, { headers: { 'x-api-key': 'gateway-check' } });
      if (res.status === 429) break;
      expect(res.status).toBe(404);
      await res.arrayBuffer();
    }
    expect(res!.status).toBe(429);
    expect(await res!.json()).toEqual({ message: 'Too Many Requests' });
    expect(res!.headers.get('retry-after')).toBeNull();
    expect(res!.headers.get('x-amzn-errortype')).toBe('TooManyRequestsException');
    // Per key: another key still gets through.
    expect((await fetch(`${limited.url}/ingest/stage/sources/nope`, { headers: { 'x-api-key': 'other' } })).status).toBe(404);
  });

  it('a burst over the limit completes without spending retries, waiting for the window each time', async () => {
    // No budget and maxRetries 0: each 429 must be waited out (a whole window: no Retry-After), never retried.
    const c = limitedClient('burst-key', { maxRetries: 0, rateLimitWindowMs: 1000 });
    const { id } = await c.ingest(video);
    const before = ingestRejections();
    const statuses = await Promise.all(Array.from({ length: 10 }, () => c.getSource(id).then((s) => s.status)));
    expect(statuses).toEqual(Array(10).fill('ready'));
    expect(ingestRejections()).toBeGreaterThan(before);
    for (const w of limited.rateLimitWindows()) expect(w.accepted).toBeLessThanOrEqual(4);
  });

  it('two clients sharing a Redis budget under the limit never get a 429', async () => {
    const keyId = budgetKeyId('shared-key', 'stage');
    const budgeted = () =>
      limitedClient('shared-key', {
        maxRetries: 0,
        budget: createRedisBudget({ redis, prefix, keyId, limits: { edit: 3, ingest: 3, serve: 3 }, windowMs: 1000 }),
      });
    const [a, b] = [budgeted(), budgeted()];
    const { id } = await a.ingest(video);
    const before = ingestRejections();
    const burst = [a, b].flatMap((c) => Array.from({ length: 5 }, () => c.getSource(id).then((s) => s.status)));
    expect(await Promise.all(burst)).toEqual(Array(10).fill('ready'));
    expect(ingestRejections()).toBe(before);
  });

  it('gives up as retryable after maxRateLimitWaits 429s', async () => {
    server.injectFaults({ respond: [{ route: 'ingest', method: 'GET', status: 429, count: 5, retryAfterSec: 0 }] });
    const before = server.requests.length;
    const e = await client({ maxRetries: 0, maxRateLimitWaits: 2 }).getSource('nope').catch((err: unknown) => err);
    expect(e).toMatchObject({ kind: 'retryable', status: 429 });
    expect(server.requests.length - before).toBe(3);
  });
});

describe('polling', () => {
  it('starts at pollIntervalMs and backs off ×1.5 up to maxPollIntervalMs: few GETs over a render', async () => {
    const delays: number[] = [];
    const sleep = (ms: number, signal?: AbortSignal) => (delays.push(ms), abortableSleep(ms, signal));
    const c = client({ pollIntervalMs: 40, maxPollIntervalMs: 200, sleep });
    const src = await c.ingestFile(video);
    const renderId = await c.submitRender(oneClipEdit(src));
    // Five statuses held 130 ms each: the render lasts longer than the first five waits (525 ms) together.
    server.injectFaults({ statusHoldMs: 130 });
    delays.length = 0;
    const before = server.requests.length;
    await c.waitForRender(renderId);

    const expected = delays.map((_, i) => Math.round(Math.min(200, 40 * 1.5 ** i)));
    expect(delays).toEqual(expected);
    expect(delays.length).toBeGreaterThanOrEqual(5);
    expect(delays.at(-1)).toBe(200);
    const gets = server.requests.slice(before).filter((r) => r.method === 'GET' && r.path === `/edit/stage/render/${renderId}`);
    expect(gets).toHaveLength(delays.length + 1);
  });

  it('polls Shotstack no faster than every 3 s; a local renderer may poll faster', () => {
    const cloud = clientOptionsFromConfig(loadShotstackConfig.parse({ SHOTSTACK_API_KEY: 'k', SHOTSTACK_POLL_INTERVAL_MS: '500' }));
    expect(cloud.pollIntervalMs).toBe(3000);
    expect(clientOptionsFromConfig(loadShotstackConfig.parse({ SHOTSTACK_API_KEY: 'k' })).pollIntervalMs).toBe(3000);
    expect(clientOptionsFromConfig(loadShotstackConfig.parse({ SHOTSTACK_POLL_INTERVAL_MS: '500' })).pollIntervalMs).toBe(500);
    expect(cloud.ingestConcurrency).toBe(2);
  });
});

/** The most sources between their upload and their last status poll at one time, read from the request order. */
function maxIngestsAtOnce(requests: RequestLogEntry[]): number {
  const spans = new Map<string, { from: number; to: number }>();
  requests.forEach((r, i) => {
    const put = r.method === 'PUT' && r.path.match(/^\/upload\/([^/]+)$/);
    const poll = r.method === 'GET' && r.path.match(/^\/ingest\/stage\/sources\/([^/]+)$/);
    if (put) spans.set(put[1]!, { from: i, to: i });
    else if (poll && spans.has(poll[1]!)) spans.get(poll[1]!)!.to = i;
  });
  let most = 0;
  for (let i = 0; i < requests.length; i++) {
    most = Math.max(most, [...spans.values()].filter((s) => s.from <= i && i <= s.to).length);
  }
  return most;
}

describe('ingest concurrency', () => {
  it('runs at most ingestConcurrency uploads (each with its polling) at once', async () => {
    const ingestFive = async (ingestConcurrency: number) => {
      const before = server.requests.length;
      const c = client({ ingestConcurrency });
      const srcs = await Promise.all(Array.from({ length: 5 }, () => c.ingestFile(video)));
      expect(new Set(srcs).size).toBe(5);
      return maxIngestsAtOnce(server.requests.slice(before));
    };
    expect(await ingestFive(2)).toBe(2);
    // The same measure sees all five at once without the cap.
    expect(await ingestFive(5)).toBeGreaterThan(2);
  });
});

describe('deleting on Shotstack', () => {
  it('deleteSource removes an ingested source; a second delete finds it gone', async () => {
    const c = client();
    const { id, src } = await c.ingest(video);
    expect(src).toContain(id);
    expect(await c.deleteSource(id)).toBe(true);
    await expect(c.getSource(id)).rejects.toMatchObject({ kind: 'bad_request', status: 404 });
    expect((await fetch(src)).status).toBe(404);
    expect(await c.deleteSource(id)).toBe(false);
  });

  it('deleteRenderAssets deletes each hosted asset by its own id (not the render id)', async () => {
    const c = client();
    const renderId = await c.submitRender(oneClipEdit(await c.ingestFile(video)));
    await c.waitForRender(renderId);
    const listing = (await (await fetch(`${server.url}/serve/stage/assets/render/${renderId}`, { headers: { 'x-api-key': KEY } })).json()) as {
      data: Array<{ attributes: { id: string } }>;
    };
    const assetId = listing.data[0]!.attributes.id;
    expect(assetId).not.toBe(renderId);

    const before = server.requests.length;
    expect(await c.deleteRenderAssets(renderId)).toEqual({ deleted: 1, pending: 0 });
    const calls = server.requests.slice(before).map((r) => `${r.method} ${r.path} ${r.status}`);
    expect(calls).toEqual([`GET /serve/stage/assets/render/${renderId} 200`, `DELETE /serve/stage/assets/${assetId} 204`]);
    await expect(c.getHostedUrl(renderId)).rejects.toMatchObject({ status: 404 });
    expect(await c.deleteRenderAssets(renderId)).toEqual({ deleted: 0, pending: 0 });
  });
});
