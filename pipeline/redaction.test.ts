import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createLogger, type Logger } from '../common/logger.js';
import { createGpuWorkerClient } from '../gpu-worker/client/index.js';
import { startGpuWorkerServer, type GpuWorkerServer } from '../gpu-worker/server/server.js';
import { fixedReadings } from '../shotstack/calibration/index.js';
import { createShotstackClient } from '../shotstack/client.js';
import { DEFAULT_READINGS } from '../shotstack/readings.js';
import { startLocalShotstack, type LocalShotstack } from '../shotstack/local/server.js';
import { startFakeTelegram, type FakeTelegram, type RegisteredFile } from '../testing/fake-telegram.js';
import { needSharedMedia } from '../testing/media.js';
import type { TelegramInputRef } from './contract.js';
import { makeTestClips, startHarness, telegramTestDeps, type Harness, type TestClips } from './test-support.js';

/**
 * Every secret a job touches is absent from everything the job logs. One full job — Telegram download, overlay on
 * the GPU worker, ingest through signed upload URLs, render, delivery — with every credential set to a distinctive
 * value, faults injected so the retry and failure paths log too, and every log line of every component captured
 * at `trace` by a logger built exactly like the processes' own (common/logger.ts's createLogger).
 */
const BOT_TOKEN = '7512340099:AAHkq3Zr-BOTTOKEN-9fXw2LmNpQrStUvWxYz01';
const GPU_TOKEN = 'gpu-WORKERTOKEN-6c1f0e2d9b8a7f6e5d4c';
const GATEWAY_KEY = 'rp-GATEWAYKEY-0a9b8c7d6e5f4a3b2c1d';
const SHOTSTACK_KEY = 'ss-APIKEY-Q4w8E2r6T0y3U7i1O5p9';

