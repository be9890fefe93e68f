import { mkdtemp, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { Api, GrammyError } from 'grammy';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CancelledError, MediaError, TimeoutError } from '../../common/errors.js';
import { runFfmpeg } from '../../common/ffmpeg.js';
import { logger } from '../../common/logger.js';
import { GpuWorkerError, type GpuWorkerClient } from '../../gpu-worker/client/index.js';
import { ShotstackError } from '../../shotstack/errors.js';
import { startFakeTelegram, type FakeTelegram } from '../../testing/fake-telegram.js';
import { classifyError } from '../classify.js';
import { parseJobData, type JobData } from '../contract.js';
import { isPipelineError, PipelineError } from '../failures.js';
import { createTelegramDelivery } from './deliver.js';
import { cpuDeadlineMs, createOverlayProducer, type CpuEngine, type OverlayRequest } from './overlay.js';
import { downloadTelegramInput } from './telegram-input.js';

const TOKEN = '4242:stage-test-SECRET-token';
const MB = 1024 * 1024;

describe('fetch from Telegram', () => {
  let tg: FakeTelegram;
  let api: Api;
  let dir: string;
  const lines: string[] = [];
  const log = pino({ level: 'debug' }, new Writable({ write: (c, _e, cb) => (lines.push(String(c)), cb()) }));

  beforeAll(async () => {
    tg = await startFakeTelegram({ token: TOKEN });
    api = new Api(TOKEN, { apiRoot: tg.apiRoot });
    dir = await mkdtemp(join(tmpdir(), 'pipeline-fetch-'));
  });
  afterAll(async () => {
    await tg.close();
    await rm(dir, { recursive: true, force: true });
  });

  const opts = () => ({ api, token: TOKEN, apiRoot: tg.apiRoot, downloadLimitBytes: 20 * MB, maxBytes: 100 * MB, timeoutMs: 10_000 });
  const ctx = () => ({ signal: new AbortController().signal, log });
  const refOf = (f: { file_id: string; file_unique_id: string }) => ({ source: 'telegram' as const, fileId: f.file_id, fileUniqueId: f.file_unique_id, kind: 'video' as const });

  it('downloads through getFile + the file URL, and never logs the token', async () => {
    const src = join(dir, 'src.bin');
    await writeFile(src, Buffer.alloc(300_000, 7));
    const dest = join(dir, 'out', 'head.mp4');
    await downloadTelegramInput(opts(), refOf(tg.registerFile(src)), dest, ctx());
    expect(await readFile(dest)).toEqual(await readFile(src));
    expect(lines.join('')).toContain('telegram file downloaded');
    expect(lines.join('')).not.toContain('SECRET');
  });

  it('turns "file is too big" (over 20 MB, no size hint) into a user error', async () => {
    const big = join(dir, 'big.bin');
    await writeFile(big, '');
    await truncate(big, 21 * MB);
    const err = await downloadTelegramInput(opts(), refOf(tg.registerFile(big)), join(dir, 'x'), ctx()).catch((e: unknown) => e);
    expect(isPipelineError(err) && err.code).toBe('telegram_file_too_big');
    expect((err as PipelineError).retryable).toBe(false);
  });

  it('classifies an unknown file id, a wrong token and a busy server', async () => {
    const bad = await downloadTelegramInput(opts(), { ...refOf({ file_id: 'AgACnope', file_unique_id: 'nope' }) }, join(dir, 'y'), ctx()).catch((e: unknown) => e);
    expect(bad).toMatchObject({ code: 'input_unavailable', retryable: false });
    const wrongApi = new Api('4242:wrong', { apiRoot: tg.apiRoot });
    const src = tg.registerFile(join(dir, 'src.bin'));
    const auth = await downloadTelegramInput({ ...opts(), api: wrongApi, token: '4242:wrong' }, refOf(src), join(dir, 'z'), ctx()).catch((e: unknown) => e);
    expect(auth).toMatchObject({ code: 'misconfigured', retryable: false });
    tg.injectFault({ method: 'getFile', status: 429, retryAfter: 1 });
    const busy = await downloadTelegramInput(opts(), refOf(src), join(dir, 'w'), ctx()).catch((e: unknown) => e);
    expect(busy).toMatchObject({ code: 'telegram_unavailable', retryable: true });
    expect(String((busy as Error).message)).not.toContain('SECRET');
  });

  it('refuses a file over our own limit while streaming it', async () => {
    const src = join(dir, 'mid.bin');
    await writeFile(src, Buffer.alloc(2 * MB, 1));
    const f = tg.registerFile(src);
    const err = await downloadTelegramInput({ ...opts(), maxBytes: MB }, refOf(f), join(dir, 'v'), ctx()).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'too_large', retryable: false });
    await expect(stat(join(dir, 'v.part'))).rejects.toThrow();
  });
});

