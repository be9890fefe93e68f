import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sampleValue } from '../common/metrics/prom-text.js';
import { createRedis, createRenderQueue } from '../pipeline/contract.js';
import { pipelineKeys } from '../pipeline/keys.js';
import { startFakeTelegram, type FakeTelegram } from '../testing/fake-telegram.js';
import { repoRoot } from '../testing/media.js';
import { unusedPort } from '../testing/ports.js';

/**
 * `npm run bot` as a real process with METRICS_PORT set: /metrics on its own loopback listener, behind the bearer
 * token, and an admin's /stats agreeing with it on queue depth and failures by code (the workers' totals in Redis).
 */
const TOKEN = '777002:metrics-bot-test-token-SECRET';
const METRICS_TOKEN = 'bot-metrics-token-0123456789';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const ADMIN = 4242;

describe('bot /metrics (bot/main.ts)', () => {
  let tg: FakeTelegram;
  const prefix = `bcbot-metrics-${process.pid}`;
  const redis = createRedis(REDIS_URL);
  const queue = createRenderQueue(redis, prefix);

  beforeAll(async () => {
    tg = await startFakeTelegram({ token: TOKEN });
    // What workers would have left: two final failures, and one job waiting for its retry.
    await redis.hset(pipelineKeys(prefix).counters, 'failed:no_person', 2, 'failed:internal', 1);
    await queue.add('render', {} as never, { delay: 3600_000 });
  });
  afterAll(async () => {
    await tg?.close();
    await queue.obliterate({ force: true }).catch(() => undefined);
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length) await redis.del(...keys);
    await queue.close();
    await redis.quit();
  });

  it('serves /metrics with the token only, and /stats says the same queue depth and failures', async () => {
    const port = await unusedPort();
    const env = { BOT_TOKEN: TOKEN, TELEGRAM_API_ROOT: tg.apiRoot, ADMIN_IDS: String(ADMIN), BOT_PREVIEW: 'false', METRICS_PORT: String(port), METRICS_TOKEN };
    const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'bot/main.ts')], {
      cwd: repoRoot,
      env: { ...process.env, VITEST: '', LOG_LEVEL: 'warn', REDIS_URL, PIPELINE_QUEUE_PREFIX: prefix, PORT: '0', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (c) => (out += c));
    child.stderr.on('data', (c) => (out += c));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    try {
      await tg.waitFor(() => tg.callsOf('deleteWebhook').length > 0, { what: 'start', timeoutMs: 30_000 });
      const url = `http://127.0.0.1:${port}/metrics`;
      expect((await fetch(url)).status).toBe(401);
      const text = await (await fetch(url, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).text();
      expect(sampleValue(text, 'bubblecast_queue_jobs', { state: 'delayed', process: 'bot' })).toBe(1);
      expect(sampleValue(text, 'bubblecast_job_failures_total', { code: 'no_person' })).toBe(2);
      expect(sampleValue(text, 'bubblecast_job_failures_total', { code: 'internal' })).toBe(1);

      await tg.pushUserMessage({ chatId: ADMIN, from: { id: ADMIN, language_code: 'en' }, text: '/stats' });
      await tg.waitFor(() => tg.messages(ADMIN).some((m) => m.message.from?.is_bot), { what: '/stats', timeoutMs: 15_000 });
      const stats = tg.messages(ADMIN).find((m) => m.message.from?.is_bot)!.message.text!;
      expect(stats).toContain('waiting 0, active 0, delayed 1, prioritized 0, completed 0, failed 0');
      expect(stats).toMatch(/failed for good: (no_person ×2, internal ×1|internal ×1, no_person ×2)\n/);

      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(out).not.toContain(METRICS_TOKEN);
    } finally {
      child.kill('SIGKILL');
    }
  });
});

