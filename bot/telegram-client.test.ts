import { UnrecoverableError, Worker } from 'bullmq';
import type { Message } from 'grammy/types';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTelegramApi } from '../common/telegram/api.js';
import { TELEGRAM_TEXT_LIMIT } from '../common/telegram/split-text.js';
import { createRedis, enqueueJob, RENDER_QUEUE } from '../pipeline/contract.js';
import { startFakeTelegram, type FakeTelegram, type RecordedCall } from '../testing/fake-telegram.js';
import { createBot } from './create-bot.js';
import { CB } from './flow/callbacks.js';
import { t } from './i18n/index.js';
import { createStatusNotifier, type StatusNotifier } from './progress/status-notifier.js';
import { captureLogger, REDIS_URL, testBotEnv, TOKEN, type TestBotEnv } from './test-support.js';

/**
 * The bot's side of the Telegram client setup, over HTTP against the strict fake Bot API (flood control, 4096-
 * character texts, callback queries that expire): long admin lists arrive in parts, an expired button press still
 * does its work, and status edits stay within each chat's budget.
 */
const en = t('en');
const ADMIN = 8_100_000 + (process.pid % 1000);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitUntil(pred: () => Promise<boolean> | boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await pred())) {
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await sleep(50);
  }
}

/** Jobs failed by a stand-in worker with `reason`, as the pipeline would fail them. */
async function failJobs(env: TestBotEnv, chatId: number, count: number, reason: (i: number) => string): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const { jobId } = await enqueueJob(env.pipeline.queue, {
      chatId,
      userId: chatId,
      messageId: 100 + i,
      head: { source: 'telegram', kind: 'video', fileId: `AAAAhead${i}`, fileUniqueId: `UUUUhead${i}` },
      output: 'note',
      failureNotice: 'bot',
    });
    ids.push(jobId);
  }
  const connection = createRedis(REDIS_URL);
  const worker = new Worker(
    RENDER_QUEUE,
    async (job) => {
      throw new UnrecoverableError(reason(ids.indexOf(job.id!)));
    },
    { connection, prefix: env.prefix, concurrency: 4 },
  );
  try {
    const failed = async (id: string) => (await env.pipeline.queue.getJobState(id)) === 'failed';
    await waitUntil(async () => (await Promise.all(ids.map(failed))).every(Boolean), 'jobs failed');
  } finally {
    await worker.close();
    await connection.quit();
  }
  return ids;
}