describe.skipIf(!needSharedMedia())('secrets never reach the logs of a full job', () => {
  let h: Harness;
  let clips: TestClips;
  let tg: FakeTelegram;
  let shotstack: LocalShotstack;
  let gpu: GpuWorkerServer;
  const lines: string[] = [];
  let capture: Logger;

  beforeAll(async () => {
    capture = createLogger({ level: 'trace', service: 'redaction-test' }, new Writable({ write: (c, _e, cb) => (lines.push(String(c)), cb()) }));
    h = await startHarness('redaction');
    clips = await makeTestClips(join(h.workDir, 'clips'));
    tg = await startFakeTelegram({ token: BOT_TOKEN });
    shotstack = await startLocalShotstack({ port: 0, apiKey: SHOTSTACK_KEY, logger: capture });
    gpu = await startGpuWorkerServer({ token: GPU_TOKEN, port: 0, host: '127.0.0.1', workDir: join(h.workDir, 'gpu'), shutdownGraceMs: 0, logger: capture });
  });
  afterAll(async () => {
    vi.restoreAllMocks();
    await h?.close();
    await gpu?.close();
    await shotstack?.close();
    await tg?.close();
  });

  const ref = (f: RegisteredFile, kind: TelegramInputRef['kind']): TelegramInputRef => ({
    source: 'telegram',
    fileId: f.file_id,
    fileUniqueId: f.file_unique_id,
    kind,
    sizeBytes: f.file_size,
  });

  it('bot token, GPU token, gateway key, Shotstack key and signed upload URLs: none in any log line, job log or failure', async () => {
    // The signed upload URLs exist only inside the Shotstack client: read them off the wire as they pass.
    const signedUrls: string[] = [];
    const realFetch = globalThis.fetch;
    vi.spyOn(globalThis, 'fetch').mockImplementation(async (input, init) => {
      const res = await realFetch(input, init);
      const url = String(input instanceof Request ? input.url : input);
      if (init?.method === 'POST' && /\/ingest\/[^/]+\/upload$/.test(url) && res.ok) {
        const body = (await res.clone().json()) as { data?: { attributes?: { url?: string } } };
        if (body.data?.attributes?.url) signedUrls.push(body.data.attributes.url);
      }
      return res;
    });

    // Faults on the paths most likely to log a URL or a header: a failing getFile (the client's own retries — it is
    // idempotent, 3 of them — run out, so the whole attempt fails and is retried), a refused upload PUT and a
    // throttled render poll (the client retries and says so).
    tg.injectFault({ method: 'getFile', status: 500, description: 'Internal Server Error: injected', times: 4 });
    shotstack.injectFaults({
      respond: [
        { route: 'upload', method: 'PUT', status: 503, count: 1 },
        { route: 'edit', method: 'GET', status: 429, count: 1, retryAfterSec: 0 },
      ],
    });

    await h.startWorker({
      mode: 'gpu',
      logger: capture,
      extra: {
        gpu: createGpuWorkerClient({
          url: gpu.url,
          token: GPU_TOKEN,
          tokenHeader: 'x-gpu-worker-token',
          headers: { authorization: `Bearer ${GATEWAY_KEY}` },
          deadlineMs: 60_000,
          idleTimeoutMs: 10_000,
          submitAttempts: 2,
          logger: capture,
        }),
        gpuHost: new URL(gpu.url).host,
        telegram: telegramTestDeps(BOT_TOKEN, tg.apiRoot),
        renderer: {
          client: createShotstackClient({
            apiUrl: shotstack.url,
            apiKey: SHOTSTACK_KEY,
            env: 'stage',
            pollIntervalMs: 100,
            maxRetries: 3,
            retryBaseDelayMs: 20,
            retryMaxDelayMs: 200,
            logger: capture,
          }),
          id: shotstack.url,
          isLocal: true,
          readings: fixedReadings(DEFAULT_READINGS, 'local'),
        },
      },
    });

    const chatId = 8_100_001;
    const jobId = await h.enqueue({
      chatId,
      messageId: 7,
      head: ref(tg.registerFile(clips.head), 'video'),
      background: ref(tg.registerFile(clips.background), 'document'),
      output: 'video',
    });
    const { state, job } = await h.waitFinished(jobId, 120_000);
    await h.stopWorker();
    expect(state, job.failedReason).toBe('completed');

    // It really was the full job, through every peer that holds a secret.
    expect(job.attemptsMade).toBe(2); // the injected getFile failure cost one attempt
    expect(job.returnvalue.overlay.path).toBe('gpu');
    expect(tg.sentFiles.filter((f) => f.chatId === chatId).map((f) => f.method)).toEqual(['sendVideo']);
    expect(shotstack.requests.filter((r) => r.method === 'PUT' && r.path.startsWith('/upload/')).length).toBeGreaterThanOrEqual(4); // 3 sources + 1 refused
    expect(shotstack.requests.some((r) => r.status === 429)).toBe(true);
    expect(signedUrls.length).toBeGreaterThanOrEqual(3);

    // The same logger, on purpose, the way a careless caller would: whole headers, a signed URL, a file URL.
    const fileUrl = `${tg.apiRoot}/file/bot${BOT_TOKEN}/documents/file_1.mp4`;
    capture.child({ jobId, component: 'canary' }).debug(
      {
        req: { headers: { authorization: `Bearer ${GATEWAY_KEY}`, 'x-gpu-worker-token': GPU_TOKEN, 'x-api-key': SHOTSTACK_KEY } },
        upload: { url: signedUrls[0], options: { headers: { 'X-Api-Key': SHOTSTACK_KEY } } },
      },
      `canary: downloading ${fileUrl}`,
    );

    // What a job leaves besides the process logs: BullMQ job logs, the failure of the first attempt.
    const jobLogs = (await h.queue.getJobLogs(jobId)).logs;
    const everything = [...lines, ...jobLogs, job.failedReason ?? '', ...(job.stacktrace ?? [])].join('\n');

    // The test can fail: there are logs, of this job, from every component, at debug/trace, and the canary is in.
    expect(lines.length).toBeGreaterThan(20);
    expect(lines.filter((l) => l.includes(`"jobId":"${jobId}"`)).length).toBeGreaterThan(5);
    for (const component of ['pipeline-worker', 'shotstack-client', 'local-shotstack']) expect(everything).toContain(`"component":"${component}"`);
    expect(everything).toContain('gpu worker job submitted');
    expect(everything).toContain('telegram file downloaded');
    expect(everything).toContain('shotstack busy or failing, retrying');
    expect(lines.some((l) => l.includes('"level":20'))).toBe(true); // debug lines were written
    expect(jobLogs.some((l) => l.includes('telegram_unavailable'))).toBe(true);
    const canary = lines.find((l) => l.includes('canary: downloading'));
    expect(canary).toBeDefined();
    expect(canary).toContain(`${tg.apiRoot}/file/bot[redacted]/documents/file_1.mp4`);

    const secrets: Array<[string, string]> = [
      ['bot token', BOT_TOKEN],
      ['bot token secret part', BOT_TOKEN.split(':')[1]!],
      ['GPU worker token', GPU_TOKEN],
      ['gateway key', GATEWAY_KEY],
      ['Shotstack API key', SHOTSTACK_KEY],
    ];
    for (const u of signedUrls) {
      const sig = new URL(u).searchParams.get('signature');
      expect(sig).toMatch(/^[0-9a-f]{64}$/);
      secrets.push(['upload URL signature', sig!], ['signed upload URL', u]);
    }
    for (const [what, value] of secrets) {
      const leaks = everything.split('\n').filter((l) => l.includes(value));
      expect(leaks, `${what} leaked`).toEqual([]);
    }
    // Every line is still JSON after scrubbing.
    for (const l of lines) expect(() => JSON.parse(l)).not.toThrow();
  });
});
