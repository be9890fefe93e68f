import { UnrecoverableError, Worker } from 'bullmq';
import { Api } from 'grammy';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedis, failureText, RENDER_QUEUE, type RenderJob } from '../pipeline/contract.js';
import { CB } from './flow/callbacks.js';
import { t } from './i18n/index.js';
import { TOKEN, callbackUpdate, messageUpdate, newUser, textUpdate, testBotEnv, videoUpdate, type TestBotEnv, type WireCall } from './test-support.js';

/**
 * The real bot driven with `bot.handleUpdate`, its Bot API calls captured on the wire by a recording `fetch`
 * (also the calls made inside conversations and replays), state in real Redis.
 */
const ADMIN = 99_000_001;
const en = t('en');
const ru = t('ru');

let env: TestBotEnv;
beforeAll(() => {
  env = testBotEnv('conv', { adminIds: [ADMIN] });
});
afterAll(async () => {
  await env?.close();
});

const texts = (calls: WireCall[]) => calls.filter((c) => c.method === 'sendMessage').map((c) => c.params.text as string);
const lastSent = (calls: WireCall[]) => calls.filter((c) => c.method === 'sendMessage').at(-1)!;
const buttons = (call: WireCall) => (call.params.reply_markup?.inline_keyboard ?? []).flat().map((b: { callback_data: string }) => b.callback_data);

