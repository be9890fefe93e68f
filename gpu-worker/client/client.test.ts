import { existsSync } from 'node:fs';
import { readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CancelledError, MediaError } from '../../common/errors.js';
import { media, needSharedMedia, probeStreams } from '../../testing/media.js';
import { parseOverlayOptions, renderOverlay } from '../../engine/index.js';
import type { HealthBody, JobStatusBody, ResultFileInfo } from '../server/api.js';
import type { GpuWorkerServer } from '../server/server.js';
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
} from '../server/test-support.js';
import { createGpuWorkerClient, GpuWorkerError, shouldFallBackToCpu, type GpuWorkerClientOptions } from './index.js';
import { classifyHttpError } from './errors.js';
import { unusedPort } from '../../testing/ports.js';

/**
 * The pipeline-facing client against the real server (in-process, and as a child process that a test kills),
 * real engine on CPU. Every failure must come out classified: `input` (never fall back) or a kind that falls back.
 */
const TINY = media('tiny_64x64.mp4');
const LONG = media('hopper_mall_720x1280.mp4');
const SMALL = { size: 128, formats: ['webm' as const] };

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error('expected a rejection');
}

describe('failure classification (which failures fall back to the CPU)', () => {
  it('maps HTTP answers to kinds', () => {
    const body = (code: string) => ({ error: { code: code as never, message: code } });
    const cases: Array<[number, string | null, string, string]> = [
      [401, 'unauthorized', 'auth', 'unauthorized'],
      [403, null, 'auth', 'unauthorized'],
      [422, 'not_video', 'input', 'not_video'],
      [422, 'no_person', 'input', 'no_person'],
      [422, 'something_new', 'bad_request', 'something_new'],
      [400, 'bad_options', 'bad_request', 'bad_options'],
      [400, null, 'unavailable', 'gateway_400'],
      [413, 'body_too_large', 'bad_request', 'body_too_large'],
      [404, 'not_found', 'bad_request', 'not_found'],
      [429, 'busy', 'unavailable', 'busy'],
      [500, 'internal', 'unavailable', 'http_500'],
      [502, null, 'unavailable', 'http_502'],
      [503, 'shutting_down', 'unavailable', 'http_503'],
    ];
    for (const [status, code, kind, reason] of cases) {
      const err = classifyHttpError(status, code ? body(code) : null, 'submit');
      expect([status, code, err.kind, err.reason]).toEqual([status, code, kind, reason]);
    }
  });

  it('falls back for every GpuWorkerError but a refused input; never for cancels or other errors', () => {
    const err = (kind: GpuWorkerError['kind']) => new GpuWorkerError(kind, 'r', 'm', { code: 'corrupt' });
    expect(shouldFallBackToCpu(err('unavailable'))).toBe(true);
    expect(shouldFallBackToCpu(err('auth'))).toBe(true);
    expect(shouldFallBackToCpu(err('bad_request'))).toBe(true);
    expect(shouldFallBackToCpu(err('input'))).toBe(false);
    expect(shouldFallBackToCpu(new CancelledError())).toBe(false);
    expect(shouldFallBackToCpu(new MediaError('corrupt', 'x'))).toBe(false);
    expect(shouldFallBackToCpu(new Error('bug'))).toBe(false);
    const media = err('input').toMediaError();
    expect(media).toBeInstanceOf(MediaError);
    expect(media!.code).toBe('corrupt');
    expect(err('unavailable').toMediaError()).toBeNull();
  });
});