describe('deliver to Telegram', () => {
  let tg: FakeTelegram;
  let dir: string;
  let bigVideo: string;
  const data = (chatId: number): JobData =>
    parseJobData({ chatId, userId: chatId, messageId: 3, language: 'ru', head: { source: 'local', path: '/x' }, background: { source: 'local', path: '/y' } });

  beforeAll(async () => {
    tg = await startFakeTelegram({ token: TOKEN });
    dir = await mkdtemp(join(tmpdir(), 'pipeline-deliver-'));
    bigVideo = join(dir, 'noise.mp4');
    // Lossless: megabytes for 2 s, far over the test's upload limit, yet easy to shrink with a real bitrate.
    await runFfmpeg(['-f', 'lavfi', '-i', 'testsrc2=s=640x360:d=2:r=25', '-c:v', 'libx264', '-preset', 'ultrafast', '-qp', '0', '-pix_fmt', 'yuv420p', bigVideo]);
  });
  afterAll(async () => {
    await tg.close();
    await rm(dir, { recursive: true, force: true });
  });

  const deliverable = async () => ({ kind: 'video' as const, path: bigVideo, bytes: (await stat(bigVideo)).size, durationSec: 2, width: 320, height: 240 });
  const ctx = () => ({ signal: new AbortController().signal, log: logger, workDir: dir });

  it('re-encodes a result over the upload limit to fit, then sends it as a video', async () => {
    const limit = 300_000;
    const d = await deliverable();
    expect(d.bytes).toBeGreaterThan(limit);
    const delivery = createTelegramDelivery({ api: new Api(TOKEN, { apiRoot: tg.apiRoot }), uploadLimitBytes: limit });
    const record = await delivery.deliver(d, data(501), ctx());
    expect(record).toMatchObject({ method: 'sendVideo', shrunk: true });
    expect(record.bytes).toBeLessThanOrEqual(limit);
    expect(tg.sentFiles.at(-1)).toMatchObject({ chatId: 501, method: 'sendVideo' });
    expect(tg.callsOf('sendChatAction').at(-1)?.params).toMatchObject({ chat_id: 501, action: 'upload_video' });
  });

  it('sends a download link when it cannot shrink enough and the file is public; refuses otherwise', async () => {
    const delivery = createTelegramDelivery({ api: new Api(TOKEN, { apiRoot: tg.apiRoot }), uploadLimitBytes: 10_000 });
    const d = await deliverable();
    const link = await delivery.deliver({ ...d, publicUrl: 'https://cdn.example/render.mp4' }, data(502), ctx());
    expect(link).toMatchObject({ method: 'sendMessage', asLink: true });
    expect(tg.callsOf('sendMessage').at(-1)?.params.text).toContain('https://cdn.example/render.mp4');
    const err = await delivery.deliver(d, data(503), ctx()).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'output_too_large', retryable: false });
  });

  it('maps Telegram refusals: blocked chat is final, 429 and 5xx are retried', async () => {
    const delivery = createTelegramDelivery({ api: new Api(TOKEN, { apiRoot: tg.apiRoot }), uploadLimitBytes: 50 * MB });
    tg.blockChat(504);
    const blocked = await delivery.deliver({ ...(await deliverable()), kind: 'overlay' }, data(504), ctx()).catch((e: unknown) => e);
    expect(blocked).toBeInstanceOf(GrammyError);
    expect(classifyError(blocked)).toMatchObject({ retryable: false, failure: { code: 'chat_unavailable' } });
    tg.injectFault({ method: 'sendDocument', status: 429, retryAfter: 2 });
    const busy = await delivery.deliver({ ...(await deliverable()), kind: 'overlay' }, data(505), ctx()).catch((e: unknown) => e);
    expect(classifyError(busy)).toMatchObject({ retryable: true, failure: { code: 'telegram_unavailable' } });
  });
});

