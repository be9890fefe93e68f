import { mkdtemp, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Api, GrammyError, InputFile } from 'grammy';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeTelegram, type FakeTelegram } from './fake-telegram.js';
import { hasSharedMedia, media } from './media.js';

const TOKEN = '123456:TEST-token-for-the-fake';

describe('fake Telegram Bot API (through grammY over HTTP)', () => {
  let tg: FakeTelegram;
  let api: Api;
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fake-tg-test-'));
    tg = await startFakeTelegram({ token: TOKEN });
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

  it.skipIf(!hasSharedMedia)('receives multipart uploads (video, video note, document) and reuses file ids', async () => {
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

  it('refuses uploads over the upload limit with 413', async () => {
    const small = await startFakeTelegram({ token: TOKEN, uploadLimitBytes: 1000 });
    try {
      const a = new Api(TOKEN, { apiRoot: small.apiRoot });
      const err = await a.sendDocument(1, new InputFile(Buffer.alloc(5000), 'x.bin')).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(GrammyError);
      expect((err as GrammyError).error_code).toBe(413);
      expect(small.sentFiles).toHaveLength(0);
    } finally {
      await small.close();
    }
  });

  it('injects faults: 429 with retry_after, 5xx, dropped connections, blocked chats', async () => {
    tg.injectFault({ method: 'sendMessage', status: 429, retryAfter: 3 });
    const e429 = (await api.sendMessage(5, 'x').catch((e: unknown) => e)) as GrammyError;
    expect(e429.error_code).toBe(429);
    expect(e429.parameters.retry_after).toBe(3);
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