describe('the bot over HTTP against the strict fake', () => {
  let tg: FakeTelegram;
  let env: TestBotEnv;
  const { log, lines } = captureLogger();

  beforeAll(async () => {
    tg = await startFakeTelegram({ token: TOKEN, callbackQueryTtlMs: 200 });
    env = testBotEnv('tgclient', { adminIds: [ADMIN] });
  });
  afterAll(async () => {
    await env?.close();
    await tg?.close();
  });

  const newBot = () => {
    const api = createTelegramApi(TOKEN, { apiRoot: tg.apiRoot, log });
    return createBot({ token: TOKEN, apiRoot: tg.apiRoot, botInfo: tg.bot, deps: env.deps(api, { log }) });
  };

  it('/failed 20 with long failures arrives as several messages, each within 4096 characters', async () => {
    const ids = await failJobs(env, 7_300_001, 20, (i) => `pipeline:internal: failure number ${i} ${'x'.repeat(400)}`);
    const bot = newBot();
    const before = tg.calls.length;
    await bot.handleUpdate(await tg.pushUserMessage({ chatId: ADMIN, text: '/failed 20' }));
    const sent = tg.calls.slice(before).filter((c) => c.method === 'sendMessage' && c.params.chat_id === ADMIN);
    expect(sent.length).toBeGreaterThanOrEqual(2);
    expect(sent.every((c) => c.ok)).toBe(true);
    const texts = sent.map((c) => c.params.text as string);
    for (const text of texts) expect(text.length).toBeLessThanOrEqual(TELEGRAM_TEXT_LIMIT);
    const all = texts.join('\n');
    expect(all.length).toBeGreaterThan(TELEGRAM_TEXT_LIMIT);
    for (const id of ids) expect(all.split(`• ${id} —`)).toHaveLength(2);
    // No entry is cut in two: every part starts with one.
    for (const text of texts) expect(text.startsWith('• ')).toBe(true);
  });

  it('a "try again" pressed long ago still retries the job and updates its status, though the answer is refused', async () => {
    const chatId = 7_300_002;
    const [jobId] = await failJobs(env, chatId, 1, () => 'pipeline:render_failed: injected');
    const api = createTelegramApi(TOKEN, { apiRoot: tg.apiRoot, log });
    const status = await api.sendMessage(chatId, en.statusFailed('x'), { reply_markup: { inline_keyboard: [[{ text: en.btnTryAgain, callback_data: CB.tryAgain(jobId!) }]] } });
    await env.store.setStatus(jobId!, { chatId, messageId: status.message_id, lang: 'en' });
    const bot = newBot();
    const press = tg.pushCallbackQuery({ chatId, messageId: status.message_id, data: CB.tryAgain(jobId!) });
    await sleep(400); // past the fake's 200 ms answer window
    await bot.handleUpdate(press);
    expect(tg.callsOf('answerCallbackQuery').at(-1)).toMatchObject({ ok: false, httpStatus: 400 });
    expect(await env.pipeline.queue.getJobState(jobId!)).toBe('waiting');
    const shown = tg.messages(chatId).find((s) => s.message.message_id === status.message_id)!;
    expect((shown.message as Message.TextMessage).text).toBe(en.retryQueued);
    expect(lines.some((l) => l.includes('answerCallbackQuery') && l.includes('query is too old'))).toBe(true);
  });

  it('a late press on a job whose input was the problem still gets its reply', async () => {
    const chatId = 7_300_003;
    const [jobId] = await failJobs(env, chatId, 1, () => 'media:no_person: nobody in the video');
    const api = createTelegramApi(TOKEN, { apiRoot: tg.apiRoot, log });
    const status = await api.sendMessage(chatId, 'failed', { reply_markup: { inline_keyboard: [[{ text: 'again', callback_data: CB.tryAgain(jobId!) }]] } });
    const bot = newBot();
    const press = tg.pushCallbackQuery({ chatId, messageId: status.message_id, data: CB.tryAgain(jobId!) });
    await sleep(400);
    await bot.handleUpdate(press);
    expect(tg.callsOf('answerCallbackQuery').at(-1)).toMatchObject({ ok: false });
    const reply = tg.callsOf('sendMessage').filter((c) => c.params.chat_id === chatId).at(-1);
    expect(reply).toMatchObject({ ok: true, params: { text: en.retrySendNew } });
  });
});

