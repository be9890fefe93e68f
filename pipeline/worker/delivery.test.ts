import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdir, readdir, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { Api } from 'grammy';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBot } from '../../bot/create-bot.js';
import type { BotDeps } from '../../bot/deps.js';
import { t } from '../../bot/i18n/index.js';
import { createStatusNotifier } from '../../bot/progress/status-notifier.js';
import { BotStore } from '../../bot/store.js';
import { needSharedMedia, repoRoot } from '../../testing/media.js';
import { startThrowawayRedis, type ThrowawayRedis } from '../../testing/throwaway-redis.js';
import { pipelineKeys } from '../keys.js';
import { resendButtonText, uncertainDeliveryText } from '../messages.js';
import type { Harness, TestClips } from '../test-support.js';

/**
 * Delivery at most once, never silently lost — end to end on a private redis-server (the test makes it refuse
 * writes with `CONFIG SET maxmemory 1`, which must never touch the machine's shared Redis): the real worker (in
 * this process, and `npm run worker` as a child that is SIGKILLed), the local renderer, the fake Bot API over
 * HTTP, and the real bot's «Send again» button driven with callback updates.
 */
interface LogLine {
  level: number;
  msg: string;
}

function captureLogger() {
  const lines: LogLine[] = [];
  const log = pino({ level: 'debug' }, new Writable({ write: (c, _e, cb) => (lines.push(JSON.parse(String(c)) as LogLine), cb()) }));
  return { log, lines };
}

