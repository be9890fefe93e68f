import { Api } from 'grammy';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeTelegram, type FakeTelegram } from '../testing/fake-telegram.js';
import { ConfigError } from '../common/config.js';
import { assertWebhookConfig, loadBotConfig } from './config.js';
import { createBot } from './create-bot.js';
import { t } from './i18n/index.js';
import { startBotHttp } from './runtime/http.js';
import { startPolling } from './runtime/polling.js';
import { captureLogger, testBotEnv, TOKEN, type TestBotEnv } from './test-support.js';

/** How the bot runs: config validation, long polling that survives a 409 Conflict, the webhook's secret token. */
const en = t('en');

describe('bot config', () => {
  const base = { BOT_TOKEN: TOKEN };
  it('parses ADMIN_IDS and defaults; names the variable that is wrong', () => {
    const cfg = loadBotConfig.parse({ ...base, ADMIN_IDS: '1, 22 ,333' });
    expect(cfg).toMatchObject({ ADMIN_IDS: [1, 22, 333], TELEGRAM_API_ROOT: 'https://api.telegram.org', PORT: 8080, BOT_PREVIEW: true });
    expect(() => loadBotConfig.parse({})).toThrow(/BOT_TOKEN/);
    expect(() => loadBotConfig.parse({ ...base, ADMIN_IDS: '12,abc' })).toThrow(/ADMIN_IDS: comma-separated numeric/);
  });

  // The transport is a union: each mode carries exactly what it needs, and a wrong mix is refused naming the variable.
  it('no WEBHOOK_URL → polling; WEBHOOK_URL with its secret → webhook with the URL’s path', () => {
    expect(loadBotConfig.parse(base).transport).toEqual({ mode: 'polling' });
    const hook = loadBotConfig.parse({ ...base, WEBHOOK_URL: 'https://bot.example.com/tg/hook?x=1', WEBHOOK_SECRET: 's3cr3t-s3cr3t-s3cr3t' });
    expect(hook.transport).toEqual({ mode: 'webhook', url: 'https://bot.example.com/tg/hook?x=1', path: '/tg/hook', secret: 's3cr3t-s3cr3t-s3cr3t' });
    // Empty values count as unset (a cleared field in a deploy panel).
    expect(loadBotConfig.parse({ ...base, WEBHOOK_URL: ' ', WEBHOOK_SECRET: '' }).transport).toEqual({ mode: 'polling' });
  });

  it('refuses a webhook without its secret, a secret without a webhook, and a malformed secret, naming the variable', () => {
    const refusal = (e: Record<string, string>) => {
      try {
        loadBotConfig.parse({ ...base, ...e });
      } catch (err) {
        expect(err).toBeInstanceOf(ConfigError);
        return (err as ConfigError).issues;
      }
      throw new Error('accepted');
    };
    expect(refusal({ WEBHOOK_URL: 'https://bot.example.com/tg' })).toEqual([{ variable: 'WEBHOOK_SECRET', message: 'required when WEBHOOK_URL is set' }]);
    expect(refusal({ WEBHOOK_SECRET: 's3cr3t-s3cr3t-s3cr3t' })).toEqual([{ variable: 'WEBHOOK_SECRET', message: expect.stringMatching(/^set without WEBHOOK_URL/) }]);
    expect(refusal({ WEBHOOK_URL: 'https://bot.example.com/tg', WEBHOOK_SECRET: 'short' })).toEqual([{ variable: 'WEBHOOK_SECRET', message: expect.stringMatching(/16–256/) }]);
    expect(refusal({ WEBHOOK_URL: 'not a url', WEBHOOK_SECRET: 's3cr3t-s3cr3t-s3cr3t' }).map((i) => i.variable)).toEqual(['WEBHOOK_URL']);
    // The older check still agrees with the schema (the Railway test uses it).
    expect(() => assertWebhookConfig({ WEBHOOK_URL: 'https://bot.example.com/tg', WEBHOOK_SECRET: undefined })).toThrow(/WEBHOOK_SECRET: required/);
  });
});

