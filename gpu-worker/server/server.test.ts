import { readFile, rm } from 'node:fs/promises';
import { createServer as createHttpServer, request, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { media, needSharedMedia } from '../../testing/media.js';
import type { ErrorBody, HealthBody, JobStatusBody, SubmitAccepted } from './api.js';
import type { GpuWorkerServer } from './server.js';
import {
  AUTH,
  instanceFolders,
  jobFolders,
  killHard,
  startChildServer,
  startTestServer,
  tempParent,
  TOKEN,
  until,
  type ChildServer,
} from './test-support.js';
import { unusedPort } from '../../testing/ports.js';

/**
 * The GPU worker's HTTP API against the real engine on CPU, on loopback. Each fault test asserts the exact answer
 * and that nothing was left behind (no job, no folder).
 */
const TINY = media('tiny_64x64.mp4');
/** 10 s of 720×1280: long enough to still be running while a test looks at it. */
const LONG = media('hopper_mall_720x1280.mp4');
const SMALL = { size: 128, formats: ['webm'] };

/**
 * Uploads `body` the way a slow client does: small pieces, each flushed before the next, so the worker's disk
 * writes finish while it waits for more (where an unhandled write error used to end the process). Node's client
 * hands over an answer that comes before the whole body was sent; sending stops then.
 */
function slowUpload(url: string, body: Buffer, options: unknown, pieceBytes = 8192): Promise<{ status: number; body: ErrorBody }> {
  return new Promise((resolve, reject) => {
    let answered = false;
    const req = request(
      `${url}/v1/jobs`,
      {
        method: 'POST',
        headers: {
          ...AUTH,
          'content-type': 'application/octet-stream',
          'content-length': String(body.length),
          'x-overlay-options': JSON.stringify(options),
        },
      },
      (res) => {
        answered = true;
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as ErrorBody });
          req.destroy();
        });
        res.on('error', reject);
      },
    );
    req.on('error', (e) => !answered && reject(e));
    void (async () => {
      for (let at = 0; at < body.length && !answered && !req.destroyed; at += pieceBytes) {
        await new Promise((flushed) => req.write(body.subarray(at, at + pieceBytes), flushed));
        await sleep(1);
      }
      if (!answered && !req.destroyed) req.end();
    })();
  });
}