describe('overlay path selection', () => {
  const calls: string[] = [];
  const fakeCpu: CpuEngine = {
    parseOverlayOptions: (o) => o as never,
    renderOverlay: async (_input, outDir) => {
      calls.push('cpu');
      return { files: { 'note.mp4': join(outDir, 'note.mp4') }, provider: 'cpu', durationSec: 1, width: 64, height: 64 } as never;
    },
  };
  const gpuFailing = (err: Error): GpuWorkerClient => ({
    process: async () => {
      calls.push('gpu');
      throw err;
    },
    health: async () => {
      throw err;
    },
  });
  const gpuOk: GpuWorkerClient = {
    process: async (_i, _o, p) => {
      calls.push('gpu');
      return { files: { 'note.mp4': join(p.outDir, 'note.mp4') }, provider: 'cuda', durationSec: 1, width: 64, height: 64 } as never;
    },
    health: async () => ({}) as never,
  };
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pipeline-overlay-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  const req = (): OverlayRequest => ({ input: '/in.mp4', outDir: join(dir, 'o'), options: {}, engine: 'fast', onProgress: () => undefined, signal: new AbortController().signal, log: logger });
  const down = new GpuWorkerError('unavailable', 'connection_failed', 'down');

  it('auto: GPU first; CPU with the reason when the GPU is unavailable, misconfigured, not configured or unhealthy', async () => {
    calls.length = 0;
    const ok = await createOverlayProducer({ mode: async () => 'auto', gpu: gpuOk, cpu: async () => fakeCpu })(req());
    expect(ok.record).toMatchObject({ path: 'gpu', provider: 'cuda', fallbackReason: null });
    const fell = await createOverlayProducer({ mode: async () => 'auto', gpu: gpuFailing(down), cpu: async () => fakeCpu })(req());
    expect(fell.record).toMatchObject({ path: 'cpu', fallbackReason: 'unavailable:connection_failed' });
    const auth = await createOverlayProducer({ mode: async () => 'auto', gpu: gpuFailing(new GpuWorkerError('auth', 'unauthorized', 'no')), cpu: async () => fakeCpu })(req());
    expect(auth.record.fallbackReason).toBe('auth:unauthorized');
    const none = await createOverlayProducer({ mode: async () => 'auto', gpu: null, cpu: async () => fakeCpu })(req());
    expect(none.record.fallbackReason).toBe('gpu_not_configured');
    const before = calls.length;
    const sick = await createOverlayProducer({ mode: async () => 'auto', gpu: gpuOk, gpuHealthy: () => false, cpu: async () => fakeCpu })(req());
    expect(sick.record.fallbackReason).toMatch(/^unhealthy:/);
    expect(calls.slice(before)).toEqual(['cpu']);
  });

  it('cpu: the engine gets the fetch stage\'s probe of the same file, else the path (it probes itself)', async () => {
    const inputs: unknown[] = [];
    const recording: CpuEngine = { ...fakeCpu, renderOverlay: (input, ...rest) => (inputs.push(input), fakeCpu.renderOverlay(input, ...rest)) };
    const produce = createOverlayProducer({ mode: async () => 'cpu', gpu: null, cpu: async () => recording });
    const probe = { path: '/in.mp4', sizeBytes: 1, formatName: 'mov,mp4', durationSec: 1, video: null, audio: null };
    await produce({ ...req(), probe });
    await produce({ ...req(), probe: { ...probe, path: '/other.mp4' } });
    await produce(req());
    expect(inputs).toEqual([probe, '/in.mp4', '/in.mp4']);
  });

  it('auto: an input the GPU worker refused is not retried on the CPU', async () => {
    calls.length = 0;
    const refused = new GpuWorkerError('input', 'no_person', 'nobody there', { code: 'no_person' });
    const err = await createOverlayProducer({ mode: async () => 'auto', gpu: gpuFailing(refused), cpu: async () => fakeCpu })(req()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MediaError);
    expect((err as MediaError).code).toBe('no_person');
    expect(calls).toEqual(['gpu']);
  });

  it('auto: a GPU that ran out of time on this video is not retried on the CPU (nor is the job)', async () => {
    for (const tooLong of [
      new GpuWorkerError('unavailable', 'job_failed', 'ran past the limit', { code: 'timeout' }),
      new GpuWorkerError('unavailable', 'deadline', 'did not finish within the deadline'),
      new GpuWorkerError('unavailable', 'deadline', 'did not finish within the deadline', { ranOnWorker: true }),
    ]) {
      calls.length = 0;
      const err = await createOverlayProducer({ mode: async () => 'auto', gpu: gpuFailing(tooLong), cpu: async () => fakeCpu })(req()).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'gpu_unavailable', retryable: false });
      expect(calls).toEqual(['gpu']);
    }
  });

  it('auto: a deadline spent before the GPU worker started on the video (upload, its queue) falls back to the CPU', async () => {
    calls.length = 0;
    const queued = new GpuWorkerError('unavailable', 'deadline', 'did not finish within the deadline', { ranOnWorker: false });
    const out = await createOverlayProducer({ mode: async () => 'auto', gpu: gpuFailing(queued), cpu: async () => fakeCpu })(req());
    expect(calls).toEqual(['gpu', 'cpu']);
    expect(out.record).toMatchObject({ path: 'cpu', fallbackReason: 'unavailable:deadline' });
  });

  it('the CPU engine runs under a deadline: a run past it fails the attempt as a timeout, not a cancel', async () => {
    const hanging: CpuEngine = {
      parseOverlayOptions: fakeCpu.parseOverlayOptions,
      renderOverlay: (_i, _o, _opts, hooks) =>
        new Promise((_, reject) => hooks?.signal?.addEventListener('abort', () => reject(new CancelledError()), { once: true })),
    };
    const asked: Array<[number, string]> = [];
    const t0 = performance.now();
    const err = await createOverlayProducer({
      mode: async () => 'cpu',
      gpu: null,
      cpu: async () => hanging,
      cpuDeadline: (sec, engine) => (asked.push([sec, engine]), 300),
    })({ ...req(), durationSec: 7 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TimeoutError);
    expect(classifyError(err).failure.code).toBe('internal');
    expect(performance.now() - t0).toBeLessThan(3000);
    expect(asked).toEqual([[7, 'fast']]);
    expect(cpuDeadlineMs(10, 'fast')).toBeLessThan(cpuDeadlineMs(10, 'quality'));
    expect(cpuDeadlineMs(180, 'fast')).toBeGreaterThan(180_000);
  });

  it('gpu: never the CPU; unavailable is retryable, misconfiguration is not', async () => {
    calls.length = 0;
    const a = await createOverlayProducer({ mode: async () => 'gpu', gpu: gpuFailing(down), cpu: async () => fakeCpu })(req()).catch((e: unknown) => e);
    expect(a).toMatchObject({ code: 'gpu_unavailable', retryable: true });
    const b = await createOverlayProducer({ mode: async () => 'gpu', gpu: null, cpu: async () => fakeCpu })(req()).catch((e: unknown) => e);
    expect(b).toMatchObject({ code: 'misconfigured', retryable: false });
    expect(calls).toEqual(['gpu']);
  });

  it('cpu: the GPU is not asked', async () => {
    calls.length = 0;
    const r = await createOverlayProducer({ mode: async () => 'cpu', gpu: gpuOk, cpu: async () => fakeCpu })(req());
    expect(r.record).toMatchObject({ path: 'cpu', mode: 'cpu', fallbackReason: null });
    expect(calls).toEqual(['cpu']);
  });
});

describe('error classification', () => {
  it('decides retry vs final for each kind of failure', () => {
    expect(classifyError(new MediaError('corrupt', 'x'))).toMatchObject({ retryable: false, failure: { category: 'media', code: 'corrupt' } });
    expect(classifyError(new ShotstackError('render_failed', 'r', { serviceMessage: 'Asset 404' }))).toMatchObject({ retryable: false, failure: { code: 'render_failed', message: 'Asset 404' } });
    expect(classifyError(new ShotstackError('retryable', 'HTTP 503'))).toMatchObject({ retryable: true, failure: { code: 'renderer_unavailable' } });
    expect(classifyError(new ShotstackError('auth', 'HTTP 403'))).toMatchObject({ retryable: false, failure: { code: 'misconfigured' } });
    expect(classifyError(new CancelledError())).toMatchObject({ retryable: false, failure: { code: 'cancelled' } });
    expect(classifyError(new Error('boom'))).toMatchObject({ retryable: true, failure: { code: 'internal' } });
  });
});