describe('user dialogue', () => {
  it('/start and /help answer in the user’s language (ru), English otherwise', async () => {
    const { bot, wire } = env.newBot();
    const ruUser = newUser('ru-RU');
    const deUser = newUser('de');
    await bot.handleUpdate(textUpdate(ruUser, '/start'));
    await bot.handleUpdate(textUpdate(deUser, '/help'));
    await bot.handleUpdate(textUpdate({ id: newUser().id, lang: undefined as unknown as string }, '/start'));
    expect(wire.calls.map((c) => [c.method, c.params.chat_id, c.params.text])).toEqual([
      ['sendMessage', ruUser.id, ru.start],
      ['sendMessage', deUser.id, en.help],
      ['sendMessage', expect.any(Number), en.start],
    ]);
  });

  it('walks the whole dialogue and enqueues exactly one job with the chosen options; replays repeat no call', async () => {
    const { bot, wire } = env.newBot();
    const u = newUser();
    await bot.handleUpdate(textUpdate(u, '/new'));
    expect(texts(wire.calls)).toEqual([en.askHead]);

    const head = videoUpdate(u, { id: 'head', duration: 12, size: 3_000_000 });
    await bot.handleUpdate(head);
    const bgAsk = lastSent(wire.calls);
    expect(bgAsk.params.text).toBe(en.askBackground);
    expect(buttons(bgAsk)).toEqual([CB.noBgOverlay, CB.noBgNote, CB.noBgBoth]);

    const bg = videoUpdate(u, { id: 'bg', kind: 'document' });
    await bot.handleUpdate(bg);
    // No defaults yet → the option picker, one message edited from question to question.
    const picker = lastSent(wire.calls);
    expect(picker.params.text).toBe(en.pick.shape);
    expect(buttons(picker)).toEqual(['opt:shape:circle', 'opt:shape:rounded', 'opt:shape:rect']);
    const pickerId = wire.lastIn(u.id).messageId;

    const choices: Array<[string, string]> = [['shape', 'rounded'], ['position', 'topLeft'], ['size', 'L'], ['engine', 'quality'], ['aspect', '16:9']];
    for (const [i, [field, value]] of choices.entries()) {
      const mark = wire.calls.length;
      await bot.handleUpdate(callbackUpdate(u, pickerId, `opt:${field}:${value}`));
      const now = wire.since(mark);
      expect(now[0]).toMatchObject({ method: 'answerCallbackQuery' });
      if (i < choices.length - 1) {
        const next = choices[i + 1]![0] as keyof typeof en.pick;
        expect(now[1]).toMatchObject({ method: 'editMessageText', params: { message_id: pickerId, text: en.pick[next] } });
      }
    }
    const summary = lastSent(wire.calls);
    expect(summary.params.text).toBe(
      `${en.summaryTitle}\n\nResult: bubble over your video\nShape: Rounded square\nPlace: ↖ Top left\nSize: L (large)\nQuality: Best quality (slower)\nFormat: 16:9 (horizontal)`,
    );
    expect(buttons(summary)).toEqual([CB.confirm, CB.change]);
    const summaryId = wire.lastIn(u.id).messageId;

    await bot.handleUpdate(wire.press(u, CB.confirm));
    const status = wire.lastIn(u.id);
    expect(status.text).toBe(en.queued);
    expect(wire.sentTo(u.id).find((m) => m.messageId === summaryId)!.buttons).toEqual([]); // answered: its buttons are gone

    // Every question was asked once, although the builder was replayed from the top on each update.
    const all = texts(wire.calls);
    for (const q of [en.askHead, en.askBackground, en.pick.shape, en.queued]) expect(all.filter((x) => x === q)).toHaveLength(1);

    const job = (await env.pipeline.queue.getJob(`chat${u.id}-msg${summaryId}`)) as RenderJob;
    expect(job).toBeTruthy();
    expect(job.data).toMatchObject({
      chatId: u.id,
      userId: u.id,
      messageId: head.message!.message_id,
      language: 'en',
      output: 'video',
      failureNotice: 'bot',
      head: { source: 'telegram', kind: 'video', fileId: head.message!.video!.file_id, durationSec: 12, sizeBytes: 3_000_000 },
      background: { source: 'telegram', kind: 'document', fileId: bg.message!.document!.file_id },
      options: { shape: 'rounded', position: 'topLeft', size: 'L', engine: 'quality', aspect: '16:9' },
    });
    expect(await env.store.getStatus(job.id!)).toEqual({ chatId: u.id, messageId: status.messageId, lang: 'en' });
    expect(await env.store.getDefaults(u.id)).toEqual({ shape: 'rounded', position: 'topLeft', size: 'L', engine: 'quality', aspect: '16:9' });
    expect(await env.store.userJobs(u.id)).toEqual([job.id]);

    // "Same as last time" next time: one tap from the background to the summary.
    await bot.handleUpdate(videoUpdate(u));
    await bot.handleUpdate(wire.press(u, CB.noBgNote));
    const ask = lastSent(wire.calls);
    expect(ask.params.text).toBe(en.askSame('Result: round video message\nQuality: Best quality (slower)'));
    expect(buttons(ask)).toEqual([CB.same, CB.choose]);
    await bot.handleUpdate(wire.press(u, CB.same));
    expect(lastSent(wire.calls).params.text).toBe(`${en.summaryTitle}\n\nResult: round video message\nQuality: Best quality (slower)`);
    await bot.handleUpdate(textUpdate(u, '/cancel'));
  });

  it('a double-tapped Confirm makes exactly one job; the second tap is answered, not an error', async () => {
    const { bot, wire } = env.newBot();
    const u = newUser('ru');
    await bot.handleUpdate(videoUpdate(u));
    await bot.handleUpdate(wire.press(u, CB.noBgOverlay));
    for (const [f, v] of [['shape', 'circle'], ['size', 'S'], ['engine', 'fast']]) await bot.handleUpdate(wire.press(u, `opt:${f}:${v}`));
    const summaryId = wire.withButton(u.id, CB.confirm).messageId;
    expect(lastSent(wire.calls).params.text).toContain(ru.summaryTitle);
    const before = await env.pipeline.queue.count();
    const mark = wire.calls.length;
    await Promise.all([bot.handleUpdate(callbackUpdate(u, summaryId, CB.confirm)), bot.handleUpdate(callbackUpdate(u, summaryId, CB.confirm))]);
    expect((await env.pipeline.queue.count()) - before).toBe(1);
    const after = wire.since(mark);
    expect(after.filter((c) => c.method === 'answerCallbackQuery').map((c) => c.params.text)).toEqual([undefined, ru.alreadyConfirmed]);
    expect(texts(after)).toEqual([ru.queued]);
    const job = (await env.pipeline.queue.getJob(`chat${u.id}-msg${summaryId}`)) as RenderJob;
    expect(job.data).toMatchObject({ output: 'overlay', background: null, language: 'ru', options: { shape: 'circle', size: 'S', engine: 'fast' } });
  });

  it('"no background: both" makes two jobs from one Confirm, each with its own titled status message', async () => {
    const { bot, wire } = env.newBot();
    const u = newUser();
    await bot.handleUpdate(videoUpdate(u));
    await bot.handleUpdate(wire.press(u, CB.noBgBoth));
    for (const [f, v] of [['shape', 'circle'], ['size', 'L'], ['engine', 'fast']]) await bot.handleUpdate(wire.press(u, `opt:${f}:${v}`));
    expect(lastSent(wire.calls).params.text).toBe(`${en.summaryTitle}\n\nResult: transparent bubble file + round video message\nShape: Circle\nSize: L (large)\nQuality: Fast`);
    const summaryId = wire.withButton(u.id, CB.confirm).messageId;
    await bot.handleUpdate(wire.press(u, CB.confirm));
    expect(texts(wire.calls).slice(-2)).toEqual([`${en.output.overlay}\n${en.queued}`, `${en.output.note}\n${en.queued}`]);
    const noteStatusId = wire.lastIn(u.id).messageId;
    const overlay = (await env.pipeline.queue.getJob(`chat${u.id}-msg${summaryId}-overlay`)) as RenderJob;
    const note = (await env.pipeline.queue.getJob(`chat${u.id}-msg${summaryId}-note`)) as RenderJob;
    expect([overlay.data.output, note.data.output]).toEqual(['overlay', 'note']);
    expect(overlay.data.options).toMatchObject({ shape: 'circle', size: 'L' });
    // The status notifier keeps the title on every later text of the message.
    const deps = env.deps(new Api(TOKEN, { fetch: wire.fetch }));
    await deps.status.show(note.id!, (l) => t(l).statusCancelled);
    expect(wire.of('editMessageText').at(-1)!.params).toMatchObject({ message_id: noteStatusId, text: `${en.output.note}\n${en.statusCancelled}` });
    expect(await env.store.userJobs(u.id)).toEqual([note.id, overlay.id]);
  });

  it('resumes a half-finished dialogue after a restart (a new Bot instance on the same Redis)', async () => {
    const first = env.newBot();
    const u = newUser();
    await first.bot.handleUpdate(textUpdate(u, '/new'));
    await first.bot.handleUpdate(videoUpdate(u, { id: 'h1', kind: 'video_note' }));
    expect(lastSent(first.wire.calls).params.text).toBe(en.askBackground);

    const second = env.newBot(); // the process restarted: nothing in memory
    await second.bot.handleUpdate(videoUpdate(u, { id: 'b1' }));
    expect(texts(second.wire.calls)).toEqual([en.pick.shape]); // continues at the options; asks nothing again
    for (const [f, v] of [['shape', 'circle'], ['position', 'bottomRight'], ['size', 'M'], ['engine', 'fast'], ['aspect', '9:16']]) {
      await second.bot.handleUpdate(second.wire.press(u, `opt:${f}:${v}`));
    }
    const summaryId = second.wire.withButton(u.id, CB.confirm).messageId;
    await second.bot.handleUpdate(second.wire.press(u, CB.confirm));
    const job = (await env.pipeline.queue.getJob(`chat${u.id}-msg${summaryId}`)) as RenderJob;
    expect(job?.data.head).toMatchObject({ kind: 'video_note', fileId: expect.stringMatching(/^h1/) });
    expect(job?.data.background).toMatchObject({ kind: 'video', fileId: expect.stringMatching(/^b1/) });
  });

  it('Change goes back to the options; /help inside a dialogue is answered without losing it; /new restarts', async () => {
    const { bot, wire } = env.newBot();
    const u = newUser();
    await bot.handleUpdate(videoUpdate(u));
    await bot.handleUpdate(textUpdate(u, '/help'));
    expect(lastSent(wire.calls).params.text).toBe(en.help);
    await bot.handleUpdate(wire.press(u, CB.noBgNote));
    await bot.handleUpdate(wire.press(u, 'opt:engine:fast'));
    await bot.handleUpdate(wire.press(u, CB.change));
    expect(lastSent(wire.calls).params.text).toBe(en.pick.engine);
    await bot.handleUpdate(textUpdate(u, '/new'));
    expect(texts(wire.calls).slice(-2)).toEqual([en.startingOver, en.askHead]);
  });

  it('a message sent while the summary waits gets the buttons again, and they work', async () => {
    const { bot, wire } = env.newBot();
    const u = newUser();
    await bot.handleUpdate(videoUpdate(u));
    await bot.handleUpdate(wire.press(u, CB.noBgNote));
    await bot.handleUpdate(wire.press(u, 'opt:engine:fast'));
    const summary = wire.lastIn(u.id);
    await bot.handleUpdate(textUpdate(u, 'is it ok?'));
    const again = wire.lastIn(u.id);
    expect(again).toMatchObject({ text: en.summaryTitle, buttons: [CB.confirm, CB.change] });
    expect(again.messageId).not.toBe(summary.messageId);
    // press() takes the newest message showing Confirm: the copy.
    await bot.handleUpdate(wire.press(u, CB.confirm));
    expect(lastSent(wire.calls).params.text).toBe(en.queued);
    // The job id comes from the summary the dialogue made, whichever copy of its buttons was pressed.
    expect(await env.pipeline.queue.getJob(`chat${u.id}-msg${summary.messageId}`)).toBeTruthy();
    expect(await env.pipeline.queue.getJob(`chat${u.id}-msg${again.messageId}`)).toBeUndefined();
  });

  it('a button press Telegram refuses to answer (too old, e.g. queued during a restart) does not end the dialogue', async () => {
    const { bot, wire } = env.newBot();
    const u = newUser();
    await bot.handleUpdate(videoUpdate(u));
    wire.failing.add('answerCallbackQuery');
    await bot.handleUpdate(wire.press(u, CB.noBgNote));
    await bot.handleUpdate(wire.press(u, 'opt:engine:fast'));
    wire.failing.clear();
    expect(wire.of('answerCallbackQuery')).toHaveLength(2);
    expect(lastSent(wire.calls).params.text).toBe(`${en.summaryTitle}\n\nResult: round video message\nQuality: Fast`);
    await bot.handleUpdate(wire.press(u, CB.confirm));
    expect(lastSent(wire.calls).params.text).toBe(en.queued);
  });

  it('/cancel leaves the dialogue; the next message starts nothing', async () => {
    const { bot, wire } = env.newBot();
    const u = newUser();
    await bot.handleUpdate(textUpdate(u, '/new'));
    await bot.handleUpdate(textUpdate(u, '/cancel'));
    expect(lastSent(wire.calls).params.text).toBe(en.cancelledDialog);
    await bot.handleUpdate(textUpdate(u, 'hello'));
    expect(lastSent(wire.calls).params.text).toBe(en.askHead); // the fallback's hint, not a dialogue step
    await bot.handleUpdate(textUpdate(u, '/cancel'));
    expect(lastSent(wire.calls).params.text).toBe(en.nothingToCancel);
  });

  it('/cancel cancels a queued job and marks its status message; /status lists jobs', async () => {
    const { bot, wire } = env.newBot();
    const u = newUser();
    await bot.handleUpdate(videoUpdate(u));
    await bot.handleUpdate(wire.press(u, CB.noBgNote));
    await bot.handleUpdate(wire.press(u, 'opt:engine:fast'));
    const jobId = `chat${u.id}-msg${wire.withButton(u.id, CB.confirm).messageId}`;
    await bot.handleUpdate(wire.press(u, CB.confirm));
    const statusId = wire.lastIn(u.id).messageId;
    await bot.handleUpdate(textUpdate(u, '/status'));
    expect(lastSent(wire.calls).params.text).toMatch(new RegExp(`^${en.jobsTitle}\\n• .+ — ${en.jobState.waiting}$`));
    await bot.handleUpdate(textUpdate(u, '/cancel'));
    expect(await env.pipeline.queue.getJob(jobId)).toBeUndefined();
    expect(lastSent(wire.calls).params.text).toBe(en.cancelledJobs(1));
    expect(wire.of('editMessageText').at(-1)!.params).toMatchObject({ chat_id: u.id, message_id: statusId, text: en.statusCancelled });
    await bot.handleUpdate(textUpdate(u, '/status'));
    expect(lastSent(wire.calls).params.text).toMatch(new RegExp(`— ${en.jobState.unknown}$`));
  });
});