/** A loopback HTTP server that counts every TCP connection made to it (a URL the worker must not fetch). */
async function connectionCounter(handler: Parameters<typeof createHttpServer>[1] = (_, res) => void res.end()) {
  const server = createHttpServer(handler);
  let connections = 0;
  server.on('connection', () => connections++);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    connections: () => connections,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

describe.skipIf(!needSharedMedia())('GPU worker HTTP API (real engine, CPU)', () => {
  let parent: string;
  let srv: GpuWorkerServer;
  const extra: GpuWorkerServer[] = [];

  const api = (url: string, path: string, init: RequestInit = {}) =>
    fetch(url + path, { ...init, headers: { ...AUTH, ...(init.headers as Record<string, string>) } });
  const submit = async (url: string, file: string, options?: unknown, headers: Record<string, string> = {}) =>
    api(url, '/v1/jobs', {
      method: 'POST',
      body: await readFile(file),
      headers: {
        'content-type': 'application/octet-stream',
        ...(options === undefined ? {} : { 'x-overlay-options': JSON.stringify(options) }),
        ...headers,
      },
    });
  const submitOk = async (url: string, file: string, options: unknown): Promise<string> => {
    const res = await submit(url, file, options);
    expect(res.status).toBe(202);
    return ((await res.json()) as SubmitAccepted).id;
  };
  const status = async (url: string, id: string, waitMs = 0): Promise<JobStatusBody> =>
    (await api(url, `/v1/jobs/${id}?waitMs=${waitMs}`)).json() as Promise<JobStatusBody>;
  const waitForState = (url: string, id: string, states: string[]) =>
    until(`job ${id} in ${states}`, async () => {
      const st = await status(url, id, 500);
      return states.includes(st.state) ? st : null;
    });
  const health = async (url: string) => (await fetch(`${url}/health`)).json() as Promise<HealthBody>;
  const errorOf = async (res: Response) => ((await res.json()) as ErrorBody).error;
  const another = async (opts: Parameters<typeof startTestServer>[1]) => {
    const s = await startTestServer(parent, opts);
    extra.push(s);
    return s;
  };

  beforeAll(async () => {
    parent = await tempParent('bubblecast-gpu-worker-server-test-');
    srv = await startTestServer(parent, { concurrency: 1, queueDepth: 1 });
    await until('models loaded', async () => (await health(srv.url)).status === 'ok', 60_000);
  });
  afterAll(async () => {
    await Promise.all([srv, ...extra].map((s) => s.close('test end')));
    await rm(parent, { recursive: true, force: true });
  });

  it('answers /health and /ping without a token; /ready needs one', async () => {
    const res = await fetch(`${srv.url}/health`);
    expect(res.status).toBe(200);
    const h = (await res.json()) as HealthBody;
    expect(h).toMatchObject({ status: 'ok', ready: true, provider: 'cpu', gpuName: null, providersRequested: ['cpu'] });
    expect(h.jobs).toEqual({ running: 0, queued: 0, concurrency: 1, queueDepth: 1 });
    expect(h.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(h.models.find((m) => m.model === 'selfie_general')).toMatchObject({ loaded: true, provider: 'cpu' });
    expect((await fetch(`${srv.url}/ping`)).status).toBe(200);
    expect((await fetch(`${srv.url}/ready`)).status).toBe(401);
    expect(await (await api(srv.url, '/ready')).json()).toEqual({ ready: true, status: 'ok' });
  });

  it("accepts the token in X-GPU-Worker-Token when a gateway's own key fills Authorization (RunPod)", async () => {
    const res = await fetch(`${srv.url}/ready`, {
      headers: { authorization: 'Bearer the-gateway-api-key', 'x-gpu-worker-token': TOKEN },
    });
    expect(res.status).toBe(200);
  });

  it('refuses a missing, wrong or non-Bearer token with 401 on every route, and creates no job', async () => {
    const tries: Array<[string, RequestInit]> = [
      ['/v1/jobs', { method: 'POST', body: await readFile(TINY) }],
      ['/v1/jobs', { method: 'POST', body: await readFile(TINY), headers: { authorization: 'Bearer wrong-token-0123456789abcd' } }],
      ['/v1/jobs', { method: 'POST', body: await readFile(TINY), headers: { authorization: `Basic ${TOKEN}` } }],
      ['/v1/jobs', { method: 'POST', body: await readFile(TINY), headers: { authorization: `Bearer ${TOKEN}x` } }],
      ['/v1/jobs/some-id', { headers: { authorization: `Bearer ${TOKEN.slice(0, -1)}` } }],
      ['/v1/jobs/some-id', { method: 'DELETE' }],
      ['/v1/jobs/some-id/result/overlay.webm', {}],
      ['/ready', { headers: { 'x-gpu-worker-token': 'wrong-token-0123456789abcd' } }],
      ['/ready', { headers: { 'x-gpu-worker-token': '', authorization: 'Bearer ' } }],
      ['/no/such/route', {}],
    ];
    for (const [path, init] of tries) {
      const res = await fetch(srv.url + path, init);
      expect(res.status, `${init.method ?? 'GET'} ${path}`).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe('Bearer');
      expect((await errorOf(res)).code).toBe('unauthorized');
    }
    expect((await health(srv.url)).jobs).toMatchObject({ running: 0, queued: 0 });
    expect(await jobFolders(srv.workDir)).toEqual([]);
  });

  it('refuses malformed options with 400 naming the field, before reading the video', async () => {
    const bad = await submit(srv.url, TINY, undefined, { 'x-overlay-options': '{"size": 128,' });
    expect(bad.status).toBe(400);
    expect((await errorOf(bad)).code).toBe('bad_options');

    const invalid = await submit(srv.url, TINY, { shape: 'hexagon', size: 8 });
    expect(invalid.status).toBe(400);
    const err = await errorOf(invalid);
    expect(err.code).toBe('bad_options');
    expect(err.issues!.map((i) => i.path.join('.')).sort()).toEqual(['shape', 'size']);

    const unknown = await submit(srv.url, TINY, { sizee: 128 });
    expect(unknown.status).toBe(400);
    expect((await errorOf(unknown)).message).toMatch(/sizee/);
    expect(await jobFolders(srv.workDir)).toEqual([]);
  });

  it('answers 422 with the engine MediaError code for videos it must refuse', async () => {
    const cases: Array<[string, unknown, string]> = [
      [media('bad/not_video.mp4'), SMALL, 'not_video'],
      [media('bad/zero.mp4'), SMALL, 'empty_file'],
      [media('bad/audio_only.mp4'), SMALL, 'no_video_stream'],
      [TINY, { ...SMALL, maxDurationSec: 1 }, 'too_long'],
    ];
    for (const [file, options, code] of cases) {
      const res = await submit(srv.url, file, options);
      expect(res.status, file).toBe(422);
      expect((await errorOf(res)).code).toBe(code);
    }
    expect(await jobFolders(srv.workDir)).toEqual([]);
    expect((await health(srv.url)).jobs).toMatchObject({ running: 0, queued: 0 });
  });

  it('runs a job, reports progress and timings, and serves each result with Content-Length and Range', async () => {
    const id = await submitOk(srv.url, TINY, { size: 128, formats: ['webm', 'luma'] });
    const st = await waitForState(srv.url, id, ['done', 'failed']);
    expect(st.error).toBeNull();
    expect(st).toMatchObject({ state: 'done', progress: 1, provider: 'cpu', engine: 'fast' });
    expect(st.fps).toBeGreaterThan(0);
    expect(st.timings.runMs).toBeGreaterThan(0);
    expect(st.timings.queuedMs).toBeGreaterThanOrEqual(0);
    expect(st.timings.perFrame!.inferMs).toBeGreaterThan(0);
    expect(st.result!.files.map((f) => f.name).sort()).toEqual(['color.mp4', 'matte.mp4', 'overlay.webm']);

    const webm = st.result!.files.find((f) => f.name === 'overlay.webm')!;
    const whole = await api(srv.url, webm.url);
    expect(whole.status).toBe(200);
    expect(whole.headers.get('content-type')).toBe('video/webm');
    expect(whole.headers.get('accept-ranges')).toBe('bytes');
    expect(Number(whole.headers.get('content-length'))).toBe(webm.bytes);
    const bytes = Buffer.from(await whole.arrayBuffer());
    expect(bytes.length).toBe(webm.bytes);
    expect(bytes.subarray(0, 4).toString('hex')).toBe('1a45dfa3'); // EBML magic: a real WebM

    const part = await api(srv.url, webm.url, { headers: { range: 'bytes=10-109' } });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe(`bytes 10-109/${webm.bytes}`);
    expect(Buffer.from(await part.arrayBuffer())).toEqual(bytes.subarray(10, 110));
    const tail = await api(srv.url, webm.url, { headers: { range: 'bytes=-50' } });
    expect(tail.status).toBe(206);
    expect(Buffer.from(await tail.arrayBuffer())).toEqual(bytes.subarray(-50));
    const beyond = await api(srv.url, webm.url, { headers: { range: `bytes=${webm.bytes}-` } });
    expect(beyond.status).toBe(416);
    expect(beyond.headers.get('content-range')).toBe(`bytes */${webm.bytes}`);
    const head = await api(srv.url, webm.url, { method: 'HEAD' });
    expect(Number(head.headers.get('content-length'))).toBe(webm.bytes);
    expect((await api(srv.url, `/v1/jobs/${id}/result/overlay.mov`)).status).toBe(404);
    expect((await api(srv.url, `/v1/jobs/${id}/result/..%2Fowner`)).status).toBe(404);

    // DELETE of an ended job forgets it and removes its files.
    expect((await api(srv.url, `/v1/jobs/${id}`, { method: 'DELETE' })).status).toBe(200);
    expect((await api(srv.url, `/v1/jobs/${id}`)).status).toBe(404);
    expect(await jobFolders(srv.workDir)).toEqual([]);
  });

  it('answers 429 with Retry-After when every slot and queue place is taken', async () => {
    const running = await submitOk(srv.url, LONG, SMALL);
    const queued = await submitOk(srv.url, LONG, SMALL);
    const refused = await submit(srv.url, TINY, SMALL);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect((await errorOf(refused)).code).toBe('busy');
    expect((await health(srv.url)).jobs).toMatchObject({ running: 1, queued: 1 });
    expect(await jobFolders(srv.workDir)).toHaveLength(2);
    for (const id of [queued, running]) expect((await api(srv.url, `/v1/jobs/${id}`, { method: 'DELETE' })).status).toBe(200);
  });

  it('cancels a running job and a queued one on DELETE: state cancelled, files gone', async () => {
    const running = await submitOk(srv.url, LONG, SMALL);
    const queued = await submitOk(srv.url, LONG, SMALL);
    await until('the job to make progress', async () => (await status(srv.url, running)).framesDone > 0);

    const res = await api(srv.url, `/v1/jobs/${running}`, { method: 'DELETE' });
    expect(res.status).toBe(200);
    const body = (await res.json()) as JobStatusBody;
    expect(body).toMatchObject({ id: running, state: 'cancelled', error: { code: 'cancelled' }, result: null });
    expect(body.progress).toBeLessThan(1);
    // The queued job moved up and runs now; cancel it too.
    expect(((await (await api(srv.url, `/v1/jobs/${queued}`, { method: 'DELETE' })).json()) as JobStatusBody).state).toBe('cancelled');

    expect((await status(srv.url, running)).state).toBe('cancelled');
    expect(await jobFolders(srv.workDir)).toEqual([]);
    expect((await health(srv.url)).jobs).toMatchObject({ running: 0, queued: 0 });
  });

  it('refuses bodies over the limit with 413: declared (before 100 Continue) and streamed', async () => {
    const small = await another({ maxBodyBytes: 100_000 });
    const answer = (headers: Record<string, string>, body?: Buffer) =>
      new Promise<{ res: IncomingMessage; askedForBody: boolean }>((resolve, reject) => {
        let askedForBody = false;
        const req = request(`${small.url}/v1/jobs`, { method: 'POST', headers: { ...AUTH, ...headers } }, (res) =>
          resolve({ res, askedForBody }),
        );
        req.on('continue', () => (askedForBody = true));
        req.on('error', reject);
        if (body) req.write(body);
        else req.flushHeaders();
      });

    const declared = await answer({ 'content-length': String(10 * 1024 ** 3), expect: '100-continue' });
    expect(declared.res.statusCode).toBe(413);
    expect(declared.askedForBody).toBe(false);
    declared.res.resume();

    const streamed = await answer({ 'transfer-encoding': 'chunked' }, Buffer.alloc(200_000));
    expect(streamed.res.statusCode).toBe(413);
    streamed.res.resume();

    const plain = await submit(small.url, media('hopper_static_720x720.mp4'), SMALL);
    expect(plain.status).toBe(413);
    expect((await errorOf(plain)).code).toBe('body_too_large');
    expect(await jobFolders(small.workDir)).toEqual([]);
  });

  it('fails a job that runs past the job timeout with code timeout, and removes its files', async () => {
    const strict = await another({ jobTimeoutMs: 800 });
    const id = await submitOk(strict.url, LONG, SMALL);
    const st = await waitForState(strict.url, id, ['failed', 'done']);
    expect(st).toMatchObject({ state: 'failed', error: { code: 'timeout' }, result: null });
    expect(await jobFolders(strict.workDir)).toEqual([]);
  });

  it('forgets ended jobs and their results after the TTL', async () => {
    const shortTtl = await another({ resultTtlMs: 1000 });
    const id = await submitOk(shortTtl.url, TINY, SMALL);
    expect((await waitForState(shortTtl.url, id, ['done', 'failed'])).state).toBe('done');
    expect(await jobFolders(shortTtl.workDir)).toHaveLength(1);
    await until('the result to expire', async () => (await api(shortTtl.url, `/v1/jobs/${id}`)).status === 404, 5000);
    await until('its folder to go', async () => (await jobFolders(shortTtl.workDir)).length === 0, 2000);
  });

  it('drains on close: refuses new jobs, fails queued and overdue running jobs with code shutdown and the reason', async () => {
    const d = await another({ concurrency: 1, queueDepth: 1, shutdownGraceMs: 500 });
    const running = await submitOk(d.url, LONG, SMALL);
    const queued = await submitOk(d.url, LONG, SMALL);
    await until('the job to run', async () => (await status(d.url, running)).state === 'running');
    const runningEnd = status(d.url, running, 10_000); // a long poll that outlives the drain

    const closed = d.close('deploy 42');
    const q = await status(d.url, queued);
    expect(q).toMatchObject({ state: 'failed', error: { code: 'shutdown' } });
    expect(q.error!.message).toContain('deploy 42');
    const refused = await submit(d.url, TINY, SMALL);
    expect(refused.status).toBe(503);
    expect((await errorOf(refused)).code).toBe('shutting_down');
    const h = await fetch(`${d.url}/health`);
    expect(h.status).toBe(503);
    expect(((await h.json()) as HealthBody).status).toBe('draining');

    expect(await runningEnd).toMatchObject({ state: 'failed', error: { code: 'shutdown' } });
    await closed;
    await expect(fetch(`${d.url}/health`)).rejects.toThrow();
    expect((await import('node:fs')).existsSync(d.workDir)).toBe(false);
  });

  describe('input.url submissions', () => {
    let files: Server;
    let filesUrl: string;
    let elsewhere: Awaited<ReturnType<typeof connectionCounter>>;
    beforeAll(async () => {
      elsewhere = await connectionCounter();
      // A loopback file server standing in for an https object store.
      files = createHttpServer(async (req, res) => {
        if (req.url === '/redirect-to-https') {
          return void res.writeHead(302, { location: `https://127.0.0.1:${elsewhere.port}/tiny.mp4` }).end();
        }
        if (req.url !== '/tiny.mp4') return void res.writeHead(404).end();
        const data = await readFile(TINY);
        res.writeHead(200, { 'content-type': 'video/mp4', 'content-length': data.length }).end(data);
      });
      await new Promise<void>((r) => files.listen(0, '127.0.0.1', r));
      filesUrl = `http://127.0.0.1:${(files.address() as AddressInfo).port}`;
    });
    afterAll(async () => {
      await new Promise<void>((r) => files.close(() => r()));
      await elsewhere.close();
    });

    const submitUrl = (url: string, inputUrl: string) =>
      api(url, '/v1/jobs', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ input: { url: inputUrl }, options: SMALL }),
      });

    it('are refused by default (400 refused_url, saying so) and the worker never connects to the URL', async () => {
      for (const u of [`https://localhost:${elsewhere.port}/tiny.mp4`, `http://127.0.0.1:${elsewhere.port}/tiny.mp4`]) {
        const res = await submitUrl(srv.url, u);
        expect(res.status, u).toBe(400);
        const err = await errorOf(res);
        expect(err.code).toBe('refused_url');
        expect(err.message).toMatch(/turned off/);
      }
      expect(elsewhere.connections()).toBe(0);
      expect(await jobFolders(srv.workDir)).toEqual([]);
    });

    it('when turned on: refuses hosts that are or resolve to loopback/private addresses, without connecting', async () => {
      const w = await another({ inputUrl: { protocols: ['http:'] } });
      const port = elsewhere.port;
      for (const u of [
        `http://localhost:${port}/tiny.mp4`, // resolved by DNS, refused at connect time
        `http://127.0.0.1:${port}/tiny.mp4`,
        `http://0x7f.1:${port}/tiny.mp4`, // 127.0.0.1 spelled otherwise
        `http://[::1]:${port}/tiny.mp4`,
        `http://[::ffff:127.0.0.1]:${port}/tiny.mp4`,
        `http://10.0.0.1:${port}/tiny.mp4`,
        `http://169.254.169.254/latest/meta-data/`,
      ]) {
        const res = await submitUrl(w.url, u);
        expect(res.status, u).toBe(400);
        const err = await errorOf(res);
        expect(err.code, u).toBe('refused_url');
        expect(err.message, u).toMatch(/non-public/);
      }
      expect(elsewhere.connections()).toBe(0);
    });

    it('when turned on: a redirect to a protocol that is not allowed is refused before it is followed', async () => {
      const w = await another({ inputUrl: { protocols: ['http:'], allowPrivateAddresses: true } });
      const res = await submitUrl(w.url, `${filesUrl}/redirect-to-https`);
      expect(res.status).toBe(400);
      expect((await errorOf(res)).code).toBe('refused_url');
      expect(elsewhere.connections()).toBe(0);
    });

    it('when turned on: refuses plain-http and Telegram file URLs (they hold the bot token) with 400 refused_url', async () => {
      const w = await another({ inputUrl: { protocols: ['https:'] } });
      for (const u of [
        `${filesUrl}/tiny.mp4`,
        'https://api.telegram.org/file/bot123456:AAH-abcdefghijklmnopqrstuvwxyz012/videos/file_1.mp4',
        'https://proxy.example/file/bot123456:AAH-abcdefghijklmnopqrstuvwxyz012/videos/file_1.mp4',
      ]) {
        const res = await submitUrl(w.url, u);
        expect(res.status, u).toBe(400);
        expect((await errorOf(res)).code).toBe('refused_url');
      }
    });

    it('fetches an allowed URL into a job; a missing remote file is a 400', async () => {
      const w = await another({ inputUrl: { protocols: ['http:'], allowPrivateAddresses: true } });
      const res = await submitUrl(w.url, `${filesUrl}/tiny.mp4`);
      expect(res.status).toBe(202);
      const { id } = (await res.json()) as SubmitAccepted;
      expect((await waitForState(w.url, id, ['done', 'failed'])).state).toBe('done');
      const missing = await submitUrl(w.url, `${filesUrl}/nope.mp4`);
      expect(missing.status).toBe(400);
      expect((await errorOf(missing)).code).toBe('input_fetch_failed');
    });
  });

  describe('a disk error during an upload (a real worker process with a 1 MiB file size limit)', () => {
    let workParent: string;
    let child: ChildServer;
    beforeAll(async () => {
      workParent = await tempParent('bubblecast-gpu-worker-disk-');
      // Writing a file past 1 MiB fails with EFBIG: the 2.4 MB upload fails mid-way, smaller ones and results fit.
      child = await startChildServer(await unusedPort(), workParent, {}, { fileSizeLimitKiB: 1024 });
    });
    afterAll(async () => {
      await killHard(child);
      await rm(workParent, { recursive: true, force: true });
    });

    it('fails that upload only (507 storage_failed, its file removed); the running job finishes and the next job runs', async () => {
      const running = await submitOk(child.url, media('hopper_static_720x720.mp4'), SMALL); // 0.5 MB: fits
      const failed = await slowUpload(child.url, await readFile(LONG), SMALL);
      expect(failed.status).toBe(507);
      expect(failed.body.error).toMatchObject({ code: 'storage_failed', message: expect.stringContaining('EFBIG') });

      expect((await waitForState(child.url, running, ['done', 'failed'])).state).toBe('done');
      const next = await submitOk(child.url, TINY, SMALL);
      expect((await waitForState(child.url, next, ['done', 'failed'])).state).toBe('done');
      expect(child.child.exitCode).toBeNull();
      expect(child.child.signalCode).toBeNull();
      // Only the two jobs' folders: nothing of the failed upload is left.
      const [instance] = await instanceFolders(workParent);
      expect((await jobFolders(join(workParent, instance))).sort()).toEqual([running, next].sort());
    });
  });
});
