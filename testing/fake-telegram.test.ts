import { mkdtemp, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Api, GrammyError, HttpError, InputFile } from 'grammy';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runFfmpeg } from '../common/ffmpeg.js';
import { DEFAULT_RATE_LIMITS, startFakeTelegram, type FakeTelegram, type FakeTelegramOptions } from './fake-telegram.js';
import { createCallbackQueries } from './fake-telegram/callback-queries.js';
import { CALLBACK_QUERY_TTL_MS } from './fake-telegram/limits.js';
import { KNOWN_METHODS } from './fake-telegram/method-names.js';
import { METHODS } from './fake-telegram/methods.js';
import { createRateLimiter } from './fake-telegram/rate-limit.js';
import { media, needSharedMedia } from './media.js';

const TOKEN = '123456:TEST-token-for-the-fake';

/** nginx's page, written out here rather than imported, so the test checks the fake against the real bytes. */
const NGINX_413 =
  '<html>\r\n<head><title>413 Request Entity Too Large</title></head>\r\n<body>\r\n<center><h1>413 Request Entity Too Large</h1></center>\r\n<hr><center>nginx/1.18.0</center>\r\n</body>\r\n</html>\r\n';
const QUERY_TOO_OLD = 'Bad Request: query is too old and response timeout expired or query ID is invalid';
const NOT_MODIFIED =
  'Bad Request: message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message';

