import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeTelegram, type FakeTelegram } from '../testing/fake-telegram.js';
import { repoRoot } from '../testing/media.js';
import { createRedis } from '../pipeline/contract.js';
import { t } from './i18n/index.js';
import { REDIS_URL, TOKEN } from './test-support.js';

/**
 * `npm run bot` as a real child process configured only by env: it starts against the fake Bot API, answers,
 * and on SIGTERM stops polling, closes its connections and exits 0. A bad variable stops it at once, named.
 */
describe('npm run bot (bot/main.ts)', () => {
  let tg: FakeTelegram;
  const prefix = `bcbot-main-${process.pid}`;
  beforeAll(async () => {
    tg = await startFakeTelegram({ token: TOKEN });
  });
  afterAll(async () => {
    await tg?.close();
    const redis = createRedis(REDIS_URL);
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length) await redis.del(...keys);
    await redis.quit();
  });

  const start = (env: Record<string, string>) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'bot/main.ts')], {
      cwd: repoRoot,
      env: { ...process.env, VITEST: '', LOG_LEVEL: 'info', REDIS_URL, PIPELINE_QUEUE_PREFIX: prefix, PORT: '0', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (c) => (out += c));
    child.stderr.on('data', (c) => (out += c));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    return { child, exited, output: () => out };
  };

  it('polls, answers, and exits 0 on SIGTERM; the token is not in its output', async () => {
    const p = start({ BOT_TOKEN: TOKEN, TELEGRAM_API_ROOT: tg.apiRoot, ADMIN_IDS: '1' });
    try {
      // Polling starts right after deleteWebhook (a pending long poll is recorded only when it returns).
      await tg.waitFor(() => tg.callsOf('deleteWebhook').length > 0, { what: 'start', timeoutMs: 30_000 });
      expect(tg.callsOf('setMyCommands').map((c) => c.params.language_code ?? 'default').sort()).toEqual(['default', 'ru']);
      await tg.pushUserMessage({ chatId: 71, from: { id: 71, language_code: 'ru' }, text: '/start' });
      await tg.waitFor(() => tg.messages(71).some((m) => m.message.text === t('ru').start), { what: 'reply', timeoutMs: 15_000 });
      expect(tg.callsOf('getUpdates').length).toBeGreaterThan(0);
      p.child.kill('SIGTERM');
      expect(await p.exited).toBe(0);
      expect(p.output()).toContain('bye');
      expect(p.output()).not.toContain(TOKEN.split(':')[1]!);
    } finally {
      p.child.kill('SIGKILL');
    }
  });

  it('with WEBHOOK_URL: sets the webhook with the secret token and serves it on PORT', async () => {
    const port = 31_000 + (process.pid % 20_000);
    const secret = 'hook-secret-0123456789';
    const p = start({ BOT_TOKEN: TOKEN, TELEGRAM_API_ROOT: tg.apiRoot, WEBHOOK_URL: 'https://bot.example.com/tg/hook', WEBHOOK_SECRET: secret, PORT: String(port) });
    try {
      await tg.waitFor(() => tg.callsOf('setWebhook').length > 0, { what: 'setWebhook', timeoutMs: 30_000 });
      expect(tg.callsOf('setWebhook')[0]!.params).toMatchObject({ url: 'https://bot.example.com/tg/hook', secret_token: secret, allowed_updates: ['message', 'callback_query'] });
      const update = { update_id: 9, message: { message_id: 3, date: 1, chat: { id: 72, type: 'private', first_name: 'B' }, from: { id: 72, is_bot: false, first_name: 'B' }, text: '/help', entities: [{ type: 'bot_command', offset: 0, length: 5 }] } };
      const post = (token: string) =>
        fetch(`http://127.0.0.1:${port}/tg/hook`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': token }, body: JSON.stringify(update) });
      expect((await post('not-the-secret-000000')).status).toBe(401);
      expect((await post(secret)).status).toBe(200);
      await tg.waitFor(() => tg.messages(72).some((m) => m.message.text === t('en').help), { what: 'webhook reply', timeoutMs: 10_000 });
      p.child.kill('SIGTERM');
      expect(await p.exited).toBe(0);
    } finally {
      p.child.kill('SIGKILL');
    }
  });

  it('a wrong variable stops it at start with the variable named', async () => {
    const p = start({ BOT_TOKEN: TOKEN, TELEGRAM_API_ROOT: tg.apiRoot, ADMIN_IDS: 'me' });
    expect(await p.exited).toBe(1);
    expect(p.output()).toMatch(/ADMIN_IDS/);
  });

  it('a webhook without its secret stops it at start with WEBHOOK_SECRET named, before any call to Telegram', async () => {
    const before = tg.calls.length;
    const p = start({ BOT_TOKEN: TOKEN, TELEGRAM_API_ROOT: tg.apiRoot, WEBHOOK_URL: 'https://bot.example.com/tg/hook', WEBHOOK_SECRET: '' });
    expect(await p.exited).toBe(1);
    expect(p.output()).toMatch(/WEBHOOK_SECRET: required when WEBHOOK_URL is set/);
    expect(tg.calls.length).toBe(before);
  });
});