describe('defaults, limits and "try again"', () => {
  it('/settings shows the defaults and changes them through the same picker', async () => {
    const { bot, wire } = env.newBot();
    const u = newUser();
    await bot.handleUpdate(textUpdate(u, '/settings'));
    const shown = lastSent(wire.calls);
    expect(shown.params.text).toBe(en.settingsNone);
    expect(buttons(shown)).toEqual([CB.editSettings]);
    await bot.handleUpdate(wire.press(u, CB.editSettings));
    for (const [f, v] of [['shape', 'rect'], ['position', 'left'], ['size', 'S'], ['engine', 'fast'], ['aspect', '1:1']]) await bot.handleUpdate(wire.press(u, `opt:${f}:${v}`));
    expect(lastSent(wire.calls).params.text).toBe(en.settingsSaved('Shape: Square\nPlace: ⬅ Left\nSize: S (small)\nQuality: Fast\nFormat: 1:1 (square)'));
    expect(await env.store.getDefaults(u.id)).toEqual({ shape: 'rect', position: 'left', size: 'S', engine: 'fast', aspect: '1:1' });
    // /new while editing: the settings dialogue ends and a video starts an order.
    await bot.handleUpdate(wire.press(u, CB.editSettings));
    expect(lastSent(wire.calls).params.text).toBe(en.pick.shape);
    await bot.handleUpdate(textUpdate(u, '/new'));
    expect(texts(wire.calls).slice(-2)).toEqual([en.startingOver, en.askHead]);
    await bot.handleUpdate(videoUpdate(u));
    expect(lastSent(wire.calls).params.text).toBe(en.askBackground);
    await bot.handleUpdate(textUpdate(u, '/cancel'));
  });

  it('a user over PIPELINE_MAX_ACTIVE_JOBS_PER_USER is told so at Confirm; nothing is queued', async () => {
    const { bot, wire } = env.newBot({ maxActivePerUser: 1 });
    const u = newUser();
    const orderToOptions = async () => {
      await bot.handleUpdate(videoUpdate(u));
      await bot.handleUpdate(wire.press(u, CB.noBgNote));
    };
    await orderToOptions();
    await bot.handleUpdate(wire.press(u, 'opt:engine:fast'));
    await bot.handleUpdate(wire.press(u, CB.confirm));
    expect(lastSent(wire.calls).params.text).toBe(en.queued);
    const before = await env.pipeline.queue.count();
    await orderToOptions(); // "same as last time" is now offered first
    expect(lastSent(wire.calls).params.text).toBe(en.askSame('Result: round video message\nQuality: Fast'));
    await bot.handleUpdate(wire.press(u, CB.same));
    await bot.handleUpdate(wire.press(u, CB.confirm));
    expect(lastSent(wire.calls).params.text).toBe(failureText('too_many_jobs', 'en'));
    expect(await env.pipeline.queue.count()).toBe(before);
  });

  it('"try again" on a failure that is not the input’s fault puts the same job back; on a bad input it asks for a new video', async () => {
    const { bot, wire } = env.newBot();
    const u = newUser();
    await bot.handleUpdate(videoUpdate(u));
    await bot.handleUpdate(wire.press(u, CB.noBgOverlay));
    for (const [f, v] of [['shape', 'circle'], ['size', 'M'], ['engine', 'fast']]) await bot.handleUpdate(wire.press(u, `opt:${f}:${v}`));
    const jobId = `chat${u.id}-msg${wire.withButton(u.id, CB.confirm).messageId}`;
    await bot.handleUpdate(wire.press(u, CB.confirm));
    const uStatus = wire.lastIn(u.id).messageId;
    const v = newUser();
    await bot.handleUpdate(videoUpdate(v));
    await bot.handleUpdate(wire.press(v, CB.noBgNote));
    await bot.handleUpdate(wire.press(v, 'opt:engine:fast'));
    const badInputJob = `chat${v.id}-msg${wire.withButton(v.id, CB.confirm).messageId}`;
    await bot.handleUpdate(wire.press(v, CB.confirm));
    const vStatus = wire.lastIn(v.id).messageId;
    // A stand-in worker fails it the way the pipeline does (an unrecoverable, parseable reason).
    const connection = createRedis('redis://127.0.0.1:6379');
    const worker = new Worker(RENDER_QUEUE, async (job) => {
      throw new UnrecoverableError(job.id === jobId ? 'pipeline:renderer_unavailable: injected' : 'media:no_person: injected');
    }, { connection, prefix: env.prefix });
    try {
      const end = Date.now() + 10_000;
      const failed = async (id: string) => (await (await env.pipeline.queue.getJob(id))?.getState()) === 'failed';
      while (!(await failed(jobId)) || !(await failed(badInputJob))) {
        if (Date.now() > end) throw new Error('job did not fail');
        await new Promise((r) => setTimeout(r, 50));
      }
      await worker.pause();
      const mark = wire.calls.length;
      // The status notifier is not listening here, so the "try again" buttons are pressed where it would put them.
      await bot.handleUpdate(callbackUpdate(u, uStatus, `retry:${jobId}`));
      expect(await (await env.pipeline.queue.getJob(jobId))!.getState()).toMatch(/^(waiting|paused|active)$/);
      expect(wire.since(mark).map((c) => [c.method, c.params.text])).toEqual([
        ['answerCallbackQuery', undefined],
        ['editMessageText', en.retryQueued],
      ]);
      // Someone else's button does nothing.
      await bot.handleUpdate(callbackUpdate(newUser(), uStatus, `retry:${jobId}`));
      expect(wire.calls.at(-1)).toMatchObject({ method: 'answerCallbackQuery', params: { text: en.notYourJob } });
      // The input was the problem: the same job again would fail the same way.
      await bot.handleUpdate(callbackUpdate(v, vStatus, `retry:${badInputJob}`));
      expect(lastSent(wire.calls)).toMatchObject({ params: { chat_id: v.id, text: en.retrySendNew } });
      expect(await (await env.pipeline.queue.getJob(badInputJob))!.getState()).toBe('failed');
    } finally {
      await worker.close();
      await connection.quit();
    }
  });
});

