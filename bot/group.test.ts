import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Api } from 'grammy';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runFfmpeg } from '../common/ffmpeg.js';
import type { RenderJob } from '../pipeline/contract.js';
import { startFakeTelegram, type FakeTelegram } from '../testing/fake-telegram.js';
import { createBot } from './create-bot.js';
import { CB } from './flow/callbacks.js';
import { t } from './i18n/index.js';
import { startPolling, type Polling } from './runtime/polling.js';
import {
  BOT_INFO,
  callbackUpdate,
  captureLogger,
  inGroup,
  newUser,
  testBotEnv,
  textUpdate,
  TOKEN,
  videoUpdate,
  type From,
  type TestBotEnv,
} from './test-support.js';

/**
 * Dialogue ownership in group chats: each member has their own dialogue; another member's messages and presses on
 * someone else's buttons neither reach nor change it, and the presses are answered politely in the presser's
 * language. The real bot, real Redis; first through `bot.handleUpdate` with the exact wire calls, then over HTTP
 * against the fake Bot API with the runner.
 */
const en = t('en');
const ru = t('ru');

let env: TestBotEnv;
beforeAll(() => {
  env = testBotEnv('group');
});
afterAll(async () => {
  await env?.close();
});

let groupCounter = -1_000_000_000_000 - (process.pid % 1000) * 1000;
const newGroup = () => --groupCounter;


