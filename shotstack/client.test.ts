import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CancelledError } from '../common/errors.js';
import { probeMedia } from '../common/ffmpeg.js';
import { frameAt, isBlue, isRed, makeCircleMatte, makeSolidVideo, makeTempDir } from '../testing/shotstack-media.js';
import { createShotstackClient, type ShotstackClientOptions } from './client.js';
import { ShotstackError } from './errors.js';
import { startLocalShotstack, type LocalShotstack } from './local/server.js';
import { DEFAULT_READINGS } from './readings.js';
import { buildBubbleEdit } from './timeline.js';
import type { Edit } from './types.js';

/** Every test talks to the local renderer over real loopback HTTP; faults are injected on the server side. */
const KEY = 'test-key-123';
let server: LocalShotstack;
let tmp: { dir: string; cleanup: () => Promise<void> };
let files: { bg: string; color: string; matte: string };
let srcs: { bg: string; color: string; matte: string };

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

function bubbleEdit(): Edit {
  const edit = buildBubbleEdit({
    background: { src: srcs.bg, durationSec: 1, hasAudio: true },
    overlay: { kind: 'luma', colorSrc: srcs.color, matteSrc: srcs.matte },
    overlayDurationSec: 1,
    options: {
      position: 'topLeft', size: 0.35, margin: 0.05, aspect: '16:9', resolution: 'sd', fps: 25,
      duration: 'bubble', backgroundAudio: true, backgroundVolume: 0.5, readings: DEFAULT_READINGS,
    },
  });
  // Same 16:9 geometry (offsets and scale are fractions), a quarter of the pixels: renders in a fraction of a second.
  edit.output.size = { width: 320, height: 180 };
  return edit;
}

async function expectShotstackError(p: Promise<unknown>, kind: ShotstackError['kind']): Promise<ShotstackError> {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(ShotstackError);
  expect((e as ShotstackError).kind).toBe(kind);
  return e as ShotstackError;
}

beforeAll(async () => {
  tmp = await makeTempDir();
  files = {
    bg: await makeSolidVideo(join(tmp.dir, 'bg.mp4'), { color: 'blue', width: 320, height: 180, durationSec: 1, audio: true }),
    color: await makeSolidVideo(join(tmp.dir, 'color.mp4'), { color: 'red', width: 96, height: 96, durationSec: 1, audio: true }),
    matte: await makeCircleMatte(join(tmp.dir, 'matte.mp4'), { size: 96, durationSec: 1 }),
  };
  server = await startLocalShotstack({ apiKey: KEY });
  const c = client();
  const [bg, color, matte] = await Promise.all([c.ingestFile(files.bg), c.ingestFile(files.color), c.ingestFile(files.matte)]);
  srcs = { bg: bg!, color: color!, matte: matte! };
});

afterAll(async () => {
  await server?.close();
  await tmp?.cleanup();
});

afterEach(() => server.clearFaults());

