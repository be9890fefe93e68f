import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGpuWorkerServer } from '../../gpu-worker/server/server.js';
import { bubblePlacement } from '../../shotstack/timeline.js';
import { media, needSharedMedia } from '../../testing/media.js';
import { getQueueOverview, getStats, listFailed, readPipelineHealth, retryJob, setMode } from '../admin.js';
import { cancelJob, parseFailure, parseProgress, type JobData, type JobProgress } from '../contract.js';
import { failureText, resultCaption } from '../messages.js';
import { bubbleLayout } from '../stages/layout.js';
import {
  BOT_TOKEN,
  checkBubble,
  makeTestClips,
  startHarness,
  TEST_SETTINGS,
  type Harness,
  type TestClips,
} from '../test-support.js';

/**
 * The worker end to end, in this process: real Redis, the real CPU engine, the local Shotstack renderer, the
 * fake Telegram Bot API over HTTP, and GPU workers that are real, down, failing or hanging.
 */
const GPU_TOKEN = 'gpu-test-token-0123456789';

describe.skipIf(!needSharedMedia())('pipeline worker end to end', () => {
  let h: Harness;
  let clips: TestClips;

  beforeAll(async () => {
    h = await startHarness('worker');
    clips = await makeTestClips(join(h.workDir, 'clips'));
  });
  afterAll(async () => {
    await h?.close();
  });

  const videoJob = (extra: Partial<JobData> = {}) => ({
    head: h.telegramRef(clips.head),
    background: h.telegramRef(clips.background),
    output: 'video' as const,
    ...extra,
  });

  it('delivers a video whose bubble shows the speaker; progress, heartbeat, stats; the token never reaches the logs', async () => {
    const lines: string[] = [];
    const capture = pino({ level: 'debug' }, new Writable({ write: (c, _e, cb) => (lines.push(String(c)), cb()) }));
    await h.startWorker({ mode: 'cpu', logger: capture });
    const progress: JobProgress[] = [];
    const events = h.queue; // progress is read from the job while it runs
    const jobId = await h.enqueue({ ...videoJob(), messageId: 5 });
    const poll = setInterval(async () => {
      const job = await events.getJob(jobId);
      const p = parseProgress(job?.progress);
      // A new stage starts at the percent the last one ended with: compare both, or a quick stage goes unseen.
      const last = progress.at(-1);
      if (p && (!last || last.percent !== p.percent || last.stage !== p.stage)) progress.push(p);
    }, 50);
    const { state, job } = await h.waitFinished(jobId);
    clearInterval(poll);
    expect(state, job.failedReason).toBe('completed');

    const result = job.returnvalue;
    expect(result.overlay).toMatchObject({ path: 'cpu', provider: 'cpu', mode: 'cpu', fallbackReason: null });
    expect((await h.queue.getJobLogs(jobId)).logs.some((l) => l.startsWith('overlay: {"path":"cpu"'))).toBe(true);
    expect(result.delivered).toMatchObject({ method: 'sendVideo' });
    expect(result.resumed).toEqual([]);
    for (const stage of ['fetch', 'overlay', 'render', 'deliver'] as const) expect(result.timingsMs[stage]).toBeGreaterThanOrEqual(0);
    // The in-process renderer keeps no copy of the user's videos once the job has its file.
    for (const sub of ['sources', 'renders']) expect(await readdir(join(h.shotstack.dataDir, sub)).catch(() => [])).toEqual([]);

    // Exactly one video, in the right chat, replying to the request.
    const sent = h.tg.sentFiles.filter((f) => f.chatId === job.data.chatId);
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({ method: 'sendVideo', field: 'video', messageId: result.delivered.messageId });
    const call = h.tg.callsOf('sendVideo').find((c) => c.params.chat_id === job.data.chatId)!;
    expect(call.params).toMatchObject({ supports_streaming: true, width: 576, height: 1024 });
    expect(h.tg.callsOf('getFile').length).toBeGreaterThanOrEqual(2);

    // The bubble (bottom right, size M) shows the speaker; the rest is the background.
    const layout = bubbleLayout(job.data, TEST_SETTINGS);
    const place = bubblePlacement(layout.edit);
    const check = await checkBubble(sent[0]!.path, clips, { width: place.width, height: place.height, x: place.x, y: place.y, side: place.side });
    expect(check.personPoints).toBeGreaterThan(500);
    expect(check.personVsHead).toBeLessThan(25);
    expect(check.personVsBackground).toBeGreaterThan(60);
    expect(check.outsideVsBackground).toBeLessThan(10);

    // Progress went through the stages in order and never backwards.
    expect(progress.length).toBeGreaterThan(2);
    const percents = progress.map((p) => p.percent);
    expect([...percents].sort((a, b) => a - b)).toEqual(percents);
    expect(new Set(progress.map((p) => p.stage)).has('overlay')).toBe(true);

    // Admin views.
    const health = await readPipelineHealth({ redis: h.redis, prefix: h.prefix });
    expect(health.workers[0]).toMatchObject({ mode: { effective: 'cpu', source: 'env' }, gpu: { configured: false } });
    expect(health.counters.overlayCpu).toBeGreaterThanOrEqual(1);
    const stats = await getStats({ queue: h.queue });
    expect(stats.completed).toBeGreaterThanOrEqual(1);
    expect(stats.medianStageMs.overlay).toBeGreaterThan(0);
    expect((await getQueueOverview({ queue: h.queue })).counts.completed).toBeGreaterThanOrEqual(1);

    // The work folder is gone; the token appears nowhere in the logs (which did log the download).
    expect(lines.some((l) => l.includes('telegram file downloaded'))).toBe(true);
    expect(lines.join('\n')).not.toContain(BOT_TOKEN);
    expect(lines.join('\n')).not.toContain(BOT_TOKEN.split(':')[1]!);
  });

  it('runs on the GPU worker in auto mode when it is healthy', async () => {
    const gpu = await startGpuWorkerServer({ token: GPU_TOKEN, port: 0, host: '127.0.0.1', workDir: join(h.workDir, 'gpu'), shutdownGraceMs: 0 });
    try {
      await h.startWorker({ mode: 'auto', gpu: { url: gpu.url, token: GPU_TOKEN } });
      const jobId = await h.enqueue({ ...videoJob() });
      const { state, job } = await h.waitFinished(jobId);
      expect(state, job.failedReason).toBe('completed');
      expect(job.returnvalue.overlay).toMatchObject({ path: 'gpu', mode: 'auto', fallbackReason: null });

      // An admin override to cpu wins over the env's auto at the next job.
      await setMode({ redis: h.redis, prefix: h.prefix }, 'cpu', 1);
      const second = await h.enqueue({ ...videoJob() });
      const done = await h.waitFinished(second);
      expect(done.job.returnvalue.overlay).toMatchObject({ path: 'cpu', mode: 'cpu', fallbackReason: null });
      await setMode({ redis: h.redis, prefix: h.prefix }, null);
    } finally {
      await h.stopWorker();
      await gpu.close();
    }
  });

  describe('GPU worker trouble in auto mode → the CPU does it and the job records why', () => {
    let failing: Server;
    let hanging: Server;
    let failingUrl: string;
    let hangingUrl: string;

    beforeAll(async () => {
      failing = createServer((req, res) => {
        req.resume();
        res.writeHead(503, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { code: 'internal', message: 'injected 503' } }));
      });
      hanging = createServer((req) => req.resume()); // reads, never answers
      await Promise.all([new Promise<void>((r) => failing.listen(0, '127.0.0.1', r)), new Promise<void>((r) => hanging.listen(0, '127.0.0.1', r))]);
      failingUrl = `http://127.0.0.1:${(failing.address() as AddressInfo).port}`;
      hangingUrl = `http://127.0.0.1:${(hanging.address() as AddressInfo).port}`;
    });
    afterAll(async () => {
      hanging.closeAllConnections();
      await Promise.all([new Promise((r) => failing.close(r)), new Promise((r) => hanging.close(r))]);
    });

    const cases: Array<[string, () => string, RegExp]> = [
      ['down (connection refused)', () => 'http://127.0.0.1:9', /^(unavailable:connection_failed|unhealthy:)/],
      ['answering 5xx', () => failingUrl, /^(unavailable:http_503|unhealthy:)/],
      ['hanging', () => hangingUrl, /^(unavailable:(deadline|connection_failed)|unhealthy:)/],
    ];
    for (const [what, url, reason] of cases) {
      it(what, async () => {
        await h.startWorker({ mode: 'auto', gpu: { url: url(), token: GPU_TOKEN, deadlineMs: 3000, idleTimeoutMs: 1000 } });
        try {
          const jobId = await h.enqueue({ ...videoJob(), output: 'note', background: null });
          const { state, job } = await h.waitFinished(jobId);
          expect(state, job.failedReason).toBe('completed');
          expect(job.returnvalue.overlay.path).toBe('cpu');
          expect(job.returnvalue.overlay.mode).toBe('auto');
          expect(job.returnvalue.overlay.fallbackReason).toMatch(reason);
          expect(h.tg.sentFiles.filter((f) => f.chatId === job.data.chatId).map((f) => f.method)).toEqual(['sendVideoNote']);
        } finally {
          await h.stopWorker();
        }
      });
    }

    it('counts the fallbacks for admins', async () => {
      const health = await readPipelineHealth({ redis: h.redis, prefix: h.prefix });
      expect(health.counters.fallbackTotal).toBeGreaterThanOrEqual(3);
    });
  });

  it('PROCESSING_MODE=gpu with the GPU worker down fails after its retries with a clear reason', async () => {
    await h.startWorker({ mode: 'gpu', gpu: { url: 'http://127.0.0.1:9', token: GPU_TOKEN, deadlineMs: 2000 } });
    try {
      const started = Date.now();
      const jobId = await h.enqueue({ ...videoJob(), output: 'overlay', background: null }, { attempts: 2 });
      const { state, job } = await h.waitFinished(jobId, 30_000);
      expect(state).toBe('failed');
      expect(Date.now() - started).toBeLessThan(20_000);
      expect(job.attemptsMade).toBe(2);
      const failure = parseFailure(job.failedReason);
      expect(failure).toMatchObject({ category: 'pipeline', code: 'gpu_unavailable', userFixable: false });
      expect(failure.message).toMatch(/PROCESSING_MODE=gpu/);
      const { logs } = await h.queue.getJobLogs(jobId);
      expect(logs.filter((l) => l.includes('pipeline:gpu_unavailable'))).toHaveLength(2);
      // The user hears of it once, in their language; no video.
      const texts = h.tg.callsOf('sendMessage').filter((c) => c.params.chat_id === job.data.chatId).map((c) => c.params.text);
      expect(texts).toEqual([failureText('gpu_unavailable', 'en')]);
      expect(h.tg.sentFiles.filter((f) => f.chatId === job.data.chatId)).toHaveLength(0);
      expect((await listFailed({ queue: h.queue }, 5)).find((f) => f.id === jobId)?.failure.code).toBe('gpu_unavailable');
    } finally {
      await h.stopWorker();
    }
  });

  it('retries Shotstack 429/5xx, and a job-level retry resumes after the overlay instead of redoing it', async () => {
    await h.startWorker({ mode: 'cpu', shotstackMaxRetries: 1 });
    try {
      const renderPosts = () => h.shotstack.requests.filter((r) => r.method === 'POST' && r.path === '/edit/stage/render');
      const before = renderPosts().length;
      // 2 × 429 on ingest (absorbed by the client's own retries), then 3 × 503 on POST /render: more than the
      // client retries once, so the first attempt fails (renderer_unavailable) and BullMQ retries the job.
      h.shotstack.injectFaults({
        respond: [
          { route: 'ingest', method: 'POST', status: 429, count: 2, retryAfterSec: 0 },
          { route: 'edit', method: 'POST', status: 503, count: 3 },
        ],
      });
      const jobId = await h.enqueue({ ...videoJob() }, { attempts: 3 });
      const { state, job } = await h.waitFinished(jobId);
      expect(state, job.failedReason).toBe('completed');
      expect(job.attemptsMade).toBe(2); // BullMQ 6 counts the successful attempt too
      expect(job.returnvalue.resumed).toEqual(['fetch', 'overlay']);
      const statuses = h.shotstack.requests.map((r) => r.status);
      expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(2);
      expect(renderPosts().length - before).toBe(4); // 3 refused + 1 accepted
      expect(h.tg.sentFiles.filter((f) => f.chatId === job.data.chatId)).toHaveLength(1);
    } finally {
      h.shotstack.clearFaults();
      await h.stopWorker();
    }
  });

  it('a failed Shotstack render reaches the user as a clear message, without retries', async () => {
    await h.startWorker({ mode: 'cpu' });
    try {
      h.shotstack.injectFaults({ failRenders: { count: 1, message: 'Asset fetch failed: injected' } });
      const jobId = await h.enqueue({ ...videoJob() }, { attempts: 3 });
      const { state, job } = await h.waitFinished(jobId);
      expect(state).toBe('failed');
      expect(job.attemptsMade).toBe(1);
      expect(parseFailure(job.failedReason)).toMatchObject({ code: 'render_failed', message: expect.stringContaining('injected') });
      const texts = h.tg.callsOf('sendMessage').filter((c) => c.params.chat_id === job.data.chatId).map((c) => c.params.text);
      expect(texts).toEqual([failureText('render_failed', 'en')]);

      // An admin retry renders afresh (the failed render id was forgotten) and the video arrives.
      expect(await retryJob({ queue: h.queue, redis: h.redis, prefix: h.prefix }, jobId)).toBe('retried');
      const again = await h.waitFinished(jobId);
      expect(again.state, again.job.failedReason).toBe('completed');
      expect(h.tg.sentFiles.filter((f) => f.chatId === job.data.chatId)).toHaveLength(1);
    } finally {
      h.shotstack.clearFaults();
      await h.stopWorker();
    }
  });

  describe('bad inputs are unrecoverable, with the right code and one message', () => {
    beforeAll(async () => {
      await h.startWorker({ mode: 'cpu' });
    });
    afterAll(async () => {
      await h.stopWorker();
    });
    const cases: Array<[string, string]> = [
      ['bad/zero.mp4', 'empty_file'],
      ['bad/not_video.mp4', 'not_video'],
      ['bad/audio_only.mp4', 'no_video_stream'],
      ['bad/corrupt.mp4', 'corrupt'],
      ['bad/long_header_only.mp4', 'too_long'],
      ['bad/no_person_1280x720.mp4', 'no_person'],
    ];
    for (const [file, code] of cases) {
      it(`${file} → media:${code}`, async () => {
        const jobId = await h.enqueue({ head: h.telegramRef(media(file), 'document'), output: 'overlay', background: null }, { attempts: 3 });
        const { state, job } = await h.waitFinished(jobId);
        expect(state).toBe('failed');
        expect(job.attemptsMade).toBe(1);
        expect(parseFailure(job.failedReason)).toMatchObject({ category: 'media', code, userFixable: true });
        const texts = h.tg.callsOf('sendMessage').filter((c) => c.params.chat_id === job.data.chatId).map((c) => c.params.text);
        expect(texts).toEqual([failureText(code as never, 'en')]);
      });
    }

    it('a Telegram file over 20 MB → telegram_file_too_big, never downloaded', async () => {
      const ref = { ...h.telegramRef(clips.head), sizeBytes: 25 * 1024 * 1024 };
      const getFiles = h.tg.callsOf('getFile').length;
      const jobId = await h.enqueue({ head: ref, output: 'note', background: null, language: 'ru' }, { attempts: 3 });
      const { state, job } = await h.waitFinished(jobId);
      expect(state).toBe('failed');
      expect(job.attemptsMade).toBe(1);
      expect(parseFailure(job.failedReason).code).toBe('telegram_file_too_big');
      expect(h.tg.callsOf('getFile').length).toBe(getFiles);
      const texts = h.tg.callsOf('sendMessage').filter((c) => c.params.chat_id === job.data.chatId).map((c) => c.params.text);
      expect(texts).toEqual([failureText('telegram_file_too_big', 'ru')]);
    });
  });

  it('cancels a running job on request: it fails as cancelled, without retries or a failure notice', async () => {
    await h.startWorker({ mode: 'cpu', extra: { cancelPollMs: 100 } });
    try {
      const jobId = await h.enqueue({ head: h.telegramRef(clips.head), output: 'note', background: null }, { attempts: 3 });
      const end = Date.now() + 30_000;
      while (parseProgress((await h.queue.getJob(jobId))?.progress)?.stage !== 'overlay') {
        if (Date.now() > end) throw new Error('overlay never started');
        await new Promise((r) => setTimeout(r, 20));
      }
      expect(await cancelJob({ queue: h.queue, redis: h.redis }, jobId)).toBe('cancelling');
      const { state, job } = await h.waitFinished(jobId, 30_000);
      expect(state).toBe('failed');
      expect(job.attemptsMade).toBe(1);
      expect(parseFailure(job.failedReason).code).toBe('cancelled');
      expect(h.tg.callsOf('sendMessage').filter((c) => c.params.chat_id === job.data.chatId)).toHaveLength(0);
    } finally {
      await h.stopWorker();
    }
  });

  it('sends the transparent overlay as a document', async () => {
    await h.startWorker({ mode: 'cpu' });
    try {
      const jobId = await h.enqueue({ head: h.telegramRef(clips.head, 'video_note'), output: 'overlay', background: null, options: { size: 'S', resolution: 'sd' } });
      const { state, job } = await h.waitFinished(jobId);
      expect(state, job.failedReason).toBe('completed');
      const sent = h.tg.sentFiles.filter((f) => f.chatId === job.data.chatId);
      expect(sent.map((f) => [f.method, f.fileName])).toEqual([['sendDocument', 'bubble.webm']]);
      expect(job.returnvalue.timingsMs.render).toBeUndefined();
    } finally {
      await h.stopWorker();
    }
  });

  it('a quality job on the CPU runs the fast engine (PIPELINE_CPU_QUALITY_ENGINE default) and the caption says so', async () => {
    await h.startWorker({ mode: 'cpu' });
    try {
      const jobId = await h.enqueue({ head: h.telegramRef(clips.head, 'video'), output: 'overlay', background: null, options: { size: 'S', engine: 'quality' } });
      const { state, job } = await h.waitFinished(jobId);
      expect(state, job.failedReason).toBe('completed');
      expect(job.returnvalue.overlay).toMatchObject({ path: 'cpu', engine: 'fast', requestedEngine: 'quality' });
      const doc = h.tg.callsOf('sendDocument').find((c) => c.params.chat_id === job.data.chatId);
      expect(doc?.params.caption).toBe(resultCaption('overlay', 'en', true));
      expect(String(doc?.params.caption)).toMatch(/^Your transparent overlay .*\nMade with the fast engine/);
    } finally {
      await h.stopWorker();
    }
  });
});