describe('bad input', () => {
  it('sticker, photo, audio and voice get a reply that names them, in and out of a dialogue', async () => {
    const { bot, wire } = env.newBot();
    const u = newUser();
    await bot.handleUpdate(messageUpdate(u, { sticker: { file_id: 'stk1', file_unique_id: 'ustk1', type: 'regular', width: 512, height: 512, is_animated: false, is_video: false } }));
    await bot.handleUpdate(messageUpdate(u, { photo: [{ file_id: 'ph1', file_unique_id: 'uph1', width: 90, height: 90 }] }));
    await bot.handleUpdate(textUpdate(u, '/new'));
    await bot.handleUpdate(messageUpdate(u, { audio: { file_id: 'au1', file_unique_id: 'uau1', duration: 3 } }));
    await bot.handleUpdate(messageUpdate(u, { voice: { file_id: 'vo1', file_unique_id: 'uvo1', duration: 3 } }));
    await bot.handleUpdate(messageUpdate(u, { document: { file_id: 'doc1', file_unique_id: 'udoc1', mime_type: 'application/pdf', file_name: 'a.pdf' } }));
    expect(texts(wire.calls)).toEqual([
      en.notAVideo('a sticker'),
      en.notAVideo('a photo'),
      en.askHead,
      en.notAVideo('an audio file'),
      en.notAVideo('a voice message'),
      en.notAVideo('a file that is not a video'),
    ]);
    await bot.handleUpdate(textUpdate(u, '/cancel'));
  });

  it('a file over the 20 MB download limit or over the length limit is refused before anything is queued', async () => {
    const { bot, wire } = env.newBot();
    const u = newUser('ru');
    const before = await env.pipeline.queue.count();
    await bot.handleUpdate(videoUpdate(u, { size: 25 * 1024 * 1024 }));
    expect(lastSent(wire.calls).params.text).toBe(ru.fileTooBigForTelegram('25', '20'));
    await bot.handleUpdate(videoUpdate(u, { duration: 600 }));
    expect(lastSent(wire.calls).params.text).toBe(ru.videoTooLong('600', '180'));
    // Inside a dialogue too, for the background.
    await bot.handleUpdate(videoUpdate(u));
    await bot.handleUpdate(videoUpdate(u, { kind: 'document', size: 21 * 1024 * 1024 }));
    expect(lastSent(wire.calls).params.text).toBe(ru.fileTooBigForTelegram('21', '20'));
    expect(await env.pipeline.queue.count()).toBe(before);
    expect(wire.of('getFile')).toHaveLength(0);
    await bot.handleUpdate(textUpdate(u, '/cancel'));
  });

  it('unknown callback data and stale buttons are answered without an error', async () => {
    const { bot, wire } = env.newBot();
    const u = newUser();
    const neverSent = 5; // presses on a message this bot never sent (an old chat, a forged update)
    await bot.handleUpdate(callbackUpdate(u, neverSent, 'definitely:not:ours'));
    await bot.handleUpdate(callbackUpdate(u, neverSent, 'opt:shape:hexagon'));
    await bot.handleUpdate(callbackUpdate(u, neverSent, 'retry:chat1-msg1'));
    expect(wire.calls.map((c) => [c.method, c.params.text])).toEqual([
      ['answerCallbackQuery', en.buttonExpired],
      ['answerCallbackQuery', en.buttonExpired],
      ['answerCallbackQuery', en.buttonExpired],
    ]);
    // Inside a dialogue: a wrong button is answered and the dialogue waits on.
    await bot.handleUpdate(textUpdate(u, '/new'));
    await bot.handleUpdate(callbackUpdate(u, neverSent, CB.confirm));
    expect(wire.calls.at(-1)).toMatchObject({ method: 'answerCallbackQuery', params: { text: en.buttonExpired } });
    await bot.handleUpdate(videoUpdate(u));
    expect(lastSent(wire.calls).params.text).toBe(en.askBackground);
    await bot.handleUpdate(textUpdate(u, '/cancel'));
  });

  it('unknown commands, and admin commands from non-admins, get the unknown-command reply', async () => {
    const { bot, wire } = env.newBot();
    const u = newUser();
    for (const cmd of ['/frobnicate', '/retry all', '/queue', '/pause', '/mode cpu', '/stats', '/failed 3']) await bot.handleUpdate(textUpdate(u, cmd));
    expect(texts(wire.calls)).toEqual(Array(7).fill(en.unknownCommand));
    expect(await env.pipeline.queue.isPaused()).toBe(false);
  });
});