describe('Shotstack client against the local renderer', () => {
  it('ingests, renders and downloads: upload → ready → render → done → download', async () => {
    const c = client();
    const sourceStatuses: string[] = [];
    const src = await c.ingestFile(files.color, { onStatus: (s) => sourceStatuses.push(s) });
    expect(src).toMatch(new RegExp(`^${server.url}/assets/sources/[0-9a-f-]+/source\\.mp4$`));
    expect(sourceStatuses.at(-1)).toBe('ready');

    // The signed PUT carried the bytes with a Content-Length and WITHOUT the API key; the API calls carried it.
    const puts = server.requests.filter((r) => r.method === 'PUT');
    expect(puts.length).toBeGreaterThanOrEqual(4);
    for (const put of puts) {
      expect(put.hadApiKey).toBe(false);
      expect(Number(put.contentLength)).toBeGreaterThan(0);
      expect(put.transferEncoding).toBeUndefined();
    }
    expect(server.requests.filter((r) => r.path.startsWith('/ingest/')).every((r) => r.hadApiKey)).toBe(true);

    server.injectFaults({ statusHoldMs: 60 });
    const id = await c.submitRender(bubbleEdit());
    const statuses: string[] = [];
    const done = await c.waitForRender(id, { onStatus: (s) => statuses.push(s) });
    expect(statuses).toEqual(['queued', 'fetching', 'rendering', 'saving', 'done']);
    expect(done).toMatchObject({ id, status: 'done', duration: 1 });
    expect(done.renderTime).toBeGreaterThan(0);
    expect(await c.getHostedUrl(id)).toBe(done.url);

    const out = join(tmp.dir, 'render.mp4');
    const { bytes } = await c.downloadTo(done.url, out);
    const info = await probeMedia(out);
    expect(info.sizeBytes).toBe(bytes);
    expect(info.video).toMatchObject({ width: 320, height: 180, codec: 'h264' });
    expect(info.audio).not.toBeNull();
    expect(info.durationSec).toBeCloseTo(1, 1);
    const px = await frameAt(out, 12, 320);
    expect(isRed(px(72, 72))).toBe(true); // bubble centre: 16 px margin + 112/2
    expect(isBlue(px(20, 20))).toBe(true); // inside the bubble square, outside the disc: masked away
    expect(isBlue(px(250, 120))).toBe(true);
  });

  it('retries 429 answers and succeeds', async () => {
    server.injectFaults({ respond: [{ route: 'edit', method: 'POST', status: 429, count: 2, retryAfterSec: 0 }] });
    const before = server.requests.length;
    const id = await client().submitRender(bubbleEdit());
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    const posts = server.requests.slice(before).filter((r) => r.method === 'POST');
    expect(posts.map((r) => r.status)).toEqual([429, 429, 201]);
    await client().waitForRender(id);
  });

  it('honours Retry-After on 429', async () => {
    server.injectFaults({ respond: [{ route: 'edit', method: 'GET', status: 429, count: 1, retryAfterSec: 1 }] });
    const id = await client().submitRender(bubbleEdit());
    const started = Date.now();
    await client().getRender(id);
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    await client().waitForRender(id);
  });

  it('retries 5xx answers while polling and still returns the render', async () => {
    const c = client();
    const id = await c.submitRender(bubbleEdit());
    server.injectFaults({ respond: [{ route: 'edit', method: 'GET', status: 503, count: 2 }, { route: 'edit', method: 'GET', status: 500, count: 1 }] });
    const done = await c.waitForRender(id);
    expect(done.status).toBe('done');
    expect(server.requests.filter((r) => r.status >= 500).length).toBeGreaterThanOrEqual(3);
  });

  it('does not resend a POST /render after a gateway timeout (504): it may have been queued', async () => {
    server.injectFaults({ respond: [{ route: 'edit', method: 'POST', status: 504, count: 1 }] });
    const before = server.requests.length;
    const e = await expectShotstackError(client().submitRender(bubbleEdit()), 'retryable');
    expect(e.status).toBe(504);
    expect(server.requests.length - before).toBe(1);
  });

  it('gives up after maxRetries with a retryable error carrying the status', async () => {
    server.injectFaults({ respond: [{ route: 'ingest', status: 502, count: 10, message: 'Bad Gateway' }] });
    const before = server.requests.length;
    const e = await expectShotstackError(client({ maxRetries: 2 }).ingestFile(files.matte), 'retryable');
    expect(e.status).toBe(502);
    expect(e.message).toContain('Bad Gateway');
    expect(server.requests.length - before).toBe(3);
  });

  it('classifies a wrong API key as auth and does not retry it', async () => {
    const before = server.requests.length;
    const e = await expectShotstackError(client({ apiKey: 'wrong-key' }).submitRender(bubbleEdit()), 'auth');
    expect(e.status).toBe(403);
    expect(e.message).not.toContain('wrong-key');
    expect(server.requests.length - before).toBe(1);
    await expectShotstackError(client({ apiKey: undefined }).getRender('x'), 'auth');
  });

  it('surfaces a failed render with Shotstack’s message', async () => {
    server.injectFaults({ failRenders: { count: 1, message: 'Asset https://x/y.mp4 could not be fetched (403)' } });
    const c = client();
    const id = await c.submitRender(bubbleEdit());
    const e = await expectShotstackError(c.waitForRender(id), 'render_failed');
    expect(e.serviceMessage).toBe('Asset https://x/y.mp4 could not be fetched (403)');
    expect(e.message).toContain('could not be fetched');
    expect(e.id).toBe(id);
  });

  it('reports a real render failure (unreachable asset) the same way', async () => {
    const edit = bubbleEdit();
    (edit.timeline.tracks[1]!.clips[0]!.asset as { src: string }).src = `${server.url}/assets/sources/nope/source.mp4`;
    const c = client();
    const e = await expectShotstackError(c.waitForRender(await c.submitRender(edit)), 'render_failed');
    expect(e.serviceMessage).toMatch(/Unable to download asset .*HTTP 404/);
  });

  it('times out a call that gets no answer, and does not resend a POST that may have been received', async () => {
    server.injectFaults({ stall: { count: 1, ms: 1500, route: 'edit' } });
    const before = server.requests.length;
    const e = await expectShotstackError(client({ timeoutMs: 200, maxRetries: 3 }).submitRender(bubbleEdit()), 'timeout');
    expect(e.message).toContain('200 ms');
    expect(server.requests.slice(before).filter((r) => r.method === 'POST')).toHaveLength(1);

    // An idempotent GET is retried after a timeout and then succeeds.
    server.injectFaults({ stall: { count: 1, ms: 1500, route: 'ingest' } });
    await expect(client({ timeoutMs: 300 }).getSource('nope')).rejects.toMatchObject({ kind: 'bad_request', status: 404 });
  });

  it('times out waitForRender at its deadline', async () => {
    server.injectFaults({ statusHoldMs: 400 });
    const c = client();
    const id = await c.submitRender(bubbleEdit());
    const e = await expectShotstackError(c.waitForRender(id, { timeoutMs: 150 }), 'timeout');
    expect(e.id).toBe(id);
    server.clearFaults();
    await c.waitForRender(id);
  });

  it('reports an ingest that ends failed', async () => {
    server.injectFaults({ failIngests: { count: 1, status: 'failed' } });
    const e = await expectShotstackError(client().ingestFile(files.matte), 'render_failed');
    expect(e.message).toContain('"failed"');
  });

  it('returns the service’s validation details for an Edit the renderer refuses (400 → bad_request)', async () => {
    const edit = bubbleEdit();
    edit.timeline.tracks[0]!.clips[1]!.transition = { in: 'fade' };
    const e = await expectShotstackError(client().submitRender(edit), 'bad_request');
    expect(e.status).toBe(400);
    expect(e.serviceMessage).toContain('"timeline.tracks[0].clips[1].transition" is not supported by the local renderer');
  });

  it('validates the Edit with @shotstack/schemas before sending it', async () => {
    const before = server.requests.length;
    const edit = bubbleEdit();
    (edit.output as { fps: number }).fps = 26;
    const e = await expectShotstackError(client().submitRender(edit), 'bad_request');
    expect(e.message).toContain('output.fps');
    expect(server.requests.length).toBe(before);
  });

  it('retries when the connection is refused, then reports retryable', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', () => r()));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const e = await expectShotstackError(client({ apiUrl: `http://127.0.0.1:${port}`, maxRetries: 2 }).submitRender(bubbleEdit()), 'retryable');
    expect(e.message).toContain('ECONNREFUSED');
  });

  it('stops waiting when the caller cancels', async () => {
    server.injectFaults({ statusHoldMs: 300 });
    const c = client();
    const id = await c.submitRender(bubbleEdit());
    const abort = new AbortController();
    setTimeout(() => abort.abort(), 100);
    await expect(c.waitForRender(id, { signal: abort.signal })).rejects.toBeInstanceOf(CancelledError);
    server.clearFaults();
    await c.waitForRender(id);
  });
});