describe('status edits share one budget per chat', () => {
  let tg: FakeTelegram;
  let env: TestBotEnv;
  let notifier: StatusNotifier | null = null;
  let worker: Worker | null = null;
  let connection: ReturnType<typeof createRedis>;
  const { log } = captureLogger();

  beforeAll(async () => {
    tg = await startFakeTelegram({ token: TOKEN });
    env = testBotEnv('tgbudget');
    connection = createRedis(REDIS_URL);
  });
  afterAll(async () => {
    await worker?.close();
    await notifier?.close();
    await connection.quit();
    await env?.close();
    await tg?.close();
  });

  /** A job of `chatId` with its status message (a real message in the fake). */
  const orderIn = async (chatId: number, messageId: number, api: ReturnType<typeof createTelegramApi>) => {
    const { jobId } = await enqueueJob(env.pipeline.queue, {
      chatId,
      userId: chatId,
      messageId,
      head: { source: 'telegram', kind: 'video', fileId: `AAAA${messageId}`, fileUniqueId: `UUUU${messageId}` },
      output: 'note',
      failureNotice: 'bot',
    });
    const status = await api.sendMessage(chatId, en.queued);
    await env.store.setStatus(jobId, { chatId, messageId: status.message_id, lang: 'en' });
    await env.store.claimStatusText(jobId, en.queued);
    return { jobId, statusId: status.message_id };
  };
  const editsOf = (chatId: number): RecordedCall[] => tg.callsOf('editMessageText').filter((c) => c.params.chat_id === chatId);

  it('two jobs reporting progress in one chat never exceed its edit budget, and both end with "done"', async () => {
    const chatId = 7_400_001;
    const api = createTelegramApi(TOKEN, { apiRoot: tg.apiRoot, log });
    notifier = createStatusNotifier({ api, queue: env.pipeline.queue, store: env.store, redisUrl: REDIS_URL, prefix: env.prefix, minIntervalMs: 1000, log });
    await notifier.listen();
    const a = await orderIn(chatId, 1, api);
    const b = await orderIn(chatId, 2, api);
    const runFor = { [a.jobId]: 4000, [b.jobId]: 5000 };
    worker = new Worker(
      RENDER_QUEUE,
      async (job) => {
        // Each job alone reports ten times a second — far more than one chat may be edited.
        const until = Date.now() + runFor[job.id!]!;
        for (let i = 1; Date.now() < until; i++) {
          await job.updateProgress({ stage: 'overlay', percent: Math.min(99, i), eta: 30 });
          await sleep(100);
        }
        return { ok: true };
      },
      { connection, prefix: env.prefix, concurrency: 2 },
    );
    const shows = (id: number) => tg.messages(chatId).find((s) => s.message.message_id === id)?.history.at(-1);
    await waitUntil(() => shows(a.statusId) === en.statusDone && shows(b.statusId) === en.statusDone, 'both done', 30_000);

    const edits = editsOf(chatId);
    expect(edits.filter((c) => c.httpStatus === 429)).toHaveLength(0);
    const progress = edits.filter((c) => c.params.text !== en.statusDone);
    // Both jobs had their turns…
    expect(progress.some((c) => c.params.message_id === a.statusId)).toBe(true);
    expect(progress.some((c) => c.params.message_id === b.statusId)).toBe(true);
    // …within one budget: progress edits of the chat at least the interval apart (less scheduling jitter).
    const gaps = progress.slice(1).map((c, i) => c.at - progress[i]!.at);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(950);
    await worker.close();
    worker = null;
    await notifier.close();
    notifier = null;
  });

  it('a 429 on an edit holds the chat for retry_after; what was refused is shown after the hold', async () => {
    const chatId = 7_400_002;
    // A client that hands the 429 to the notifier at once (as a flood wait over the policy's cap would).
    const api = createTelegramApi(TOKEN, { apiRoot: tg.apiRoot, log, maxRateLimitRetries: 0 });
    notifier = createStatusNotifier({ api, queue: env.pipeline.queue, store: env.store, redisUrl: REDIS_URL, prefix: env.prefix, minIntervalMs: 100, log });
    const a = await orderIn(chatId, 3, api);
    const b = await orderIn(chatId, 4, api);
    tg.injectFault({ method: 'editMessageText', status: 429, retryAfter: 2 });
    await notifier.show(a.jobId, () => en.statusDone, undefined, true);
    await notifier.show(b.jobId, () => en.statusCancelled, undefined, true);
    const shows = (id: number) => tg.messages(chatId).find((s) => s.message.message_id === id)?.history.at(-1);
    await waitUntil(() => shows(a.statusId) === en.statusDone && shows(b.statusId) === en.statusCancelled, 'both shown after the hold', 10_000);
    const edits = editsOf(chatId);
    const refused = edits.find((c) => c.httpStatus === 429)!;
    expect(refused.params.message_id).toBe(a.statusId);
    // Nothing went to the chat during the hold, the other job's edit included.
    for (const later of edits.filter((c) => c.ok)) expect(later.at - refused.at).toBeGreaterThanOrEqual(1950);
    expect(edits).toHaveLength(3);
    await notifier.close();
    notifier = null;
  });
});