describe('dialogues in a group chat belong to one user', () => {
  const convKey = (groupId: number, u: From) => `${env.store.conversationPrefix()}${groupId}:${u.id}`;
  const dialogueState = (groupId: number, u: From) => env.store.redis.get(convKey(groupId, u));

  it("B's video, text and presses on A's buttons leave A's dialogue as it was; B is told politely; A completes normally", async () => {
    const { bot, wire } = env.newBot();
    const G = newGroup();
    const a = newUser('en');
    const b = newUser('ru');
    const send = (_from: From, update: ReturnType<typeof textUpdate>) => bot.handleUpdate(inGroup(update, G));
    // Presses name the message explicitly (ids from the recording peer): whose menu it is, is the point here.
    const press = (u: From, messageId: number, data: string) => bot.handleUpdate(inGroup(callbackUpdate(u, messageId, data), G));

    // A starts: the head video, then the background question with its buttons.
    await send(a, textUpdate(a, '/new'));
    const head = videoUpdate(a, { id: 'headA' });
    await send(a, head);
    const bgAsk = wire.lastIn(G);
    expect(bgAsk.text).toBe(en.askBackground);
    const bgAskId = bgAsk.messageId;
    const before = await dialogueState(G, a);
    expect(before).toBeTruthy();

    // B presses A's "no background" button: refused in B's language, nothing else happens.
    let mark = wire.calls.length;
    await press(b, bgAskId, CB.noBgNote);
    expect(wire.since(mark).map((c) => [c.method, c.params.text])).toEqual([['answerCallbackQuery', ru.notYourMenu]]);
    expect(await dialogueState(G, a)).toBe(before);

    // B sends a video and a text in the group: they start and feed B's own dialogue, not A's.
    mark = wire.calls.length;
    await send(b, videoUpdate(b, { id: 'headB' }));
    const bBgAskId = wire.lastIn(G).messageId;
    await send(b, textUpdate(b, 'привет'));
    expect(wire.since(mark).filter((c) => c.method === 'sendMessage').map((c) => c.params.text)).toEqual([ru.askBackground, ru.notAVideo(ru.what.text)]);
    expect(await dialogueState(G, a)).toBe(before);
    expect(await dialogueState(G, b)).toBeTruthy();

    // A goes on where A was: "round video" → the engine picker.
    await press(a, bgAskId, CB.noBgNote);
    const picker = wire.lastIn(G);
    expect(picker.text).toBe(en.pick.engine);
    const pickerId = picker.messageId;
    const atPicker = await dialogueState(G, a);
    expect(atPicker).not.toBe(before);

    // B presses A's picker (and, holding a dialogue of B's own, would have it take the press if it got there).
    mark = wire.calls.length;
    await press(b, pickerId, 'opt:engine:quality');
    expect(wire.since(mark).map((c) => [c.method, c.params.text])).toEqual([['answerCallbackQuery', ru.notYourMenu]]);
    expect(await dialogueState(G, a)).toBe(atPicker);

    await press(a, pickerId, 'opt:engine:fast');
    const summary = wire.lastIn(G);
    expect(summary).toMatchObject({ text: `${en.summaryTitle}\n\nResult: round video message\nQuality: Fast`, buttons: [CB.confirm, CB.change] });
    const summaryId = summary.messageId;

    // B presses A's Confirm and Change: refused, no job.
    mark = wire.calls.length;
    await press(b, summaryId, CB.confirm);
    await press(b, summaryId, CB.change);
    expect(wire.since(mark).map((c) => [c.method, c.params.text])).toEqual([
      ['answerCallbackQuery', ru.notYourMenu],
      ['answerCallbackQuery', ru.notYourMenu],
    ]);
    const jobId = `chat${G}-msg${summaryId}`;
    expect(await env.pipeline.queue.getJob(jobId)).toBeUndefined();

    // A confirms: one job, A's, with A's video and A's choices.
    await press(a, summaryId, CB.confirm);
    expect(wire.lastIn(G).text).toBe(en.queued);
    const job = (await env.pipeline.queue.getJob(jobId)) as RenderJob;
    expect(job.data).toMatchObject({
      chatId: G,
      userId: a.id,
      language: 'en',
      output: 'note',
      head: { fileId: head.message!.video!.file_id },
      options: { engine: 'fast' },
    });
    expect(await env.store.userJobs(a.id)).toEqual([jobId]);
    expect(await env.store.userJobs(b.id)).toEqual([]);
    expect(await dialogueState(G, a)).toBeNull(); // A's dialogue ended

    // B's own dialogue was untouched by all of this and still takes B's own buttons.
    mark = wire.calls.length;
    await press(b, bBgAskId, CB.noBgOverlay);
    expect(wire.since(mark).map((c) => [c.method, c.params.text ?? null])[0]).toEqual(['answerCallbackQuery', null]);
    expect(wire.lastIn(G).text).toBe(ru.pick.shape);
    // …and A pressing B's menu is refused in A's language.
    await press(a, wire.lastIn(G).messageId, 'opt:shape:rect');
    expect(wire.calls.at(-1)).toMatchObject({ method: 'answerCallbackQuery', params: { text: en.notYourMenu } });
    await send(b, textUpdate(b, '/cancel'));
  });

  it('/cancel, /status and /settings act for the user who sends them', async () => {
    const { bot, wire } = env.newBot();
    const G = newGroup();
    const a = newUser('en');
    const b = newUser('en');
    const send = (update: ReturnType<typeof textUpdate>) => bot.handleUpdate(inGroup(update, G));
    const press = (u: From, messageId: number, data: string) => bot.handleUpdate(inGroup(callbackUpdate(u, messageId, data), G));
    const lastText = () => wire.lastIn(G).text;

    await send(videoUpdate(a));
    const aBgAsk = wire.lastIn(G).messageId;
    await send(videoUpdate(b));
    const aState = await dialogueState(G, a);

    // B's /cancel ends B's dialogue only.
    await send(textUpdate(b, '/cancel'));
    expect(lastText()).toBe(en.cancelledDialog);
    expect(await dialogueState(G, b)).toBeNull();
    expect(await dialogueState(G, a)).toBe(aState);

    // A carries on and queues a job; /status shows it to A, not to B.
    await press(a, aBgAsk, CB.noBgNote);
    await bot.handleUpdate(wire.press(a, 'opt:engine:fast', G));
    const summaryId = wire.withButton(G, CB.confirm).messageId;
    await bot.handleUpdate(wire.press(a, CB.confirm, G));
    expect(lastText()).toBe(en.queued);
    await send(textUpdate(b, '/status'));
    expect(lastText()).toBe(en.noJobs);
    await send(textUpdate(a, '/status'));
    expect(lastText()).toMatch(new RegExp(`^${en.jobsTitle}\\n• .+ — ${en.jobState.waiting}$`));

    // /settings: A's defaults (saved by A's Confirm) to A, none to B; B's "change" button is B's alone.
    await send(textUpdate(a, '/settings'));
    expect(lastText()).toBe(en.settingsShow('Shape: Circle\nPlace: ↘ Bottom right\nSize: M (medium)\nQuality: Fast\nFormat: 9:16 (vertical)'));
    await send(textUpdate(b, '/settings'));
    expect(lastText()).toBe(en.settingsNone);
    const bSettings = wire.lastIn(G).messageId;
    await press(a, bSettings, CB.editSettings);
    expect(wire.calls.at(-1)).toMatchObject({ method: 'answerCallbackQuery', params: { text: en.notYourMenu } });
    expect(await dialogueState(G, a)).toBeNull();
    await press(b, bSettings, CB.editSettings);
    expect(lastText()).toBe(en.pick.shape);
    expect(await dialogueState(G, b)).toBeTruthy();

    // A's /cancel cancels A's queued job, and leaves B's settings dialogue alone.
    const bState = await dialogueState(G, b);
    await send(textUpdate(a, '/cancel'));
    expect(lastText()).toBe(en.cancelledJobs(1));
    expect(await env.pipeline.queue.getJob(`chat${G}-msg${summaryId}`)).toBeUndefined();
    expect(await dialogueState(G, b)).toBe(bState);
    await send(textUpdate(b, '/cancel'));
    expect(lastText()).toBe(en.cancelledDialog);
  });

  it('a private chat keeps its chat id as the dialogue key and records no menu owners', async () => {
    const { bot, wire } = env.newBot();
    const u = newUser();
    await bot.handleUpdate(videoUpdate(u));
    expect(await env.store.redis.get(`${env.store.conversationPrefix()}${u.id}`)).toBeTruthy();
    expect(await env.store.redis.get(`${env.store.conversationPrefix()}${u.id}:${u.id}`)).toBeNull();
    expect(await env.store.getMenuOwner(u.id, wire.withButton(u.id, CB.noBgNote).messageId)).toBeNull();
    await bot.handleUpdate(textUpdate(u, '/cancel'));
  });
});