describe('running the bot', () => {
  let tg: FakeTelegram;
  let env: TestBotEnv;
  beforeAll(async () => {
    tg = await startFakeTelegram({ token: TOKEN });
    env = testBotEnv('runtime');
  });
  afterAll(async () => {
    await tg?.close();
    await env?.close();
  });

  const makeBot = () => {
    const { log, lines } = captureLogger();
    const api = new Api(TOKEN, { apiRoot: tg.apiRoot });
    const bot = createBot({ token: TOKEN, apiRoot: tg.apiRoot, deps: { ...env.deps(api), log } });
    return { bot, log, lines };
  };

  it('long polling: a 409 Conflict from a second poller (deploy overlap) is survived; updates keep flowing', async () => {
    const { bot, log, lines } = makeBot();
    await bot.init();
    const polling = startPolling(bot, { log, conflictRetryMs: 300 });
    try {
      await tg.pushUserMessage({ chatId: 61, text: '/start' });
      await tg.waitFor(() => tg.messages(61).some((m) => m.message.text === en.start), { what: 'first reply' });

      // "The other instance" polls: the fake, like Telegram, ends our pending poll with 409.
      const other = new Api(TOKEN, { apiRoot: tg.apiRoot });
      const rival = other.getUpdates({ timeout: 1 }).catch((e: Error) => e);
      await tg.waitFor(() => lines.some((l) => l.includes('409 Conflict')), { what: 'conflict logged', timeoutMs: 5000 });
      await rival; // the old instance goes away

      await tg.pushUserMessage({ chatId: 61, text: '/help' });
      await tg.waitFor(() => tg.messages(61).some((m) => m.message.text === en.help), { what: 'reply after the conflict', timeoutMs: 10_000 });
      expect(tg.callsOf('getUpdates').some((c) => c.httpStatus === 409)).toBe(true);
    } finally {
      await polling.stop();
    }
    await expect(polling.done).resolves.toBeUndefined();
    expect(lines.join('\n')).not.toContain(TOKEN);
  });

  it('webhook: updates with the right secret token are handled, others refused; /healthz answers', async () => {
    const { bot, log } = makeBot();
    await bot.init();
    const http = await startBotHttp({ bot, port: 0, host: '127.0.0.1', webhook: { path: '/tg/hook', secret: 'the-secret-0123456789' }, log, healthy: () => true });
    try {
      const update = { update_id: 1, message: { message_id: 1, date: 1, chat: { id: 62, type: 'private', first_name: 'A' }, from: { id: 62, is_bot: false, first_name: 'A' }, text: '/help', entities: [{ type: 'bot_command', offset: 0, length: 5 }] } };
      const post = (secret?: string) =>
        fetch(`${http.url}/tg/hook`, { method: 'POST', headers: { 'content-type': 'application/json', ...(secret ? { 'x-telegram-bot-api-secret-token': secret } : {}) }, body: JSON.stringify(update) });
      expect((await post()).status).toBe(401);
      expect((await post('wrong-secret-0123456789')).status).toBe(401);
      expect(tg.messages(62)).toHaveLength(0);
      expect((await post('the-secret-0123456789')).status).toBe(200);
      await tg.waitFor(() => tg.messages(62).some((m) => m.message.text === en.help), { what: 'webhook reply' });
      expect(await (await fetch(`${http.url}/healthz`)).json()).toEqual({ ok: true });
      expect((await fetch(`${http.url}/elsewhere`)).status).toBe(404);
    } finally {
      await http.close();
    }
  });

  it('a port already in use fails the start with its reason (no uncaught error event); port 0 reports the bound port', async () => {
    const { bot, log } = makeBot();
    const first = await startBotHttp({ bot, port: 0, host: '127.0.0.1', webhook: null, log, healthy: () => true });
    try {
      expect(first.port).toBeGreaterThan(0);
      expect(first.url).toBe(`http://127.0.0.1:${first.port}`);
      await expect(startBotHttp({ bot, port: first.port, host: '127.0.0.1', webhook: null, log, healthy: () => true })).rejects.toThrow(/EADDRINUSE/);
    } finally {
      await first.close();
    }
  });
});