describe('client against a worker that keeps losing the job', () => {
  let stub: Server;
  let submits = 0;
  beforeAll(async () => {
    // Accepts every job, then knows none of them: what a poll gets when each request reaches a fresh instance.
    stub = createServer((req, res) => {
      req.resume();
      if (req.method === 'POST') {
        submits++;
        return void res.writeHead(202, { 'content-type': 'application/json' }).end(JSON.stringify({ id: `job-${submits}`, state: 'queued' }));
      }
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { code: 'not_found', message: 'no such job' } }));
    });
    await new Promise<void>((r) => stub.listen(0, '127.0.0.1', r));
  });
  afterAll(() => new Promise<void>((r) => stub.close(() => r())));

  it.skipIf(!needSharedMedia())('resubmits once after a 404 poll, then gives up as unavailable/job_lost', async () => {
    const parent = await tempParent('bubblecast-gpu-worker-client-stub-');
    const client = createGpuWorkerClient({ url: `http://127.0.0.1:${(stub.address() as AddressInfo).port}`, token: TOKEN });
    const err = await rejection(client.process(TINY, SMALL, { outDir: parent }));
    expect(err).toBeInstanceOf(GpuWorkerError);
    expect(err).toMatchObject({ kind: 'unavailable', reason: 'job_lost' });
    expect(submits).toBe(2);
    expect(shouldFallBackToCpu(err)).toBe(true);
    await rm(parent, { recursive: true, force: true });
  });
});

