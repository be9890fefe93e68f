import { TelegramServer } from 'telegram-test-api/lib/telegramServer.js';
import { Api } from 'grammy';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RenderJob } from '../pipeline/contract.js';
import { createBot } from './create-bot.js';
import { CB } from './flow/callbacks.js';
import { t } from './i18n/index.js';
import { createStatusNotifier } from './progress/status-notifier.js';
import { BOT_INFO, captureLogger, REDIS_URL, testBotEnv, TOKEN, type TestBotEnv } from './test-support.js';

/**
 * An outside check of protocol conformance: the text-and-button part of the dialogue against `telegram-test-api`,
 * a third-party Bot API emulator (it has no file methods, chat actions or long-poll timeout, so the bot runs
 * without previews and the test pulls updates itself). The bot's every call goes over HTTP to the emulator.
 */
const en = t('en');

describe('the dialogue against telegram-test-api', () => {
  let server: TelegramServer;
  let env: TestBotEnv;

  beforeAll(async () => {
    server = new TelegramServer({ port: 20_000 + (process.pid % 20_000), host: '127.0.0.1', storeTimeout: 60 });
    await server.start();
    env = testBotEnv('tta');
  });
  afterAll(async () => {
    await server?.stop();
    await env?.close();
  });

  it('/start, /new, a video, "no background", options, Confirm → one job; texts and buttons as sent', async () => {
    const apiRoot = server.config.apiURL.replace(/\/+$/, '');
    const { log } = captureLogger();
    const api = new Api(TOKEN, { apiRoot });
    const deps = { ...env.deps(api), status: createStatusNotifier({ api, queue: env.pipeline.queue, store: env.store, redisUrl: REDIS_URL, prefix: env.prefix, minIntervalMs: 10, log }) };
    const bot = createBot({ token: TOKEN, apiRoot, botInfo: BOT_INFO, deps });
    const userId = 8_800_000 + (process.pid % 1000);
    const client = server.getClient(TOKEN, { userId, chatId: userId, timeout: 5000, interval: 20 });

    /** Hands every pending update to the bot (over HTTP: the bot's own getUpdates) and returns the bot's new messages. */
    let seen = 0;
    const pump = async () => {
      for (const u of await bot.api.getUpdates({ offset: 0, timeout: 0 })) await bot.handleUpdate(u);
      const mine = server.storage.botMessages.filter((m) => Number(m.message.chat_id) === userId);
      const fresh = mine.slice(seen);
      seen = mine.length;
      return fresh.map((m) => ({ id: m.messageId, text: m.message.text, keyboard: (m.message.reply_markup as { inline_keyboard?: Array<Array<{ callback_data: string }>> } | undefined)?.inline_keyboard }));
    };
    const press = async (data: string, messageId: number) => {
      await client.sendCallback(client.makeCallbackQuery(data, { message: { message_id: messageId } }));
    };

    await client.sendCommand(client.makeCommand('/start'));
    expect((await pump()).map((m) => m.text)).toEqual([en.start]);

    await client.sendCommand(client.makeCommand('/new'));
    expect((await pump()).map((m) => m.text)).toEqual([en.askHead]);

    // The emulator passes message fields through: a video message as a real client would send it.
    const video = { file_id: 'BAACAgIAAxkBAAIBZ2Vtest', file_unique_id: 'AgADtest', width: 720, height: 1280, duration: 9, file_size: 2_000_000, mime_type: 'video/mp4' };
    await client.sendMessage(client.makeMessage('', { video } as never));
    const [bgAsk] = await pump();
    expect(bgAsk).toMatchObject({ text: en.askBackground });
    expect(bgAsk!.keyboard!.flat().map((b) => b.callback_data)).toEqual([CB.noBgOverlay, CB.noBgNote, CB.noBgBoth]);

    await press(CB.noBgNote, bgAsk!.id);
    const [picker] = await pump();
    expect(picker).toMatchObject({ text: en.pick.engine });
    expect(picker!.keyboard!.flat().map((b) => b.callback_data)).toEqual(['opt:engine:fast', 'opt:engine:quality']);

    await press('opt:engine:quality', picker!.id);
    const [summary] = await pump();
    expect(summary!.text).toBe(`${en.summaryTitle}\n\nResult: round video message\nQuality: Best quality (slower)`);
    await press(CB.confirm, summary!.id);
    expect((await pump()).map((m) => m.text)).toEqual([en.queued]);

    const job = (await env.pipeline.queue.getJob(`chat${userId}-msg${summary!.id}`)) as RenderJob;
    expect(job.data).toMatchObject({ output: 'note', head: { kind: 'video', fileId: video.file_id, durationSec: 9 }, options: { engine: 'quality' } });
    // The picker message was edited to the summary of the choices (editMessageText reached the emulator).
    const edited = server.storage.botMessages.find((m) => m.messageId === picker!.id)!;
    expect(edited.message.text).toBe('Result: round video message\nQuality: Best quality (slower)');
  });
});