async function until<T>(what: string, probe: () => Promise<T | null | undefined | false> | T | null | undefined | false, timeoutMs = 60_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

describe.skipIf(!needSharedMedia())('delivery at most once, end to end', () => {
  let server: ThrowawayRedis;
  let h: Harness;
  let clips: TestClips;
  let botToken: string;
  const savedRedisUrl = process.env.REDIS_URL;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    server = await startThrowawayRedis(['--appendonly', 'yes', '--maxmemory-policy', 'noeviction']);
    // The harness reads REDIS_URL when it is loaded: load it only now, pointed at the private server.
    process.env.REDIS_URL = server.url;
    const support = await import('../test-support.js');
    botToken = support.BOT_TOKEN;
    h = await support.startHarness('delivery');
    clips = await support.makeTestClips(join(h.workDir, 'clips'));
  });
  afterAll(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await server?.client.call('CONFIG', 'SET', 'maxmemory', '0').catch(() => undefined);
    await h?.close();
    await server?.close();
    process.env.REDIS_URL = savedRedisUrl;
  });

  const refuseWrites = (on: boolean) => server.client.call('CONFIG', 'SET', 'maxmemory', on ? '1' : '0');
  const filesTo = (chatId: number) => h.tg.sentFiles.filter((f) => f.chatId === chatId);
  const keys = () => pipelineKeys(h.prefix);

  it('a Redis error on the marker write after a successful send is retried: one send, the job completes delivered', async () => {
    const { log, lines } = captureLogger();
    await h.startWorker({ mode: 'cpu', logger: log });
    try {
      // Held 1.5 s before Telegram takes it, so the test can make Redis refuse writes while the file is on its way.
      h.tg.injectFault({ method: 'sendVideoNote', delayMs: 1500 });
      const jobId = await h.enqueue({ head: h.telegramRef(clips.head), output: 'note', background: null });
      await until('the delivery claim', () => h.redis.exists(keys().deliveryClaim(jobId)));
      await refuseWrites(true);
      try {
        await until('a failed marker write', () => lines.some((l) => l.msg === 'delivered marker not written; retrying'), 20_000);
      } finally {
        await refuseWrites(false);
      }
      const { state, job } = await h.waitFinished(jobId);
      expect(state, job.failedReason).toBe('completed');
      expect(job.returnvalue.delivered).toMatchObject({ method: 'sendVideoNote' });
      expect(job.returnvalue.delivered.uncertain).toBeUndefined();
      expect(filesTo(job.data.chatId).map((f) => f.method)).toEqual(['sendVideoNote']);
      expect(JSON.parse((await h.redis.get(keys().delivered(jobId)))!)).toEqual(job.returnvalue.delivered);
      expect(lines.some((l) => l.msg === 'delivered')).toBe(true);
      expect(lines.some((l) => /delivery uncertain/.test(l.msg))).toBe(false);
    } finally {
      h.tg.clearFaults();
      await h.stopWorker();
    }
  });

  function startWorkerProcess(): { child: ChildProcess; output: () => string } {
    const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'pipeline/worker/main.ts')], {
      cwd: repoRoot,
      env: {
        ...process.env,
        VITEST: '',
        LOG_LEVEL: 'warn',
        REDIS_URL: server.url,
        PIPELINE_QUEUE_PREFIX: h.prefix,
        WORK_DIR: join(h.workDir, 'work'),
        PROCESSING_MODE: 'cpu',
        BOT_TOKEN: botToken,
        TELEGRAM_API_ROOT: h.tg.apiRoot,
        SHOTSTACK_API_URL: h.shotstack.url,
        SHOTSTACK_API_KEY: '',
        SHOTSTACK_POLL_INTERVAL_MS: '100',
        PIPELINE_RESOLUTION: 'sd',
        PIPELINE_LOCK_DURATION_MS: '2000',
        PIPELINE_STALLED_INTERVAL_MS: '1000',
        ORT_PROVIDERS: 'cpu',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout!.on('data', (c: Buffer) => (output += c));
    child.stderr!.on('data', (c: Buffer) => (output += c));
    children.push(child);
    return { child, output: () => output };
  }

  function botFor(log: ReturnType<typeof captureLogger>['log']) {
    const pipeline = { queue: h.queue, redis: h.redis, prefix: h.prefix, close: async () => undefined };
    const store = new BotStore(h.redis, h.prefix);
    const api = new Api(botToken, { apiRoot: h.tg.apiRoot });
    const deps: BotDeps = {
      pipeline,
      store,
      limits: { maxDurationSec: 180, maxBytes: 200 * 1024 * 1024, telegramDownloadBytes: 20 * 1024 * 1024 },
      maxActivePerUser: 5,
      adminIds: [],
      envMode: 'cpu',
      preview: null,
      status: createStatusNotifier({ api, queue: h.queue, store, redisUrl: server.url, prefix: h.prefix, minIntervalMs: 10, log }),
      conversationTtlSec: 3600,
      log,
    };
    return createBot({ token: botToken, apiRoot: h.tg.apiRoot, botInfo: h.tg.bot, deps });
  }

  it('killed after Telegram took the file, before the marker: the retry asks instead of resending; «Send again» sends exactly one more', async () => {
    const renderPosts = () => h.shotstack.requests.filter((r) => r.method === 'POST' && r.path === '/edit/stage/render').length;
    const chatId = 880_000 + (process.pid % 10_000);
    h.tg.injectFault({ method: 'sendVideo', delayMs: 1500 });
    const first = startWorkerProcess();
    const jobId = await h.enqueue({ chatId, userId: chatId, messageId: 3, head: h.telegramRef(clips.head), background: h.telegramRef(clips.background), output: 'video' });
    await until('the delivery claim', () => h.redis.exists(keys().deliveryClaim(jobId)), 120_000).catch((e: Error) => {
      throw new Error(`${e.message}\n${first.output()}`);
    });
    await refuseWrites(true);
    try {
      await until('Telegram to take the video', () => filesTo(chatId).length === 1, 20_000);
      await until('the worker failing to write the marker', () => first.output().includes('delivered marker not written'), 20_000);
      first.child.kill('SIGKILL');
      await once(first.child, 'exit');
    } finally {
      await refuseWrites(false);
    }
    expect(await h.redis.exists(keys().delivered(jobId))).toBe(0);
    const rendersBefore = renderPosts();

    // Another worker picks the job up once the dead one's lock has expired.
    const { log, lines } = captureLogger();
    await h.startWorker({ mode: 'cpu', logger: log, extra: { lockDurationMs: 2000, stalledIntervalMs: 1000 } });
    try {
      const asked = await h.waitFinished(jobId, 60_000);
      expect(asked.state, asked.job.failedReason).toBe('completed');
      expect(asked.job.returnvalue.delivered).toMatchObject({ method: 'sendMessage', uncertain: true });
      expect(filesTo(chatId)).toHaveLength(1); // not sent again
      const question = h.tg.callsOf('sendMessage').filter((c) => c.params.chat_id === chatId);
      expect(question.map((c) => c.params.text)).toEqual([uncertainDeliveryText('en', 3600)]);
      expect(question[0]!.params.reply_markup).toEqual({ inline_keyboard: [[{ text: resendButtonText('en'), callback_data: `resend:${jobId}` }]] });
      const questionId = asked.job.returnvalue.delivered.messageId!;
      expect(lines.some((l) => l.level === 40 && l.msg.startsWith('delivery uncertain'))).toBe(true);
      // The rendered file is kept for the button, for the window (the harness's state TTL, 1 h, caps the 24 h).
      const folder = (await readdir(join(h.workDir, 'work'))).find((n) => n.startsWith(`${jobId}.`))!;
      expect(existsSync(join(h.workDir, 'work', folder, 'render', 'final.mp4'))).toBe(true);
      const ttl = await h.redis.ttl(keys().resendParked(jobId));
      expect(ttl).toBeGreaterThan(3500);
      expect(ttl).toBeLessThanOrEqual(3600);

      // The sweep (at start, then hourly) keeps a parked folder however old; a finished job's folder without a
      // window goes — which is how the file goes once the window has passed and nobody pressed.
      await h.stopWorker();
      const hoursAgo = new Date(Date.now() - 2 * 3600_000);
      const unparked = join(h.workDir, 'work', `chat1-msg1.${'0'.repeat(24)}`);
      await mkdir(unparked, { recursive: true });
      await utimes(unparked, hoursAgo, hoursAgo);
      await utimes(join(h.workDir, 'work', folder), hoursAgo, hoursAgo);
      await h.startWorker({ mode: 'cpu', logger: log, extra: { lockDurationMs: 2000, stalledIntervalMs: 1000 } });
      await until('the sweep', () => !existsSync(unparked), 10_000);
      await sleep(500);
      expect(existsSync(join(h.workDir, 'work', folder, 'render', 'final.mp4'))).toBe(true);

      const bot = botFor(log);
      const press = async (userId: number) => {
        const before = h.tg.callsOf('answerCallbackQuery').length;
        await bot.handleUpdate(h.tg.pushCallbackQuery({ chatId, messageId: questionId, data: `resend:${jobId}`, from: { id: userId, language_code: 'en' } }));
        return h.tg.callsOf('answerCallbackQuery').slice(before).map((c) => c.params.text);
      };

      // Someone else's press changes nothing.
      expect(await press(chatId + 1)).toEqual([t('en').notYourJob]);
      expect(await h.queue.getJobState(jobId)).toBe('completed');

      // The user's press, twice (the second while the first resend is on its way): one more video.
      h.tg.injectFault({ method: 'sendVideo', delayMs: 1500 });
      expect(await press(chatId)).toEqual([t('en').resendQueued]);
      expect(await press(chatId)).toEqual([t('en').resendAlready]);
      const resent = await h.waitFinished(jobId, 60_000);
      expect(resent.state, resent.job.failedReason).toBe('completed');
      expect(resent.job.returnvalue.delivered).toMatchObject({ method: 'sendVideo' });
      expect(resent.job.returnvalue.resumed).toEqual(['fetch', 'overlay', 'render']);
      expect(renderPosts()).toBe(rendersBefore); // no re-render
      expect(filesTo(chatId).map((f) => f.method)).toEqual(['sendVideo', 'sendVideo']);
      expect(await h.redis.exists(keys().delivered(jobId))).toBe(1);
      expect(await h.redis.exists(keys().resendParked(jobId))).toBe(0);
      expect(existsSync(join(h.workDir, 'work', folder))).toBe(false);

      // A late press: it has been sent.
      expect(await press(chatId)).toEqual([t('en').resendDelivered]);
      await sleep(500);
      expect(filesTo(chatId)).toHaveLength(2);
      expect(await h.queue.getJobState(jobId)).toBe('completed');
    } finally {
      h.tg.clearFaults();
      await h.stopWorker();
    }
  });
});
