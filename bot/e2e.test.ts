import { join } from 'node:path';
import { createTelegramApi } from '../common/telegram/api.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKGROUND_RGB, BOT_TOKEN, makeTestClips, startHarness, TEST_JOB_OPTIONS, type Harness, type TestClips } from '../pipeline/test-support.js';
import { media, needSharedMedia, readFrames } from '../testing/media.js';
import { createBot } from './create-bot.js';
import { CB } from './flow/callbacks.js';
import { failureText } from '../pipeline/contract.js';
import { t } from './i18n/index.js';
import { createPreviewService } from './preview/preview-service.js';
import { createStatusNotifier, type StatusNotifier } from './progress/status-notifier.js';
import { startPolling, type Polling } from './runtime/polling.js';
import { BotStore } from './store.js';
import { captureLogger } from './test-support.js';

/**
 * End to end over HTTP: the bot long-polls the fake Telegram Bot API (testing/fake-telegram.ts) with the real
 * runner; real Redis; the real pipeline worker with the CPU engine and the local Shotstack renderer. A user sends
 * a head video and a background, picks options, sees a preview photo, confirms, watches one status message move,
 * and receives the video.
 */
const en = t('en');
const ADMIN = 5_100_900;

describe.skipIf(!needSharedMedia())('bot end to end (fake Bot API over HTTP, real worker)', () => {
  let h: Harness;
  let clips: TestClips;
  let polling: Polling;
  let status: StatusNotifier;
  const logs = captureLogger();

  beforeAll(async () => {
    h = await startHarness('bot-e2e');
    clips = await makeTestClips(join(h.workDir, 'clips'));
    await h.startWorker({ mode: 'cpu' });
    // As bot/main.ts wires it: the project's client policy, and edits no faster than a private chat allows (1/s).
    const api = createTelegramApi(BOT_TOKEN, { apiRoot: h.tg.apiRoot, log: logs.log });
    const store = new BotStore(h.redis, h.prefix);
    status = createStatusNotifier({ api, queue: h.queue, store, redisUrl: 'redis://127.0.0.1:6379', prefix: h.prefix, minIntervalMs: 1000, log: logs.log });
    await status.listen();
    const preview = createPreviewService({
      api,
      token: BOT_TOKEN,
      apiRoot: h.tg.apiRoot,
      downloadLimitBytes: 20 * 1024 * 1024,
      maxBytes: 200 * 1024 * 1024,
      timeoutMs: 30_000,
      dir: join(h.workDir, 'preview'),
      log: logs.log,
    });
    const bot = createBot({
      token: BOT_TOKEN,
      apiRoot: h.tg.apiRoot,
      deps: {
        pipeline: { queue: h.queue, redis: h.redis, prefix: h.prefix, close: async () => undefined },
        store,
        limits: { maxDurationSec: 60, maxBytes: 200 * 1024 * 1024, telegramDownloadBytes: 20 * 1024 * 1024 },
        maxActivePerUser: 3,
        adminIds: [ADMIN],
        envMode: 'cpu',
        preview,
        status,
        conversationTtlSec: 3600,
        jobOptions: TEST_JOB_OPTIONS,
        log: logs.log,
      },
    });
    await bot.init();
    polling = startPolling(bot, { log: logs.log, conflictRetryMs: 200 });
  });

  afterAll(async () => {
    await polling?.stop();
    await status?.close();
    await h?.close();
  });

  /** The newest bot message in the chat whose text is `text` (waits for it). */
  const botMessage = (chatId: number, text: string) =>
    h.tg.waitFor(() => h.tg.messages(chatId).filter((m) => !m.deleted && m.history.includes(text)).at(-1)?.message, { what: `message "${text.slice(0, 40)}"` });

  it('head video + background → options → preview photo → confirm → progress in one message → the video', async () => {
    const chatId = 5_100_001;
    const from = { id: chatId, language_code: 'en' };
    await h.tg.pushUserMessage({ chatId, from, text: '/start' });
    await botMessage(chatId, en.start);

    const head = h.tg.registerFile(clips.head);
    const background = h.tg.registerFile(clips.background);
    const headUpdate = await h.tg.pushUserMessage({ chatId, from, video: head });
    await botMessage(chatId, en.askBackground);
    await h.tg.pushUserMessage({ chatId, from, document: background });
    const picker = await botMessage(chatId, en.pick.shape);

    for (const [field, value, next] of [
      ['shape', 'circle', en.pick.position],
      ['position', 'bottomRight', en.pick.size],
      ['size', 'M', en.pick.engine],
      ['engine', 'fast', en.pick.aspect],
    ] as const) {
      h.tg.pressButton({ chatId, from, data: `opt:${field}:${value}` });
      // One message edited from question to question: the next question arrives in the picker itself.
      await h.tg.waitFor(() => h.tg.messages(chatId).find((m) => m.message.message_id === picker.message_id)?.history.includes(next), { what: next });
    }
    h.tg.pressButton({ chatId, from, data: 'opt:aspect:9:16' });

    // The preview: a photo captioned with the summary, with Confirm/Change.
    const photo = await h.tg.waitFor(() => h.tg.sentFiles.find((f) => f.chatId === chatId && f.method === 'sendPhoto'), { what: 'preview photo', timeoutMs: 30_000 });
    expect(photo.caption).toContain(en.summaryTitle);
    expect(photo.caption).toContain('Place: ↘ Bottom right');
    const call = h.tg.callsOf('sendPhoto').find((c) => c.params.chat_id === chatId)!;
    expect(call.params.reply_markup).toEqual({ inline_keyboard: [[{ text: en.btnConfirm, callback_data: CB.confirm }, { text: en.btnChange, callback_data: CB.change }]] });
    // The preview shows the speaker in the bottom-right bubble over the (solid blue) background, and only there.
    const px = await readFrames(photo.path, { pixFmt: 'rgb24', count: 1 });
    const W = 576;
    const H = 1024;
    expect(px.length).toBe(W * H * 3);
    const diffFromBackground = (x: number, y: number) => {
      const i = (y * W + x) * 3;
      return (Math.abs(px[i]! - BACKGROUND_RGB[0]) + Math.abs(px[i + 1]! - BACKGROUND_RGB[1]) + Math.abs(px[i + 2]! - BACKGROUND_RGB[2])) / 3;
    };
    let inside = 0;
    let outside = 0;
    let n = 0;
    // M = 0.4 × 576 = 230 px, 4% margin: the bubble spans about x 323..553, y 771..1001.
    for (let y = 800; y < 980; y += 6) {
      for (let x = 350; x < 530; x += 6) {
        inside += diffFromBackground(x, y);
        n++;
      }
    }
    inside /= n;
    n = 0;
    for (let y = 20; y < 700; y += 20) {
      for (let x = 20; x < 300; x += 20) {
        outside += diffFromBackground(x, y);
        n++;
      }
    }
    outside /= n;
    expect(inside).toBeGreaterThan(40);
    expect(outside).toBeLessThan(6);

    // Confirm (tapped twice): one job, one video.
    h.tg.pushCallbackQuery({ chatId, messageId: photo.messageId, data: CB.confirm });
    h.tg.pushCallbackQuery({ chatId, messageId: photo.messageId, data: CB.confirm });
    const statusMsg = await botMessage(chatId, en.queued);
    const video = await h.tg.waitFor(() => h.tg.sentFiles.find((f) => f.chatId === chatId && f.method === 'sendVideo'), { what: 'the video', timeoutMs: 60_000 });
    expect(video.size).toBeGreaterThan(10_000);
    const sentVideo = h.tg.callsOf('sendVideo').find((c) => c.params.chat_id === chatId)!;
    expect(sentVideo.params.reply_parameters).toMatchObject({ message_id: headUpdate.message!.message_id });
    await h.tg.waitFor(() => h.tg.messages(chatId).find((m) => m.message.message_id === statusMsg.message_id)?.history.includes(en.statusDone), {
      what: 'status: done',
      timeoutMs: 10_000,
    });

    const history = h.tg.messages(chatId).find((m) => m.message.message_id === statusMsg.message_id)!.history;
    expect(history[0]).toBe(en.queued);
    expect(history.at(-1)).toBe(en.statusDone);
    // Progress went through the status message (bar + percent), never an identical edit in a row.
    expect(history.some((s) => /^⏳ .+ \(step [1-4] of 4\)\n[▓░]{10} \d+%/.test(s))).toBe(true);
    for (let i = 1; i < history.length; i++) expect(history[i]).not.toBe(history[i - 1]);
    // No edit was refused — except by flood control, which the client waits out: this test presses the option
    // buttons faster than a person could, past a private chat's one message a second.
    const refused = h.tg.callsOf('editMessageText').filter((c) => c.params.chat_id === chatId && !c.ok);
    expect(refused.filter((c) => !c.rateLimited)).toEqual([]);

    const jobs = await h.queue.getJobs(['completed', 'failed', 'active', 'waiting', 'delayed']);
    expect(jobs.filter((j) => j.data.chatId === chatId)).toHaveLength(1);
    expect(h.tg.sentFiles.filter((f) => f.chatId === chatId && f.method === 'sendVideo')).toHaveLength(1);
    expect(h.tg.callsOf('answerCallbackQuery').filter((c) => c.params.text === en.alreadyConfirmed)).toHaveLength(1);

    // The bot downloaded both inputs for the preview, and the token never reached its logs.
    expect(logs.lines.filter((l) => l.includes('telegram file downloaded')).length).toBeGreaterThanOrEqual(2);
    const all = logs.lines.join('\n');
    expect(all).not.toContain(BOT_TOKEN);
    expect(all).not.toContain(BOT_TOKEN.split(':')[1]!);
  });

  it('admins see the worker, its processing path and the stats of the jobs above', async () => {
    const ask = async (text: string) => {
      const fromBot = () => h.tg.messages(ADMIN).filter((m) => m.message.from?.is_bot);
      const before = fromBot().length;
      await h.tg.pushUserMessage({ chatId: ADMIN, text });
      await h.tg.waitFor(() => fromBot().length > before, { what: text });
      return fromBot().at(-1)!.message.text!;
    };
    const mode = await ask('/mode');
    expect(mode).toMatch(/^Mode: cpu \(from PROCESSING_MODE; env cpu\)\nWorker \S+: mode cpu, active [01]\/1\n  GPU worker not configured \(CPU only\)\nOverlays: GPU 0, CPU [1-9]/);
    const stats = await ask('/stats');
    expect(stats).toMatch(/: [1-9]\d* done, \d+ failed\nMedian per stage: fetch \d+\.\d s, overlay \d+\.\d s, render \d+\.\d s, deliver \d+\.\d s/);
    expect(stats).toMatch(/Overlay on GPU 0, CPU [1-9]\d* \(GPU share 0%\)/);
  });

  it('a video with nobody in it: the preview says so; a confirmed job fails with a clear message and "try again" asks for a new video', async () => {
    const chatId = 5_100_002;
    const from = { id: chatId, language_code: 'en' };
    const nobody = h.tg.registerFile(media('bad/no_person_1280x720.mp4'));
    await h.tg.pushUserMessage({ chatId, from, video: nobody });
    await botMessage(chatId, en.askBackground);
    h.tg.pressButton({ chatId, from, data: CB.noBgNote });
    await botMessage(chatId, en.pick.engine);
    h.tg.pressButton({ chatId, from, data: 'opt:engine:fast' });
    await botMessage(chatId, en.previewNoPerson);
    // Without a preview the summary comes as text, with the buttons.
    const summary = await h.tg.waitFor(() => h.tg.messageWithButton(chatId, CB.confirm), { what: 'summary' });
    expect(summary.text?.startsWith(en.summaryTitle)).toBe(true);
    h.tg.pressButton({ chatId, from, data: CB.confirm });
    const statusMsg = await botMessage(chatId, en.queued);
    const failedText = en.statusFailed(failureText('no_person', 'en'));
    await h.tg.waitFor(() => h.tg.messages(chatId).find((m) => m.message.message_id === statusMsg.message_id)?.history.includes(failedText), {
      what: 'status: failed',
      timeoutMs: 60_000,
    });
    const edit = h.tg.callsOf('editMessageText').filter((c) => c.params.chat_id === chatId && c.params.text === failedText).at(-1)!;
    const tryAgain = (edit.params.reply_markup as { inline_keyboard: Array<Array<{ callback_data: string }>> }).inline_keyboard[0]![0]!.callback_data;
    expect(tryAgain).toMatch(/^retry:chat5100002-msg\d+$/);
    // The worker stayed silent (failureNotice: 'bot'): the status message is the only failure notice.
    expect(h.tg.callsOf('sendMessage').filter((c) => c.params.chat_id === chatId && c.params.text === failureText('no_person', 'en'))).toHaveLength(0);
    // The button is on the status message itself.
    expect(h.tg.messageWithButton(chatId, tryAgain)?.message_id).toBe(statusMsg.message_id);
    h.tg.pressButton({ chatId, from, data: tryAgain });
    await botMessage(chatId, en.retrySendNew);
  });
});