describe('the worker URL is checked when the client is created', () => {
  const create = (url: string) => () => createGpuWorkerClient({ url, token: TOKEN });

  it('accepts https:, and plain http: only to a loopback host', () => {
    for (const url of [
      'https://ws--bubblecast-gpu-worker.modal.run',
      'https://endpoint.api.runpod.ai/',
      'http://127.0.0.1:8080',
      'http://127.8.9.10:8080/prefix/',
      'http://localhost:8080',
      'http://[::1]:8080',
    ]) {
      expect(create(url), url).not.toThrow();
    }
  });

  it('refuses http: to any other host, other protocols, credentials in the URL and non-URLs, naming the rule', () => {
    for (const url of [
      'http://gpu.example.com',
      'http://10.0.0.5:8080',
      'http://localhost.example.com',
      'http://127.0.0.1.nip.io',
      'http://[::ffff:127.0.0.1]',
      'ftp://gpu.example.com',
    ]) {
      expect(create(url), url).toThrow(/must use https: \(plain http: only for a loopback host/);
    }
    expect(create('https://user:secret@gpu.example.com')).toThrow(/must not carry credentials/);
    expect(create('gpu.example.com')).toThrow(/not a valid URL/);
  });
});

/**
 * A stand-in worker that accepts one job and reports it done with `files`, and a second loopback server that
 * records whatever reaches it (it must never see the token).
 */
describe('result downloads stay on the worker and within size', () => {
  let worker: Server;
  let workerUrl: string;
  let elsewhere: Server;
  let elsewhereUrl: string;
  let files: ResultFileInfo[] = [];
  let serveFile: (req: IncomingMessage, res: ServerResponse) => void = (_, res) => void res.writeHead(404).end();
  const fileRequests: string[] = [];
  const reachedElsewhere: Array<{ url?: string; authorization?: string }> = [];
  let connectionsElsewhere = 0;
  let tmp: string;
  let input: string;

  const json = (res: ServerResponse, status: number, body: unknown) =>
    void res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  const doneStatus = (): JobStatusBody => ({
    id: 'job-1',
    state: 'done',
    progress: 1,
    fps: 10,
    framesDone: 1,
    totalFrames: 1,
    engine: 'fast',
    provider: 'cpu',
    createdAt: new Date().toISOString(),
    startedAt: new Date().toISOString(),
    finishedAt: new Date().toISOString(),
    timings: { receiveMs: 1, probeMs: 1, queuedMs: 0, runMs: 1, perFrame: null },
    result: { files, frames: 1, durationSec: 0.04, width: 64, height: 64, throughputFps: 10, personCoverage: 1 },
    error: null,
  });
  const listen = async (s: Server) => {
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
  };
  let outDir = '';
  let runs = 0;
  /** One job against the stand-in, into a fresh folder (`outDir`). The deadline keeps a client that never stops short. */
  const run = (o: Partial<GpuWorkerClientOptions> = {}) => {
    outDir = join(tmp, `out${++runs}`);
    return createGpuWorkerClient({ url: workerUrl, token: TOKEN, deadlineMs: 10_000, ...o }).process(input, SMALL, { outDir });
  };

  beforeAll(async () => {
    tmp = await tempParent('bubblecast-gpu-worker-client-downloads-');
    input = join(tmp, 'input.mp4');
    await writeFile(input, Buffer.alloc(1000, 1));
    worker = createServer((req, res) => {
      req.resume();
      if (req.method === 'POST') return json(res, 202, { id: 'job-1', state: 'queued', statusUrl: '/v1/jobs/job-1' });
      if (req.method === 'DELETE') return json(res, 200, doneStatus());
      if (req.url?.startsWith('/v1/jobs/job-1?')) return json(res, 200, doneStatus());
      fileRequests.push(req.url ?? '');
      serveFile(req, res);
    });
    workerUrl = await listen(worker);
    elsewhere = createServer((req, res) => {
      reachedElsewhere.push({ url: req.url, authorization: req.headers.authorization });
      res.writeHead(200).end('x'.repeat(10));
    });
    elsewhere.on('connection', () => connectionsElsewhere++);
    elsewhereUrl = await listen(elsewhere);
  });
  afterAll(async () => {
    await Promise.all([worker, elsewhere].map((s) => new Promise<void>((r) => s.close(() => r()))));
    await rm(tmp, { recursive: true, force: true });
  });

  it('downloads a file the worker names on its own origin (the control for the refusals below)', async () => {
    files = [{ name: 'overlay.webm', bytes: 10, url: '/v1/jobs/job-1/result/overlay.webm' }];
    serveFile = (_, res) => void res.writeHead(200, { 'content-length': '10' }).end('y'.repeat(10));
    const r = await run();
    expect(await readFile(r.files['overlay.webm']!, 'utf8')).toBe('y'.repeat(10));
  });

  it('refuses a file URL on another origin: no connection there, the token never leaves the worker', async () => {
    const { port } = worker.address() as AddressInfo;
    const otherPort = (elsewhere.address() as AddressInfo).port;
    for (const url of [
      `${elsewhereUrl}/v1/jobs/job-1/result/overlay.webm`, // same host, another port
      `//127.0.0.1:${otherPort}/steal`, // protocol-relative
      `\\\\127.0.0.1:${otherPort}/steal`, // backslashes count as slashes in http(s) URLs
      `https://127.0.0.1:${port}/v1/jobs/job-1/result/overlay.webm`, // same host and port, another scheme
      `http://localhost:${port}/v1/jobs/job-1/result/overlay.webm`, // same server, another host name
    ]) {
      files = [{ name: 'overlay.webm', bytes: 10, url }];
      fileRequests.length = 0;
      const err = await rejection(run());
      expect(err, url).toBeInstanceOf(GpuWorkerError);
      expect(err, url).toMatchObject({ kind: 'unavailable', reason: 'off_origin_url' });
      expect(fileRequests, url).toEqual([]);
    }
    expect(connectionsElsewhere).toBe(0);
    expect(reachedElsewhere).toEqual([]);
  });

  it('refuses a file announced larger than maxResultBytes without requesting it', async () => {
    files = [{ name: 'overlay.webm', bytes: 5000, url: '/v1/jobs/job-1/result/overlay.webm' }];
    fileRequests.length = 0;
    const err = await rejection(run({ maxResultBytes: 1000 }));
    expect(err).toMatchObject({ kind: 'unavailable', reason: 'result_too_large' });
    expect(fileRequests).toEqual([]);
  });

  it('refuses a Content-Length over the announced size before reading the body', async () => {
    files = [{ name: 'overlay.webm', bytes: 1000, url: '/v1/jobs/job-1/result/overlay.webm' }];
    serveFile = (_, res) => void res.writeHead(200, { 'content-length': String(5_000_000) }).end(Buffer.alloc(5_000_000));
    const err = await rejection(run());
    expect(err).toBeInstanceOf(GpuWorkerError);
    expect(err).toMatchObject({ kind: 'unavailable', reason: 'result_too_large' });
    expect(await readdir(outDir)).toEqual([]);
  });

  it('aborts a download that streams past the announced size (no Content-Length), leaving no file', async () => {
    files = [{ name: 'overlay.webm', bytes: 1000, url: '/v1/jobs/job-1/result/overlay.webm' }];
    let cutOff = false;
    serveFile = (_, res) => {
      // An endless body: only the client hanging up ends it.
      res.writeHead(200, { 'content-type': 'video/webm' });
      const piece = Buffer.alloc(64 * 1024);
      res.on('close', () => (cutOff = !res.writableFinished));
      const pump = () => {
        while (!res.destroyed && res.write(piece));
        if (!res.destroyed) res.once('drain', pump);
      };
      pump();
    };
    const err = await rejection(run());
    expect(err).toBeInstanceOf(GpuWorkerError);
    expect(err).toMatchObject({ kind: 'unavailable', reason: 'result_too_large' });
    await until('the worker to see the download cut off', async () => cutOff, 5000);
    expect(await readdir(outDir)).toEqual([]);
  });
});

describe.skipIf(!needSharedMedia())('client against the real worker (CPU)', () => {
  let parent: string;
  let srv: GpuWorkerServer;
  let outRoot: string;
  let outN = 0;
  const out = () => join(outRoot, `o${++outN}`);
  const client = (o: Partial<GpuWorkerClientOptions> = {}, url = srv.url) => createGpuWorkerClient({ url, token: TOKEN, ...o });
  const jobCounts = async (url = srv.url) => ((await (await fetch(`${url}/health`)).json()) as HealthBody).jobs;

  beforeAll(async () => {
    parent = await tempParent('bubblecast-gpu-worker-client-test-');
    outRoot = await tempParent('bubblecast-gpu-worker-client-out-');
    srv = await startTestServer(parent, { concurrency: 1, queueDepth: 0 });
    await until('models loaded', async () => (await client().health()).status === 'ok', 60_000);
  });
  afterAll(async () => {
    await srv.close('test end');
    await rm(parent, { recursive: true, force: true });
    await rm(outRoot, { recursive: true, force: true });
  });

  it('runs a real job: uploads, polls, downloads every file; measures the overhead over a direct engine call', async () => {
    const options = { size: 128, formats: ['webm' as const, 'luma' as const] };
    const dir = out();
    const progress: number[] = [];
    const t0 = performance.now();
    const r = await client().process(TINY, options, { outDir: dir, onProgress: (p) => progress.push(p.progress) });
    const viaWorkerMs = performance.now() - t0;

    expect(Object.keys(r.files).sort()).toEqual(['color.mp4', 'matte.mp4', 'overlay.webm']);
    for (const path of Object.values(r.files)) expect((await stat(path)).size).toBeGreaterThan(1000);
    const [video] = await probeStreams(r.files['overlay.webm']!);
    expect(video).toMatchObject({ codec_name: 'vp9', width: 64, height: 64 });
    expect(Number(video.nb_read_frames)).toBe(r.frames);
    expect(r).toMatchObject({ provider: 'cpu', resubmits: 0, frames: 60 });
    expect(r.fps).toBeGreaterThan(0);
    expect(r.timings.runMs).toBeGreaterThan(0);
    expect(progress.at(-1)).toBe(1);
    expect(existsSync(join(dir, 'overlay.webm.part'))).toBe(false);
    // The client deleted the job after downloading: nothing left on the worker.
    expect(await jobFolders(srv.workDir)).toEqual([]);

    const t1 = performance.now();
    const direct = await renderOverlay(TINY, out(), parseOverlayOptions(options));
    const directMs = performance.now() - t1;
    console.log(
      `gpu-worker overhead on ${r.frames} frames (tiny_64x64, webm+luma): via worker ${Math.round(viaWorkerMs)} ms ` +
        `(submit ${r.timings.submitMs}, run ${r.timings.runMs}, download ${r.timings.downloadMs}) vs direct ${Math.round(directMs)} ms ` +
        `(engine ${direct.wallMs}) → +${Math.round(viaWorkerMs - directMs)} ms`,
    );
  });

  it('not-a-video: kind input with the MediaError code; the pipeline must not fall back', async () => {
    const err = await rejection(client().process(media('bad/not_video.mp4'), SMALL, { outDir: out() }));
    expect(err).toBeInstanceOf(GpuWorkerError);
    expect(err).toMatchObject({ kind: 'input', reason: 'not_video', details: { status: 422, code: 'not_video' } });
    expect(shouldFallBackToCpu(err)).toBe(false);
    expect((err as GpuWorkerError).toMediaError()?.code).toBe('not_video');
  });

  it('a bad token is kind auth, malformed options and an oversized body are bad_request — all fall back', async () => {
    const auth = await rejection(client({ token: 'not-the-token-0123456789' }).process(TINY, SMALL, { outDir: out() }));
    expect(auth).toMatchObject({ kind: 'auth', details: { status: 401 } });
    const options = await rejection(client().process(TINY, { size: 100_000 }, { outDir: out() }));
    expect(options).toMatchObject({ kind: 'bad_request', reason: 'bad_options', details: { status: 400 } });
    const small = await startTestServer(parent, { maxBodyBytes: 10_000, warmup: [] });
    const big = await rejection(client({}, small.url).process(TINY, SMALL, { outDir: out() }));
    await small.close();
    expect(big).toMatchObject({ kind: 'bad_request', reason: 'body_too_large', details: { status: 413 } });
    for (const e of [auth, options, big]) expect(shouldFallBackToCpu(e)).toBe(true);
    expect(await jobCounts()).toMatchObject({ running: 0, queued: 0 });
  });

  it('a full worker: retries 429 as long as Retry-After fits, then unavailable/busy', async () => {
    // Retry-After comes from recent run times (the tiny job above: ~1 s → 2 s); the blocker runs far longer.
    const stopBlocker = new AbortController();
    const blocker = rejection(client().process(LONG, SMALL, { outDir: out(), signal: stopBlocker.signal }));
    await until('the blocking job to run', async () => (await jobCounts()).running === 1);
    const t0 = Date.now();
    const err = await rejection(client({ submitAttempts: 2, maxRetryAfterMs: 60_000 }).process(TINY, SMALL, { outDir: out() }));
    expect(err).toMatchObject({ kind: 'unavailable', reason: 'busy', details: { status: 429 } });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900); // it waited Retry-After (≥ 1 s) once
    const noWait = await rejection(client({ maxRetryAfterMs: 0 }).process(TINY, SMALL, { outDir: out() }));
    expect(noWait).toMatchObject({ kind: 'unavailable', reason: 'busy' });
    stopBlocker.abort();
    expect(await blocker).toBeInstanceOf(CancelledError);
    await until('the worker to drop the blocker', async () => (await jobCounts()).running === 0);
  });

  it('the deadline gives up as unavailable/deadline and cancels the job on the worker', async () => {
    const parentOut = out();
    const t0 = Date.now();
    const err = await rejection(client({ deadlineMs: 1500 }).process(media('hopper_static_720x720.mp4'), SMALL, { outDir: parentOut }));
    expect(err).toMatchObject({ kind: 'unavailable', reason: 'deadline' });
    expect(Date.now() - t0).toBeLessThan(4000);
    await until('the worker to drop the job', async () => (await jobCounts()).running === 0 && (await jobFolders(srv.workDir)).length === 0);
  });

  it("the caller's abort rejects with CancelledError (no fallback) and cancels the job on the worker", async () => {
    const ac = new AbortController();
    const p = client().process(media('hopper_static_720x720.mp4'), SMALL, {
      outDir: out(),
      signal: ac.signal,
      onProgress: (s) => s.state === 'running' && ac.abort(),
    });
    const err = await rejection(p);
    expect(err).toBeInstanceOf(CancelledError);
    expect(shouldFallBackToCpu(err)).toBe(false);
    await until('the worker to drop the job', async () => (await jobCounts()).running === 0 && (await jobFolders(srv.workDir)).length === 0);
  });

  describe('a worker process that dies mid-job', () => {
    let workParent: string;
    let port: number;
    const children: ChildServer[] = [];
    beforeAll(async () => {
      workParent = await tempParent('bubblecast-gpu-worker-child-');
      port = await unusedPort();
    });
    afterAll(async () => {
      await Promise.all(children.map(killHard));
      await rm(workParent, { recursive: true, force: true });
    });

    it('restarted on the same URL: the poll gets 404, the client resubmits once and succeeds', async () => {
      const first = await startChildServer(port, workParent);
      children.push(first);
      const [firstDir] = await instanceFolders(workParent);
      let restarted: Promise<ChildServer> | null = null;
      const r = await client({ pollFailureLimit: 12 }, first.url).process(media('hopper_static_720x720.mp4'), SMALL, {
        outDir: out(),
        onProgress: (p) => {
          if (p.state === 'running' && p.progress > 0 && !restarted) {
            restarted = killHard(first).then(() => startChildServer(port, workParent));
            void restarted.then((c) => children.push(c));
          }
        },
      });
      expect(restarted).not.toBeNull();
      expect(r.resubmits).toBe(1);
      expect(r.frames).toBe(150);
      expect((await stat(r.files['overlay.webm']!)).size).toBeGreaterThan(1000);
      // The new process removed the dead one's work folder on start.
      expect(await instanceFolders(workParent)).not.toContain(firstDir);
    });

    it('killed for good: unavailable within the deadline', async () => {
      await Promise.all(children.map(killHard)); // the previous test's restarted child holds the port
      const child = await startChildServer(port, workParent);
      children.push(child);
      const t0 = Date.now();
      let killed = false;
      const err = await rejection(
        client({ deadlineMs: 60_000 }, child.url).process(LONG, SMALL, {
          outDir: out(),
          onProgress: (p) => {
            if (p.state === 'running' && !killed) {
              killed = true;
              void killHard(child);
            }
          },
        }),
      );
      expect(killed).toBe(true);
      expect(err).toMatchObject({ kind: 'unavailable', reason: 'connection_failed' });
      expect(shouldFallBackToCpu(err)).toBe(true);
      expect(Date.now() - t0).toBeLessThan(20_000);
    });
  });

  it('health() of an unreachable worker is unavailable', async () => {
    const err = await rejection(client({}, `http://127.0.0.1:${await unusedPort()}`).health());
    expect(err).toMatchObject({ kind: 'unavailable', reason: 'connection_failed' });
  });

  it('a worker whose disk is full (507) is not sent the same upload again; the pipeline may fall back', async () => {
    let submits = 0;
    const full = createServer((req, res) => {
      req.resume();
      submits++;
      res.writeHead(507, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { code: 'storage_failed', message: 'ENOSPC' } }));
    });
    await new Promise<void>((r) => full.listen(0, '127.0.0.1', r));
    const err = await rejection(client({}, `http://127.0.0.1:${(full.address() as AddressInfo).port}`).process(TINY, SMALL, { outDir: out() }));
    full.close();
    expect(err).toMatchObject({ kind: 'unavailable', reason: 'http_507' });
    expect(shouldFallBackToCpu(err)).toBe(true);
    expect(submits).toBe(1);
  });

  it('sends only the file bytes and the token header: never a URL', async () => {
    // A recording stand-in: what exactly leaves the pipeline on submit.
    let seen: { headers: Record<string, unknown>; body: Buffer } | null = null;
    const rec = createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      seen = { headers: req.headers, body: Buffer.concat(chunks) };
      res.writeHead(401).end();
    });
    await new Promise<void>((r) => rec.listen(0, '127.0.0.1', r));
    const recUrl = `http://127.0.0.1:${(rec.address() as AddressInfo).port}`;
    await rejection(client({}, recUrl).process(TINY, SMALL, { outDir: out() }));
    expect(seen!.body).toEqual(await readFile(TINY));
    expect(seen!.headers).toMatchObject({ authorization: AUTH.authorization, 'content-type': 'application/octet-stream' });
    expect(JSON.parse(String(seen!.headers['x-overlay-options']))).toEqual(SMALL);

    // Behind RunPod's gateway: its API key in Authorization, ours in X-GPU-Worker-Token.
    const behindGateway = client({ tokenHeader: 'x-gpu-worker-token', headers: { authorization: 'Bearer runpod-key' } }, recUrl);
    await rejection(behindGateway.process(TINY, SMALL, { outDir: out() }));
    rec.close();
    expect(seen!.headers).toMatchObject({ authorization: 'Bearer runpod-key', 'x-gpu-worker-token': TOKEN });
  });
});