/** A raw JSON call, for asserting the exact wire answer (status, headers, body) rather than grammY's reading of it. */
async function rawCall(tg: FakeTelegram, method: string, params: Record<string, unknown>) {
  const res = await fetch(`${tg.apiRoot}/bot${tg.token}/${method}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(params),
  });
  return { status: res.status, type: res.headers.get('content-type'), body: await res.text() };
}

/** A fake for one test, closed afterwards. */
async function withFake(opts: Partial<FakeTelegramOptions>, fn: (tg: FakeTelegram, api: Api) => Promise<void>) {
  const tg = await startFakeTelegram({ token: TOKEN, ...opts });
  try {
    await fn(tg, new Api(TOKEN, { apiRoot: tg.apiRoot }));
  } finally {
    await tg.close();
  }
}

const kb = (data: string) => ({ inline_keyboard: [[{ text: 'B', callback_data: data }]] });

describe('fake Telegram Bot API (through grammY over HTTP)', () => {
  let tg: FakeTelegram;
  let api: Api;
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fake-tg-test-'));
    // These tests exercise other rules in quick succession in few chats; flood control has its own tests below.
    tg = await startFakeTelegram({ token: TOKEN, rateLimits: false });
    api = new Api(TOKEN, { apiRoot: tg.apiRoot });
  });
  afterAll(async () => {
    await tg.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('answers getMe with the bot id taken from the token', async () => {
    const me = await api.getMe();
    expect(me).toMatchObject({ id: 123456, is_bot: true, username: 'bubblecast_test_bot' });
  });

  it('refuses a wrong token with 401 on API calls and on file downloads', async () => {
    const wrong = new Api('123456:wrong', { apiRoot: tg.apiRoot });
    await expect(wrong.getMe()).rejects.toMatchObject({ error_code: 401, description: 'Unauthorized' });
    const res = await fetch(`${tg.apiRoot}/file/bot123456:wrong/documents/file_1.mp4`);
    expect(res.status).toBe(401);
  });

  it('has one handler per Bot API method it knows, by the canonical name', () => {
    expect(Object.keys(METHODS).sort()).toEqual([...KNOWN_METHODS].sort());
  });

  it('answers 404 for an unknown method', async () => {
    const res = await fetch(`${tg.apiRoot}/bot${TOKEN}/sendDice`, { method: 'POST' });
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ ok: false, error_code: 404, description: 'Not Found: method not found' });
  });

  it('sends, edits (refusing identical edits) and deletes messages with per-chat ids', async () => {
    const a = await api.sendMessage(42, 'first');
    const b = await api.sendMessage(42, '<b>bold</b> &amp; text', {
      parse_mode: 'HTML',
      reply_markup: { inline_keyboard: [[{ text: 'Go', callback_data: 'go' }]] },
    });
    expect(b.message_id).toBe(a.message_id + 1);
    expect(b.text).toBe('bold & text');
    const edited = await api.editMessageText(42, a.message_id, 'second');
    expect(edited).toMatchObject({ text: 'second' });
    const notModified = await api.editMessageText(42, a.message_id, 'second').catch((e: unknown) => e);
    expect(notModified).toBeInstanceOf(GrammyError);
    expect((notModified as GrammyError).description).toMatch(/^Bad Request: message is not modified/);
    await expect(api.editMessageText(42, 9999, 'x')).rejects.toMatchObject({ description: 'Bad Request: message to edit not found' });
    await expect(api.sendMessage(42, '  ')).rejects.toMatchObject({ description: 'Bad Request: message text is empty' });
    expect(await api.deleteMessage(42, b.message_id)).toBe(true);
    await expect(api.deleteMessage(42, b.message_id)).rejects.toMatchObject({ description: 'Bad Request: message to delete not found' });
    const stored = tg.messages(42);
    expect(stored.find((m) => m.message.message_id === a.message_id)?.history).toEqual(['first', 'second']);
    expect(tg.callsOf('editMessageText')).toHaveLength(3);
  });

  it('long-polls getUpdates, confirms with offset, and answers 409 to a superseded poller', async () => {
    const started = Date.now();
    const pending = api.getUpdates({ timeout: 5 });
    setTimeout(() => void tg.pushUserMessage({ chatId: 7, text: '/start' }), 150);
    const got = await pending;
    expect(Date.now() - started).toBeLessThan(3000);
    expect(got).toHaveLength(1);
    expect(got[0]!.message).toMatchObject({ text: '/start', chat: { id: 7, type: 'private' }, entities: [{ type: 'bot_command' }] });
    // Confirming removes it.
    expect(await api.getUpdates({ offset: got[0]!.update_id + 1, timeout: 0 })).toEqual([]);

    const first = api.getUpdates({ timeout: 5 }).catch((e: unknown) => e);
    await tg.waitFor(() => tg.callsOf('getUpdates').length >= 2 && true, { what: 'first poll recorded' }).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 100));
    const second = api.getUpdates({ timeout: 1 });
    const err = await first;
    expect(err).toBeInstanceOf(GrammyError);
    expect((err as GrammyError).error_code).toBe(409);
    expect(await second).toEqual([]);
  });

  it('answers callback queries once, and chat actions', async () => {
    const msg = await api.sendMessage(8, 'pick', { reply_markup: { inline_keyboard: [[{ text: 'A', callback_data: 'a' }]] } });
    const update = tg.pushCallbackQuery({ chatId: 8, messageId: msg.message_id, data: 'a' });
    expect(await api.answerCallbackQuery(update.callback_query!.id)).toBe(true);
    await expect(api.answerCallbackQuery(update.callback_query!.id)).rejects.toMatchObject({ error_code: 400 });
    expect(await api.sendChatAction(8, 'upload_video')).toBe(true);
    await expect(api.sendChatAction(8, 'dancing' as 'typing')).rejects.toMatchObject({ error_code: 400 });
  });

  // Tests find messages by what the bot shows (their real ids), never by guessing the fake's numbering.
  it("finds the bot's newest message and the message showing a button, as edits and deletes left them", async () => {
    const chatId = 808;
    const kb = (...data: string[]) => ({ inline_keyboard: [data.map((d) => ({ text: d, callback_data: d }))] });
    await tg.pushUserMessage({ chatId, text: 'hi' });
    const ask = await api.sendMessage(chatId, 'ask', { reply_markup: kb('yes', 'no') });
    const menu = await api.sendMessage(chatId, 'menu', { reply_markup: kb('yes') });
    const note = await api.sendMessage(chatId, 'note');
    expect(tg.lastBotMessage(chatId)?.message_id).toBe(note.message_id);
    expect(tg.messageWithButton(chatId, 'yes')?.message_id).toBe(menu.message_id); // the newest that shows it
    expect(tg.messageWithButton(chatId, 'no')?.message_id).toBe(ask.message_id);
    // An edit without reply_markup takes the buttons away; a deleted message shows nothing.
    await api.editMessageText(chatId, menu.message_id, 'menu, answered');
    expect(tg.messageWithButton(chatId, 'yes')?.message_id).toBe(ask.message_id);
    await api.deleteMessage(chatId, note.message_id);
    expect(tg.lastBotMessage(chatId)?.text).toBe('menu, answered');
    const press = tg.pressButton({ chatId, data: 'yes', from: { id: 4242 } });
    expect(press.callback_query).toMatchObject({ data: 'yes', from: { id: 4242 }, message: { message_id: ask.message_id } });
    expect(() => tg.pressButton({ chatId, data: 'maybe' })).toThrow(/no message in chat 808 shows maybe; bot messages: /);
    expect(tg.lastBotMessage(809)).toBeUndefined();
  });

  it('serves registered files through getFile + /file/bot<token>/<path>, refusing files over 20 MB', async () => {
    const small = join(dir, 'small.bin');
    await writeFile(small, Buffer.from('hello video'));
    const reg = tg.registerFile(small);
    const file = await api.getFile(reg.file_id);
    expect(file).toMatchObject({ file_id: reg.file_id, file_size: 11 });
    const res = await fetch(`${tg.apiRoot}/file/bot${TOKEN}/${file.file_path}`);
    expect(await res.text()).toBe('hello video');

    const big = join(dir, 'big.bin');
    await writeFile(big, '');
    await truncate(big, 20 * 1024 * 1024 + 1); // sparse: costs no disk
    const bigReg = tg.registerFile(big);
    await expect(api.getFile(bigReg.file_id)).rejects.toMatchObject({ error_code: 400, description: 'Bad Request: file is too big' });
    await expect(api.getFile('nope')).rejects.toMatchObject({ description: 'Bad Request: invalid file_id' });
  });

  it.skipIf(!needSharedMedia())('receives multipart uploads (video, video note, document) and reuses file ids', async () => {
    const clip = media('tiny_64x64.mp4');
    const sent = await api.sendVideo(99, new InputFile(clip), { caption: 'here', supports_streaming: true, reply_parameters: { message_id: 12345, allow_sending_without_reply: true } });
    expect(sent.video).toMatchObject({ width: 64, height: 64, duration: 2, mime_type: 'video/mp4' });
    expect(sent.caption).toBe('here');
    const upload = tg.sentFiles.at(-1)!;
    expect(upload).toMatchObject({ method: 'sendVideo', chatId: 99, field: 'video', via: 'upload', messageId: sent.message_id });
    expect(await readFile(upload.path)).toEqual(await readFile(clip));
    expect(tg.callsOf('sendVideo').at(-1)!.params).toMatchObject({ chat_id: 99, supports_streaming: true, caption: 'here' });

    const note = await api.sendVideoNote(99, new InputFile(clip), { length: 64 });
    expect(note.video_note).toMatchObject({ length: 64, duration: 2 });
    const doc = await api.sendDocument(99, new InputFile(clip, 'bubble.mp4'));
    expect(doc.document).toMatchObject({ file_name: 'bubble.mp4', mime_type: 'video/mp4' });
    const again = await api.sendVideo(99, sent.video!.file_id);
    expect(tg.sentFiles.at(-1)).toMatchObject({ via: 'file_id', size: upload.size });
    expect(again.video!.file_id).toBe(sent.video!.file_id);
    await expect(api.sendVideo(99, 'not-a-file-id')).rejects.toMatchObject({
      description: 'Bad Request: wrong file identifier/HTTP URL specified',
    });
    // A file the bot sent can be fetched back by its id, like on the real server.
    const back = await api.getFile(sent.video!.file_id);
    const bytes = Buffer.from(await (await fetch(`${tg.apiRoot}/file/bot${TOKEN}/${back.file_path}`)).arrayBuffer());
    expect(bytes.length).toBe(upload.size);
  });

  it('injects faults: 429 with retry_after, 5xx, dropped connections, blocked chats', async () => {
    tg.injectFault({ method: 'sendMessage', status: 429, retryAfter: 3 });
    const e429 = (await api.sendMessage(5, 'x').catch((e: unknown) => e)) as GrammyError;
    expect(e429.error_code).toBe(429);
    expect(e429.parameters.retry_after).toBe(3);
    expect(e429.description).toBe('Too Many Requests: retry after 3');
    tg.injectFault({ method: '*', status: 502, times: 1 });
    await expect(api.getMe()).rejects.toMatchObject({ error_code: 502 });
    tg.injectFault({ method: 'getMe', drop: true });
    await expect(api.getMe()).rejects.toThrow();
    expect((await api.getMe()).id).toBe(123456);
    tg.blockChat(666);
    await expect(api.sendMessage(666, 'hi')).rejects.toMatchObject({ error_code: 403, description: 'Forbidden: bot was blocked by the user' });
  });

  it('accepts urlencoded and query-string parameters like the real server', async () => {
    const res = await fetch(`${tg.apiRoot}/bot${TOKEN}/sendMessage?chat_id=77`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'text=hi+there',
    });
    const body = (await res.json()) as { ok: boolean; result: { text: string; chat: { id: number } } };
    expect(body.ok).toBe(true);
    expect(body.result).toMatchObject({ text: 'hi there', chat: { id: 77 } });
  });
});

describe('fake Bot API: request bodies over the cap get nginx\'s HTML 413', () => {
  /** Streams `bytes` of a document upload without a content-length (as grammY does); resolves with what came back. */
  function chunkedUpload(tg: FakeTelegram, bytes: number): Promise<string> {
    return new Promise((resolve) => {
      const url = `${tg.apiRoot}/bot${tg.token}/sendDocument`;
      const req = request(url, { method: 'POST', headers: { 'content-type': 'multipart/form-data; boundary=b' } }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c));
        res.on('end', () => resolve(`${res.statusCode} ${res.headers['content-type']} ${body === NGINX_413 ? 'nginx page' : body}`));
      });
      req.on('error', (e: NodeJS.ErrnoException) => resolve(`error ${e.code}`));
      req.write('--b\r\ncontent-disposition: form-data; name="document"; filename="x.bin"\r\n\r\n');
      const chunk = Buffer.alloc(64 * 1024, 120);
      let left = Math.ceil(bytes / chunk.length);
      const write = () => {
        while (left-- > 0) if (!req.write(chunk)) return void req.once('drain', write);
        req.end();
      };
      write();
    });
  }

  it('uploadLimitBytes is the whole body: at the cap is fine, one byte over is the HTML page, and nothing is sent', async () => {
    await withFake({ uploadLimitBytes: 1000, rateLimits: false }, async (tg, api) => {
      const form = (n: number) => `chat_id=5&text=${'a'.repeat(n - 'chat_id=5&text='.length)}`;
      const post = (body: string) =>
        fetch(`${tg.apiRoot}/bot${TOKEN}/sendMessage`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body });
      expect((await post(form(1000))).status).toBe(200);
      const over = await post(form(1001));
      expect(over.status).toBe(413);
      expect(over.headers.get('content-type')).toBe('text/html');
      expect(await over.text()).toBe(NGINX_413);
      expect(tg.messages(5)).toHaveLength(1);

      // grammY cannot read HTML as JSON: the caller gets an HttpError, not a GrammyError with error_code 413.
      const err = await api.sendDocument(1, new InputFile(Buffer.alloc(5000), 'x.bin')).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(HttpError);
      expect(tg.sentFiles).toHaveLength(0);
      expect(tg.callsOf('sendDocument').at(-1)).toMatchObject({ httpStatus: 413, ok: false });
    });
  });

  it('a streamed upload far over the cap still gets the status (the rest of the body is read, not reset)', async () => {
    await withFake({ uploadLimitBytes: 1000 }, async (tg) => {
      expect(await chunkedUpload(tg, 4 * 1024 * 1024)).toBe('413 text/html nginx page');
      expect(await chunkedUpload(tg, 4 * 1024 * 1024)).toBe('413 text/html nginx page');
    });
  });

  it('defaults: 50,000,000 bytes per request, 10,000,000 for sendPhoto', async () => {
    await withFake({ rateLimits: false }, async (tg) => {
      const multipart = (field: string, fileBytes: number) =>
        Buffer.concat([
          Buffer.from(`--b\r\ncontent-disposition: form-data; name="chat_id"\r\n\r\n9\r\n--b\r\ncontent-disposition: form-data; name="${field}"; filename="f.bin"\r\n\r\n`),
          Buffer.alloc(fileBytes, 1),
          Buffer.from('\r\n--b--\r\n'),
        ]);
      const post = (method: string, body: Buffer) =>
        fetch(`${tg.apiRoot}/bot${TOKEN}/${method}`, { method: 'POST', headers: { 'content-type': 'multipart/form-data; boundary=b' }, body });
      const photo = await post('sendPhoto', multipart('photo', 10_000_000));
      expect([photo.status, await photo.text()]).toEqual([413, NGINX_413]);
      const doc = await post('sendDocument', multipart('document', 10_000_000));
      expect(doc.status).toBe(200);
      const huge = await post('sendDocument', Buffer.alloc(50_000_001));
      expect([huge.status, await huge.text()]).toEqual([413, NGINX_413]);
    });
  });
});

describe('fake Bot API: video notes as strict as the real server', () => {
  let dir: string;
  let square: string;
  let wide: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fake-tg-notes-'));
    square = join(dir, 'square.mp4');
    wide = join(dir, 'wide.mp4');
    for (const [out, size] of [[square, '64x64'], [wide, '64x48']] as const) {
      await runFfmpeg(['-f', 'lavfi', '-i', `color=c=red:s=${size}:d=0.4:r=10`, '-c:v', 'libx264', '-pix_fmt', 'yuv420p', out]);
    }
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('refuses a URL ("sending video notes by a URL is currently unsupported"), though the same URL works for sendVideo', async () => {
    await withFake({ rateLimits: false }, async (tg, api) => {
      const file = await api.getFile(tg.registerFile(square).file_id);
      const url = `${tg.apiRoot}/file/bot${TOKEN}/${file.file_path}`;
      expect((await api.sendVideo(3, url)).video).toMatchObject({ width: 64, height: 64 });
      await expect(api.sendVideoNote(3, url)).rejects.toMatchObject({
        error_code: 400,
        description: 'Bad Request: wrong file identifier/HTTP URL specified',
      });
    });
  });

  it('refuses a video that is not square, and a length over 640; a square one of length 640 goes', async () => {
    await withFake({ rateLimits: false }, async (tg, api) => {
      await expect(api.sendVideoNote(3, new InputFile(wide))).rejects.toMatchObject({
        error_code: 400,
        description: 'Bad Request: VIDEO_NOTE_NOT_SQUARE',
      });
      await expect(api.sendVideoNote(3, new InputFile(square), { length: 641 })).rejects.toMatchObject({
        error_code: 400,
        description: 'Bad Request: wrong video note length',
      });
      expect(tg.sentFiles).toHaveLength(0);
      expect(tg.messages(3)).toHaveLength(0);
      const note = await api.sendVideoNote(3, new InputFile(square), { length: 640 });
      expect(note.video_note).toMatchObject({ length: 640 });
    });
  });
});

describe('fake Bot API: inline buttons', () => {
  it('callback_data over 64 bytes of UTF-8 is BUTTON_DATA_INVALID on every method that takes reply_markup', async () => {
    await withFake({ rateLimits: false }, async (tg, api) => {
      const ok = kb('é'.repeat(32)); // 64 bytes
      const bad = [kb('a'.repeat(65)), kb('é'.repeat(33))]; // 65 bytes; 33 characters but 66 bytes
      const refused = { error_code: 400, description: 'Bad Request: BUTTON_DATA_INVALID' };
      const text = await api.sendMessage(4, 'text', { reply_markup: ok });
      const doc = await api.sendDocument(4, new InputFile(Buffer.from('doc'), 'd.txt'), { caption: 'c', reply_markup: ok });
      for (const markup of bad) {
        await expect(api.sendMessage(4, 'x', { reply_markup: markup })).rejects.toMatchObject(refused);
        await expect(api.sendDocument(4, new InputFile(Buffer.from('d'), 'd.txt'), { reply_markup: markup })).rejects.toMatchObject(refused);
        await expect(api.editMessageText(4, text.message_id, 'y', { reply_markup: markup })).rejects.toMatchObject(refused);
        await expect(api.editMessageReplyMarkup(4, text.message_id, { reply_markup: markup })).rejects.toMatchObject(refused);
        await expect(api.editMessageCaption(4, doc.message_id, { caption: 'd', reply_markup: markup })).rejects.toMatchObject(refused);
        await expect(api.copyMessage(4, 4, text.message_id, { reply_markup: markup })).rejects.toMatchObject(refused);
      }
      expect(tg.messages(4)).toHaveLength(2);
      expect(tg.messages(4)[0]!.history).toEqual(['text']);
    });
  });
});

describe('fake Bot API: callback queries expire', () => {
  it('answerable once, within callbackQueryTtlMs; late, repeated or unknown answers are "query is too old"', async () => {
    await withFake({ callbackQueryTtlMs: 300, rateLimits: false }, async (tg, api) => {
      const msg = await api.sendMessage(8, 'pick', { reply_markup: kb('a') });
      const prompt = tg.pushCallbackQuery({ chatId: 8, messageId: msg.message_id, data: 'a' });
      const late = tg.pushCallbackQuery({ chatId: 8, messageId: msg.message_id, data: 'a' });
      expect(await api.answerCallbackQuery(prompt.callback_query!.id)).toBe(true);
      const tooOld = { error_code: 400, description: QUERY_TOO_OLD };
      await expect(api.answerCallbackQuery(prompt.callback_query!.id)).rejects.toMatchObject(tooOld);
      await expect(api.answerCallbackQuery('4242424242')).rejects.toMatchObject(tooOld);
      await new Promise((r) => setTimeout(r, 400));
      await expect(api.answerCallbackQuery(late.callback_query!.id)).rejects.toMatchObject(tooOld);
    });
  });

  it('the default window is not short: an answer after half a second is accepted', async () => {
    await withFake({ rateLimits: false }, async (tg, api) => {
      const msg = await api.sendMessage(8, 'pick', { reply_markup: kb('a') });
      const u = tg.pushCallbackQuery({ chatId: 8, messageId: msg.message_id, data: 'a' });
      await new Promise((r) => setTimeout(r, 500));
      expect(await api.answerCallbackQuery(u.callback_query!.id)).toBe(true);
    });
  });

  it('the default window is 15 s, on a clock the test controls', () => {
    let now = 5_000;
    const queries = createCallbackQueries(CALLBACK_QUERY_TTL_MS, () => now);
    queries.add('in-time');
    queries.add('late');
    now += 15_000;
    expect(() => queries.answer('in-time')).not.toThrow();
    now += 1;
    expect(() => queries.answer('late')).toThrow(QUERY_TOO_OLD);
  });
});

describe('fake Bot API: text and caption lengths, unmodified edits', () => {
  it('text: 4096 UTF-16 code units after entity parsing; one more is "message is too long", on send and on edit', async () => {
    await withFake({ rateLimits: false }, async (_tg, api) => {
      const tooLong = { error_code: 400, description: 'Bad Request: message is too long' };
      const m = await api.sendMessage(6, 'a'.repeat(4096));
      await expect(api.sendMessage(6, 'a'.repeat(4097))).rejects.toMatchObject(tooLong);
      await expect(api.sendMessage(6, '😀'.repeat(2049))).rejects.toMatchObject(tooLong); // 2049 characters, 4098 units
      expect((await api.sendMessage(6, '😀'.repeat(2048))).text).toHaveLength(4096);
      expect((await api.sendMessage(6, `<b>${'a'.repeat(4096)}</b>`, { parse_mode: 'HTML' })).text).toHaveLength(4096);
      await expect(api.editMessageText(6, m.message_id, 'b'.repeat(4097))).rejects.toMatchObject(tooLong);
    });
  });

  it('captions: 1024; one more is "message caption is too long", on send and on edit', async () => {
    await withFake({ rateLimits: false }, async (_tg, api) => {
      const tooLong = { error_code: 400, description: 'Bad Request: message caption is too long' };
      const file = () => new InputFile(Buffer.from('doc'), 'd.txt');
      const doc = await api.sendDocument(6, file(), { caption: 'c'.repeat(1024) });
      expect(doc.caption).toHaveLength(1024);
      await expect(api.sendDocument(6, file(), { caption: 'c'.repeat(1025) })).rejects.toMatchObject(tooLong);
      await expect(api.editMessageCaption(6, doc.message_id, { caption: 'd'.repeat(1025) })).rejects.toMatchObject(tooLong);
    });
  });

  it('an edit that changes nothing is "message is not modified", for markup and captions too', async () => {
    await withFake({ rateLimits: false }, async (_tg, api) => {
      const notModified = { error_code: 400, description: NOT_MODIFIED };
      const m = await api.sendMessage(6, 'same', { reply_markup: kb('x') });
      await expect(api.editMessageText(6, m.message_id, 'same', { reply_markup: kb('x') })).rejects.toMatchObject(notModified);
      await expect(api.editMessageReplyMarkup(6, m.message_id, { reply_markup: kb('x') })).rejects.toMatchObject(notModified);
      expect(await api.editMessageReplyMarkup(6, m.message_id, { reply_markup: kb('y') })).toMatchObject({ text: 'same' });
      const doc = await api.sendDocument(6, new InputFile(Buffer.from('doc'), 'd.txt'), { caption: 'cap' });
      await expect(api.editMessageCaption(6, doc.message_id, { caption: 'cap' })).rejects.toMatchObject(notModified);
      expect(await api.editMessageCaption(6, doc.message_id, { caption: 'new' })).toMatchObject({ caption: 'new' });
    });
  });
});

describe('fake Bot API: flood control', () => {
  const tooMany = (n: number) => ({ ok: false, error_code: 429, description: `Too Many Requests: retry after ${n}`, parameters: { retry_after: n } });

  it('a private chat past its burst gets the real 429 body; the call is not performed and is recorded', async () => {
    await withFake({}, async (tg) => {
      // Twelve at once: five fit the burst (plus one per second of refill if this machine is slow), the rest are refused.
      const started = Date.now();
      const answers = await Promise.all(Array.from({ length: 12 }, (_, i) => rawCall(tg, 'sendMessage', { chat_id: 31, text: `m${i}` })));
      const refill = Math.floor((Date.now() - started) / 1000);
      const refused = answers.filter((a) => a.status === 429);
      expect(refused.length).toBeGreaterThanOrEqual(7 - refill);
      expect(JSON.parse(refused[0]!.body)).toEqual(tooMany(1));
      expect(refused[0]!.type).toBe('application/json');
      expect(tg.messages(31)).toHaveLength(12 - refused.length);
      expect(tg.calls.filter((c) => c.rateLimited && c.httpStatus === 429)).toHaveLength(refused.length);
      // Another chat has its own bucket (and the global limit is far away).
      expect((await rawCall(tg, 'sendMessage', { chat_id: 32, text: 'hi' })).status).toBe(200);
    });
  });

  it('edits and uploads count too; a second later one more send is allowed', async () => {
    await withFake({ rateLimits: { privateBurst: 2 } }, async (tg, api) => {
      const m = await api.sendMessage(33, 'one');
      await api.editMessageText(33, m.message_id, 'two');
      const err = await api.sendDocument(33, new InputFile(Buffer.from('d'), 'd.txt')).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(GrammyError);
      expect(err).toMatchObject({ error_code: 429, parameters: { retry_after: 1 } });
      expect(tg.sentFiles).toHaveLength(0);
      await new Promise((r) => setTimeout(r, 1100));
      expect(await api.editMessageText(33, m.message_id, 'three')).toMatchObject({ text: 'three' });
    });
  });

  it('a group gets 20 per minute, with retry_after counting down to the oldest send leaving the window', async () => {
    await withFake({}, async (tg) => {
      const answers = await Promise.all(Array.from({ length: 24 }, (_, i) => rawCall(tg, 'sendMessage', { chat_id: -100555, text: `g${i}` })));
      expect(answers.filter((a) => a.status === 200)).toHaveLength(20);
      const retry = (JSON.parse(answers.find((a) => a.status === 429)!.body) as { parameters: { retry_after: number } }).parameters.retry_after;
      expect(retry).toBeGreaterThan(50);
      expect(retry).toBeLessThanOrEqual(60);
    });
  });

  it('rateLimits: false switches it off', async () => {
    await withFake({ rateLimits: false }, async (tg) => {
      const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => rawCall(tg, 'sendMessage', { chat_id: 34, text: `m${i}` })));
      expect(answers.every((a) => a.status === 200)).toBe(true);
    });
  });

  it('the default numbers, on a clock the test controls: private 5 + 1/s, group 20 per 60 s, 30/s overall', () => {
    let now = 1_000_000;
    const limiter = createRateLimiter(DEFAULT_RATE_LIMITS, () => now);
    const admitted = (chatId: number, n: number) => Array.from({ length: n }, () => limiter.admit(chatId)).filter((w) => w === 0).length;
    expect(admitted(1, 6)).toBe(5);
    now += 999;
    expect(limiter.admit(1)).toBe(1);
    now += 1;
    expect(limiter.admit(1)).toBe(0);

    now += 60_000;
    expect(admitted(-5, 21)).toBe(20);
    now += 30_000;
    expect(limiter.admit(-5)).toBe(30);
    now += 30_000;
    expect(limiter.admit(-5)).toBe(0);

    now += 60_000;
    expect(Array.from({ length: 30 }, (_, i) => limiter.admit(100 + i)).every((w) => w === 0)).toBe(true);
    expect(limiter.admit(200)).toBe(1);
    now += 1000;
    expect(limiter.admit(200)).toBe(0);
  });
});
