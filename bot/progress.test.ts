import { UnrecoverableError, Worker } from 'bullmq';
import { Api } from 'grammy';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedis, enqueueJob, failureText, RENDER_QUEUE, type RenderJob } from '../pipeline/contract.js';
import { CB } from './flow/callbacks.js';
import { t } from './i18n/index.js';
import { createStatusNotifier } from './progress/status-notifier.js';
import { captureLogger, recordingFetch, REDIS_URL, testBotEnv, TOKEN, type TestBotEnv } from './test-support.js';

/**
 * The status message, driven by real queue events (a stand-in worker reports progress and fails or completes
 * jobs the way the pipeline does): throttled, deduplicated edits, and a bot that was down catches up.
 */
const en = t('en');

describe('status messages from queue events', () => {
  let env: TestBotEnv;
  let connection: ReturnType<typeof createRedis>;
  let worker: Worker | null = null;
  beforeAll(() => {
    env = testBotEnv('progress');
    connection = createRedis(REDIS_URL);
  });
  afterAll(async () => {
    await worker?.close();
    await connection.quit();
    await env?.close();
  });

  const order = async (chatId: number, messageId: number) => {
    const { jobId } = await enqueueJob(env.pipeline.queue, {
      chatId,
      userId: chatId,
      messageId,
      head: { source: 'telegram', kind: 'video', fileId: 'AAAAhead', fileUniqueId: 'UUUUhead' },
      output: 'note',
      failureNotice: 'bot',
    });
    await env.store.setStatus(jobId, { chatId, messageId: 500, lang: 'en' });
    await env.store.claimStatusText(jobId, en.queued);
    return jobId;
  };
  const waitFor = async (pred: () => boolean, what: string) => {
    const end = Date.now() + 10_000;
    while (!pred()) {
      if (Date.now() > end) throw new Error(`timed out: ${what}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  };

  it('edits one message through the stages, never twice the same, and ends with "done"', async () => {
    const wire = recordingFetch();
    const { log } = captureLogger();
    const notifier = createStatusNotifier({ api: new Api(TOKEN, { fetch: wire.fetch }), queue: env.pipeline.queue, store: env.store, redisUrl: REDIS_URL, prefix: env.prefix, minIntervalMs: 150, log });
    await notifier.listen();
    worker = new Worker(
      RENDER_QUEUE,
      async (job) => {
        // Bursts faster than the throttle, and a repeat of the same state.
        for (const [stage, percent] of [['fetch', 5], ['overlay', 20], ['overlay', 40], ['overlay', 40], ['overlay', 60]] as const) {
          await job.updateProgress({ stage, percent, eta: 10 });
        }
        await new Promise((r) => setTimeout(r, 400));
        await job.updateProgress({ stage: 'deliver', percent: 95 });
        await new Promise((r) => setTimeout(r, 300));
        return { ok: true };
      },
      { connection, prefix: env.prefix },
    );
    const jobId = await order(901, 11);
    await waitFor(() => wire.of('editMessageText').some((c) => c.params.text === en.statusDone), 'done');
    const edits = wire.of('editMessageText').map((c) => c.params.text as string);
    expect(edits.every((_, i) => i === 0 || edits[i] !== edits[i - 1])).toBe(true);
    expect(edits.at(-1)).toBe(en.statusDone);
    expect(edits).toContain('⏳ Sending (step 4 of 4)\n▓▓▓▓▓▓▓▓▓░ 95%');
    // The burst of five reports became at most two edits (the first, and the newest after the throttle gap).
    expect(edits.filter((e) => /^⏳ (Downloading|Cutting out)/.test(e)).length).toBeLessThanOrEqual(2);
    expect(wire.of('editMessageText').every((c) => c.params.chat_id === 901 && c.params.message_id === 500)).toBe(true);
    // A stray late report (e.g. from a job's earlier attempt) cannot undo "done".
    await ((await env.pipeline.queue.getJob(jobId)) as RenderJob).updateProgress({ stage: 'render', percent: 70 });
    await new Promise((r) => setTimeout(r, 400));
    expect(wire.of('editMessageText').at(-1)!.params.text).toBe(en.statusDone);
    await worker.close();
    worker = null;
    await notifier.close();
  });

  it('a job that only asked «Send again» (an uncertain delivery) does not claim the video is below', async () => {
    const wire = recordingFetch();
    const { log } = captureLogger();
    const notifier = createStatusNotifier({ api: new Api(TOKEN, { fetch: wire.fetch }), queue: env.pipeline.queue, store: env.store, redisUrl: REDIS_URL, prefix: env.prefix, minIntervalMs: 150, log });
    await notifier.listen();
    worker = new Worker(RENDER_QUEUE, async () => ({ delivered: { method: 'sendMessage', messageId: 7, bytes: 0, uncertain: true } }), {
      connection,
      prefix: env.prefix,
    });
    await order(903, 13);
    await waitFor(() => wire.of('editMessageText').some((c) => c.params.text === en.statusUncertain), 'uncertain status');
    expect(wire.of('editMessageText').some((c) => c.params.text === en.statusDone)).toBe(false);
    await worker.close();
    worker = null;
    await notifier.close();
  });

  it('a failure that happens while no bot is listening reaches the user when a bot starts again', async () => {
    worker = new Worker(RENDER_QUEUE, async (): Promise<unknown> => {
      throw new UnrecoverableError('pipeline:render_failed: injected');
    }, { connection, prefix: env.prefix });
    const jobId = await order(902, 12);
    const end = Date.now() + 10_000;
    while ((await (await env.pipeline.queue.getJob(jobId))?.getState()) !== 'failed') {
      if (Date.now() > end) throw new Error('job did not fail');
      await new Promise((r) => setTimeout(r, 25));
    }
    // Now a bot starts (e.g. after a deploy) and catches up from the last event the previous one handled.
    const wire = recordingFetch();
    const { log } = captureLogger();
    const notifier = createStatusNotifier({ api: new Api(TOKEN, { fetch: wire.fetch }), queue: env.pipeline.queue, store: env.store, redisUrl: REDIS_URL, prefix: env.prefix, minIntervalMs: 150, log });
    await notifier.listen();
    try {
      await waitFor(() => wire.of('editMessageText').length > 0, 'failure notice');
      const edit = wire.of('editMessageText')[0]!;
      expect(edit.params).toMatchObject({ chat_id: 902, message_id: 500, text: en.statusFailed(failureText('render_failed', 'en')) });
      expect(edit.params.reply_markup).toEqual({ inline_keyboard: [[{ text: en.btnTryAgain, callback_data: CB.tryAgain(jobId) }]] });
      // The first job's events, handled by the earlier bot, are not shown again.
      await new Promise((r) => setTimeout(r, 300));
      expect(wire.of('editMessageText').filter((c) => c.params.chat_id === 901)).toHaveLength(0);
    } finally {
      await notifier.close();
    }
  });

  it('a job that fails before its status message is stored still gets its failure notice (a 429 held the "queued")', async () => {
    worker ??= new Worker(RENDER_QUEUE, async (): Promise<unknown> => {
      throw new UnrecoverableError('pipeline:render_failed: injected');
    }, { connection, prefix: env.prefix });
    const wire = recordingFetch();
    const { log } = captureLogger();
    const notifier = createStatusNotifier({ api: new Api(TOKEN, { fetch: wire.fetch }), queue: env.pipeline.queue, store: env.store, redisUrl: REDIS_URL, prefix: env.prefix, minIntervalMs: 150, log });
    await notifier.listen();
    try {
      // The dialogue's order of work: enqueue first; the status message is stored only after "queued" was sent.
      const { jobId } = await enqueueJob(env.pipeline.queue, {
        chatId: 904,
        userId: 904,
        messageId: 14,
        head: { source: 'telegram', kind: 'video', fileId: 'AAAAhead', fileUniqueId: 'UUUUhead' },
        output: 'note',
        failureNotice: 'bot',
      });
      const end = Date.now() + 10_000;
      while ((await (await env.pipeline.queue.getJob(jobId))?.getState()) !== 'failed') {
        if (Date.now() > end) throw new Error('job did not fail');
        await new Promise((r) => setTimeout(r, 25));
      }
      await new Promise((r) => setTimeout(r, 400)); // the failure event has been heard, and there is no record yet
      expect(wire.of('editMessageText').filter((c) => c.params.chat_id === 904)).toHaveLength(0);
      await env.store.setStatus(jobId, { chatId: 904, messageId: 501, lang: 'en' });
      await env.store.claimStatusText(jobId, en.queued);
      await waitFor(() => wire.of('editMessageText').some((c) => c.params.chat_id === 904), 'failure notice after the record');
      expect(wire.of('editMessageText').find((c) => c.params.chat_id === 904)!.params).toMatchObject({
        message_id: 501,
        text: en.statusFailed(failureText('render_failed', 'en')),
      });
    } finally {
      await notifier.close();
    }
  });
});
