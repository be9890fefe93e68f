import { createServer, type Server } from 'node:net';
import { Writable } from 'node:stream';
import { GrammyError, HttpError, InputFile } from 'grammy';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeTelegram, type FakeTelegram } from '../../testing/fake-telegram.js';
import { createTelegramApi } from './api.js';

/**
 * The client policy against the fake Bot API over real HTTP (strict: flood control, nginx's HTML 413). Calls are
 * counted in the fake's log, so "not resent" means the server saw it once.
 */
const TOKEN = '5150:policy-test-SECRET-token';

function capture() {
  const lines: string[] = [];
  const log = pino({ level: 'debug' }, new Writable({ write: (c, _e, cb) => (lines.push(String(c)), cb()) }));
  return { log, lines };
}

describe('Telegram client policy', () => {
  let tg: FakeTelegram;
  const { log, lines } = capture();
  const api = () => createTelegramApi(TOKEN, { apiRoot: tg.apiRoot, log, backoffMs: 50, maxBackoffMs: 200 });

  beforeAll(async () => {
    tg = await startFakeTelegram({ token: TOKEN });
  });
  afterAll(async () => {
    await tg.close();
  });

  it('waits out a 429 for its retry_after and then sends once', async () => {
    tg.injectFault({ method: 'sendMessage', status: 429, retryAfter: 1 });
    const before = tg.callsOf('sendMessage').length;
    const started = Date.now();
    const m = await api().sendMessage(101, 'after the flood wait');
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    const calls = tg.callsOf('sendMessage').slice(before);
    expect(calls.map((c) => c.httpStatus)).toEqual([429, 200]);
    expect(tg.messages(101).filter((s) => s.message.message_id === m.message_id)).toHaveLength(1);
  });

  it('does not sit through a flood wait longer than its cap: the 429 reaches the caller with retry_after', async () => {
    tg.injectFault({ method: 'sendMessage', status: 429, retryAfter: 120 });
    const before = tg.callsOf('sendMessage').length;
    const err = await api().sendMessage(102, 'x').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GrammyError);
    expect((err as GrammyError).error_code).toBe(429);
    expect((err as GrammyError).parameters.retry_after).toBe(120);
    expect(tg.callsOf('sendMessage').length - before).toBe(1);
  });

  it("honours the fake's flood control: a burst to one private chat arrives complete, each message once", async () => {
    const chatId = 103;
    const a = api();
    const texts = Array.from({ length: 8 }, (_, i) => `burst ${i}`);
    await Promise.all(texts.map((text) => a.sendMessage(chatId, text)));
    const toChat = tg.callsOf('sendMessage').filter((c) => c.params.chat_id === chatId);
    expect(toChat.some((c) => c.rateLimited)).toBe(true);
    const shown = tg.messages(chatId).map((s) => (s.message as { text?: string }).text);
    expect(shown.sort()).toEqual([...texts].sort());
  });

  it('never resends a sendVideo whose connection broke after it was sent', async () => {
    tg.injectFault({ method: 'sendVideo', drop: true });
    const before = tg.callsOf('sendVideo').length;
    const err = await api()
      .sendVideo(104, new InputFile(Buffer.alloc(4000, 1), 'v.mp4'))
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HttpError);
    // Longer than every backoff the policy could take.
    await new Promise((r) => setTimeout(r, 600));
    expect(tg.callsOf('sendVideo').length - before).toBe(1);
    expect(tg.sentFiles.filter((f) => f.chatId === 104)).toHaveLength(0);
  });

  it('does not resend a sendMessage after a 5xx (it may have been delivered), but repeats getMe', async () => {
    tg.injectFault({ method: 'sendMessage', status: 502 });
    const before = tg.callsOf('sendMessage').length;
    await expect(api().sendMessage(105, 'x')).rejects.toMatchObject({ error_code: 502 });
    expect(tg.callsOf('sendMessage').length - before).toBe(1);

    tg.injectFault({ method: 'getMe', status: 502 });
    const meBefore = tg.callsOf('getMe').length;
    expect((await api().getMe()).is_bot).toBe(true);
    expect(tg.callsOf('getMe').length - meBefore).toBe(2);
  });

  it('repeats getFile after network errors, a bounded number of times', async () => {
    const file = tg.registerFile(new URL(import.meta.url).pathname);
    tg.injectFault({ method: 'getFile', drop: true, times: 2 });
    let before = tg.callsOf('getFile').length;
    expect((await api().getFile(file.file_id)).file_id).toBe(file.file_id);
    expect(tg.callsOf('getFile').length - before).toBe(3);

    tg.injectFault({ method: 'getFile', drop: true, times: 100 });
    before = tg.callsOf('getFile').length;
    await expect(api().getFile(file.file_id)).rejects.toBeInstanceOf(HttpError);
    expect(tg.callsOf('getFile').length - before).toBe(4); // the call and maxNetworkRetries (3) repeats
    tg.clearFaults();
    const warned = lines.filter((l) => l.includes('"method":"getFile"') && l.includes('sending again'));
    expect(warned.length).toBeGreaterThanOrEqual(5);
    expect(lines.join('\n')).not.toContain(TOKEN);
  });

  it('turns nginx\'s HTML 413 into GrammyError 413, not a network error', async () => {
    const small = await startFakeTelegram({ token: TOKEN, uploadLimitBytes: 2000 });
    try {
      const a = createTelegramApi(TOKEN, { apiRoot: small.apiRoot, log });
      const err = await a.sendDocument(106, new InputFile(Buffer.alloc(10_000, 7), 'big.bin')).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(GrammyError);
      expect(err).toMatchObject({ error_code: 413, description: 'Request Entity Too Large' });
      // Not resent: a 413 says the bytes are too many, the same bytes would be refused again.
      expect(small.callsOf('sendDocument')).toHaveLength(1);
    } finally {
      await small.close();
    }
  });

  it('stops waiting when the caller aborts', async () => {
    tg.injectFault({ method: 'sendMessage', status: 429, retryAfter: 30 });
    const abort = new AbortController();
    const started = Date.now();
    setTimeout(() => abort.abort(), 100);
    const signal = abort.signal as unknown as Parameters<ReturnType<typeof api>['sendMessage']>[3];
    await expect(api().sendMessage(107, 'x', {}, signal)).rejects.toBeInstanceOf(HttpError);
    expect(Date.now() - started).toBeLessThan(5000);
  });
});

describe('Telegram client policy, server not up yet', () => {
  let blocker: Server | null = null;
  let tg: FakeTelegram | null = null;
  afterAll(async () => {
    await tg?.close();
    blocker?.close();
  });

  it('resends even a sendMessage when nothing reached the server (connection refused)', async () => {
    // A free port, closed again: nothing listens there until the fake starts on it.
    blocker = createServer();
    await new Promise<void>((r) => blocker!.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as { port: number }).port;
    await new Promise<void>((r) => blocker!.close(() => r()));
    blocker = null;
    const { log, lines } = capture();
    const a = createTelegramApi(TOKEN, { apiRoot: `http://127.0.0.1:${port}`, log, backoffMs: 400, maxBackoffMs: 400 });
    const sending = a.sendMessage(108, 'sent once the server is up');
    await new Promise((r) => setTimeout(r, 100));
    tg = await startFakeTelegram({ token: TOKEN, port });
    const m = await sending;
    expect(m.text).toBe('sent once the server is up');
    expect(tg.callsOf('sendMessage')).toHaveLength(1);
    expect(lines.some((l) => l.includes('ECONNREFUSED'))).toBe(true);
  });
});
