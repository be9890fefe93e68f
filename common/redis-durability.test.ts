import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../testing/media.js';
import { startThrowawayRedis, type ThrowawayRedis } from '../testing/throwaway-redis.js';
import { checkRedisDurability, RedisDurabilityError } from './redis-durability.js';

/**
 * The start-up check of Redis durability against private redis-server instances (never the machine's own, whose
 * settings a test must not depend on): appendonly yes/no, maxmemory-policy noeviction/allkeys-lru, and a server
 * that forbids CONFIG like some managed ones; `warn` logs one warning naming each setting, `refuse` throws, and the
 * worker and the bot exit 1 naming the setting and the variable.
 */
function captureLogger() {
  const lines: string[] = [];
  const log = pino({ level: 'debug' }, new Writable({ write: (c, _e, cb) => (lines.push(String(c)), cb()) }));
  return { log, lines };
}

describe('Redis durability check', () => {
  let server: ThrowawayRedis;
  let noConfig: ThrowawayRedis;

  beforeAll(async () => {
    [server, noConfig] = await Promise.all([
      startThrowawayRedis(['--appendonly', 'yes', '--maxmemory-policy', 'noeviction']),
      startThrowawayRedis(['--rename-command', 'CONFIG', '']),
    ]);
  });
  afterAll(async () => {
    await Promise.all([server?.close(), noConfig?.close()]);
  });

  const settings = async (appendonly: 'yes' | 'no', policy: string, save = '') => {
    await server.client.call('CONFIG', 'SET', 'appendonly', appendonly);
    await server.client.call('CONFIG', 'SET', 'maxmemory-policy', policy);
    await server.client.call('CONFIG', 'SET', 'save', save);
  };
  const warnings = (lines: string[]) => lines.map((l) => JSON.parse(l) as { level: number; msg: string; save?: string }).filter((l) => l.level === 40);

  it('appendonly yes + noeviction: nothing to say, under either mode', async () => {
    await settings('yes', 'noeviction');
    const { log, lines } = captureLogger();
    expect(await checkRedisDurability(server.client, log, 'warn')).toEqual([]);
    await expect(checkRedisDurability(server.client, log, 'refuse')).resolves.toEqual([]);
    expect(lines).toEqual([]);
  });

  it('warn: one warning naming each risky setting, what to set, and the snapshot schedule for context', async () => {
    await settings('no', 'allkeys-lru', '3600 1');
    const { log, lines } = captureLogger();
    const problems = await checkRedisDurability(server.client, log, 'warn');
    expect(problems.map((p) => [p.setting, p.actual])).toEqual([
      ['appendonly', 'no'],
      ['maxmemory-policy', 'allkeys-lru'],
    ]);
    const warned = warnings(lines);
    expect(warned).toHaveLength(1);
    expect(warned[0]!.msg).toContain('set appendonly yes');
    expect(warned[0]!.msg).toContain('set maxmemory-policy noeviction');
    expect(warned[0]!.msg).toContain('RDB snapshots only (save "3600 1")');
    expect(warned[0]!.msg).toContain('REDIS_DURABILITY=refuse');
  });

  it('warn names only what is wrong', async () => {
    await settings('yes', 'volatile-lru');
    const { log, lines } = captureLogger();
    expect((await checkRedisDurability(server.client, log, 'warn')).map((p) => p.setting)).toEqual(['maxmemory-policy']);
    expect(warnings(lines)[0]!.msg).not.toContain('appendonly');
  });

  it('refuse: throws naming each setting and the variable', async () => {
    await settings('no', 'noeviction');
    const { log } = captureLogger();
    const e = await checkRedisDurability(server.client, log, 'refuse').catch((err: unknown) => err);
    expect(e).toBeInstanceOf(RedisDurabilityError);
    expect((e as Error).message).toMatch(/^REDIS_DURABILITY=refuse: .*appendonly is "no", so a restart keeps no persistence at all .*set appendonly yes/);
    expect((e as Error).message).not.toContain('maxmemory-policy');
  });

  it('a server that forbids CONFIG: "could not verify" as a warning, a refusal under refuse', async () => {
    const { log, lines } = captureLogger();
    expect((await checkRedisDurability(noConfig.client, log, 'warn')).map((p) => p.setting)).toEqual(['CONFIG']);
    expect(warnings(lines)[0]!.msg).toMatch(/could not verify the Redis settings \(CONFIG GET failed: .*unknown command.*\).*appendonly yes and maxmemory-policy noeviction/);
    await expect(checkRedisDurability(noConfig.client, log, 'refuse')).rejects.toThrow(/REDIS_DURABILITY=refuse: .*could not verify/);
  });

  describe('the processes', () => {
    const run = (entry: string, env: Record<string, string>) => {
      const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, entry)], {
        cwd: repoRoot,
        env: { ...process.env, VITEST: '', LOG_LEVEL: 'info', REDIS_URL: server.url, REDIS_DURABILITY: 'refuse', ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      child.stdout.on('data', (c) => (out += c));
      child.stderr.on('data', (c) => (out += c));
      return new Promise<{ code: number | null; out: string }>((resolve) => child.on('exit', (code) => resolve({ code, out })));
    };

    it('REDIS_DURABILITY=refuse: the worker and the bot exit 1 naming the setting and the variable', async () => {
      await settings('no', 'allkeys-lru');
      // Nothing else may be reachable: the check comes before the renderer, Telegram and the queue are touched.
      const [worker, bot] = await Promise.all([
        run('pipeline/worker/main.ts', { PIPELINE_QUEUE_PREFIX: `durability-${process.pid}`, SHOTSTACK_API_URL: 'http://127.0.0.1:9', SHOTSTACK_API_KEY: '' }),
        run('bot/main.ts', { BOT_TOKEN: '424242:durability-test-token', TELEGRAM_API_ROOT: 'http://127.0.0.1:9', PORT: '0' }),
      ]);
      for (const p of [worker, bot]) {
        expect(p.code, p.out).toBe(1);
        expect(p.out).toContain('REDIS_DURABILITY=refuse');
        expect(p.out).toContain('set appendonly yes');
        expect(p.out).toContain('set maxmemory-policy noeviction');
      }
    }, 60_000);
  });
});