describe('admin commands', () => {
  const admin = { id: ADMIN, lang: 'en' };
  let own: TestBotEnv; // an empty queue of its own, so the counts are exact
  beforeAll(() => {
    own = testBotEnv('admin', { adminIds: [ADMIN] });
  });
  afterAll(async () => {
    await own?.close();
  });
  it('/queue, /pause, /resume, /mode, /stats, /failed, /retry for ADMIN_IDS', async () => {
    const { bot, wire } = own.newBot();
    const reply = async (text: string) => {
      await bot.handleUpdate(textUpdate(admin, text));
      return lastSent(wire.calls).params.text as string;
    };
    expect(await reply('/queue')).toBe('Queue\nwaiting 0, active 0, delayed 0, prioritized 0\ncompleted 0, failed 0');
    expect(await reply('/pause')).toMatch(/^Queue paused/);
    expect(await own.pipeline.queue.isPaused()).toBe(true);
    expect(await reply('/queue')).toMatch(/^Queue — PAUSED/);
    expect(await reply('/resume')).toBe('Queue resumed.');
    expect(await own.pipeline.queue.isPaused()).toBe(false);
    expect(await reply('/mode')).toMatch(/^Mode: auto \(from PROCESSING_MODE; env auto\)\nWorkers: none alive\nOverlays: GPU 0, CPU 0; CPU fallbacks 0/);
    expect(await reply('/mode cpu')).toMatch(new RegExp(`^Mode: cpu \\(admin override by ${ADMIN}; env auto\\)`));
    expect(await reply('/mode turbo')).toBe('Usage: /mode [auto|gpu|cpu|env]');
    expect(await reply('/mode env')).toMatch(/^Mode: auto \(from PROCESSING_MODE/);
    expect(await reply('/stats')).toMatch(/^Since \d{4}-\d\d-\d\dT00:00:00.000Z: 0 done, 0 failed\nMedian per stage: fetch —/);
    expect(await reply('/failed')).toBe('No failed jobs.');
    expect(await reply('/retry')).toBe('Usage: /retry <job id> or /retry all');
    expect(await reply('/retry chat1-msg404')).toBe('No job chat1-msg404.');
    expect(await reply('/retry all')).toBe('Retried 0 failed jobs.');
    expect(wire.calls.every((c) => c.params.chat_id === ADMIN)).toBe(true);
  });
});