describe('over HTTP with the runner (fake Bot API), in a supergroup', () => {
  let tg: FakeTelegram;
  let polling: Polling;
  let dir: string;
  const logs = captureLogger();

  beforeAll(async () => {
    tg = await startFakeTelegram({ token: TOKEN });
    // The summary comes as a "preview" photo (a stand-in picture), sent from outside the dialogue's replay log.
    dir = await mkdtemp(join(tmpdir(), 'bot-group-'));
    const picture = join(dir, 'preview.jpg');
    await runFfmpeg(['-f', 'lavfi', '-i', 'color=c=red:s=64x64', '-frames:v', '1', picture]);
    const preview = { make: async () => ({ ok: true as const, path: picture, ms: 1 }), cleanup: async () => undefined };
    const api = new Api(TOKEN, { apiRoot: tg.apiRoot });
    const bot = createBot({ token: TOKEN, apiRoot: tg.apiRoot, botInfo: BOT_INFO, deps: env.deps(api, { log: logs.log, preview }) });
    polling = startPolling(bot, { log: logs.log, conflictRetryMs: 200 });
  });
  afterAll(async () => {
    await polling?.stop();
    await tg?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("another member's presses are answered with the refusal; the owner's dialogue goes on to a job", async () => {
    const G = newGroup();
    const a = { id: newUser().id, language_code: 'en' };
    const b = { id: newUser().id, language_code: 'ru' };
    const file = tg.registerFile(new URL('../package.json', import.meta.url).pathname, { fileName: 'clip.mp4', mimeType: 'video/mp4' });
    const botMessage = (text: string) =>
      tg.waitFor(() => tg.messages(G).filter((m) => m.message.from?.is_bot && m.history.includes(text)).at(-1)?.message, { what: text });
    // Which user each press came from, to pick the bot's answer to a given user's press off the wire.
    const pressedBy = new Map<string, number>();
    const answersTo = (userId: number) =>
      tg.callsOf('answerCallbackQuery').filter((c) => c.ok && pressedBy.get(String(c.params.callback_query_id)) === userId);
    const press = (from: { id: number; language_code: string }, messageId: number, data: string) => {
      const u = tg.pushCallbackQuery({ chatId: G, messageId, data, from });
      pressedBy.set(u.callback_query!.id, from.id);
    };
    /** B's press on A's message, and the text of the bot's answer to it. */
    const pressAsB = async (messageId: number, data: string) => {
      const before = answersTo(b.id).length;
      press(b, messageId, data);
      return (await tg.waitFor(() => answersTo(b.id)[before], { what: `the answer to B's ${data}` })).params.text;
    };

    await tg.pushUserMessage({ chatId: G, from: a, document: file });
    const ask = await botMessage(en.askBackground);
    expect(await pressAsB(ask.message_id, CB.noBgNote)).toBe(ru.notYourMenu);
    press(a, ask.message_id, CB.noBgNote);
    const picker = await botMessage(en.pick.engine);
    expect(await pressAsB(picker.message_id, 'opt:engine:quality')).toBe(ru.notYourMenu);
    press(a, picker.message_id, 'opt:engine:fast');
    const photo = await tg.waitFor(() => tg.sentFiles.find((f) => f.chatId === G && f.method === 'sendPhoto'), { what: 'the preview photo' });
    expect(photo.caption).toContain(en.summaryTitle);
    expect(await pressAsB(photo.messageId, CB.confirm)).toBe(ru.notYourMenu);
    press(a, photo.messageId, CB.confirm);
    await botMessage(en.queued);
    const job = (await env.pipeline.queue.getJob(`chat${G}-msg${photo.messageId}`)) as RenderJob;
    expect(job.data).toMatchObject({ chatId: G, userId: a.id, output: 'note', options: { engine: 'fast' } });
    expect(tg.callsOf('answerCallbackQuery').filter((c) => c.params.text === ru.notYourMenu)).toHaveLength(3);
  });
});
