import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { createRedis } from '../pipeline/redis.js';
import {
  budgetKeyId,
  budgetLimits,
  createMemoryBudget,
  createRedisBudget,
  type BudgetGrant,
  type RequestBudget,
} from './budget.js';

/**
 * The request budget on real Redis (the shared server, a unique prefix) with short windows: what matters is that
 * no window ever grants more than the limit, whoever asks, and that a spent window makes callers wait for the next.
 */
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = `bctest-budget-${process.pid}-${Date.now().toString(36)}`;
const connections = [createRedis(REDIS_URL), createRedis(REDIS_URL)];

function captureLogger() {
  const lines: Array<{ level: number; msg: string; api?: string }> = [];
  const log = pino({ level: 'info' }, new Writable({ write: (c, _e, cb) => (lines.push(JSON.parse(String(c))), cb()) }));
  return { log, lines };
}

/** Grants per window index. */
function perWindow(grants: BudgetGrant[]): Map<number, number> {
  const counts = new Map<number, number>();
  for (const g of grants) counts.set(g.window, (counts.get(g.window) ?? 0) + 1);
  return counts;
}

afterAll(async () => {
  const left = await connections[0]!.keys(`${prefix}:*`);
  if (left.length) await connections[0]!.del(...left);
  await Promise.all(connections.map((c) => c.quit()));
});

describe('Shotstack request budget', () => {
  it('two workers sharing Redis never get more than the limit per window together', async () => {
    const limits = { edit: 5, ingest: 5, serve: 5 };
    const keyId = budgetKeyId('shared-key', 'stage');
    // Two "workers": separate connections, the same key id and prefix.
    const [a, b] = connections.map((redis) => createRedisBudget({ redis, prefix, keyId, limits, windowMs: 400, logger: captureLogger().log }));
    const burst = (budget: RequestBudget) => Array.from({ length: 12 }, () => budget.take('edit'));
    const grants = await Promise.all([...burst(a!), ...burst(b!)]);

    expect(grants).toHaveLength(24);
    const counts = perWindow(grants);
    for (const n of counts.values()) expect(n).toBeLessThanOrEqual(5);
    // 24 requests at 5 a window need at least 5 windows: the burst was spread, not refused or over-granted.
    expect(counts.size).toBeGreaterThanOrEqual(5);
    // Inside one window, every grant has its own number: the counter is shared, not per connection.
    for (const w of counts.keys()) {
      const numbers = grants.filter((g) => g.window === w).map((g) => g.count);
      expect(new Set(numbers).size).toBe(numbers.length);
    }
    // The counter lives under the documented key and expires by itself.
    const keys = await connections[0]!.keys(`${prefix}:bubblecast:shotstack:budget:${keyId}:edit:*`);
    expect(keys.length).toBeGreaterThan(0);
    expect(await connections[0]!.pttl(keys[0]!)).toBeGreaterThan(0);
  });

  it('a spent budget waits for the next window, logging once per wait', async () => {
    const { log, lines } = captureLogger();
    const budget = createMemoryBudget({ limits: { edit: 3, ingest: 1, serve: 1 }, windowMs: 300, logger: log });
    let first = await budget.take('edit');
    // Start at the beginning of a window, so the three fit in one.
    while (first.count !== 1) first = await budget.take('edit');
    const more = [await budget.take('edit'), await budget.take('edit')];
    const over = await budget.take('edit');

    expect([first, ...more].map((g) => g.window)).toEqual([first.window, first.window, first.window]);
    expect(over.window).toBe(first.window + 1);
    expect(over.count).toBe(1);
    expect(over.waitedMs).toBeGreaterThan(0);
    const waits = lines.filter((l) => l.msg.includes('budget spent'));
    expect(waits).toHaveLength(1);
    expect(waits[0]).toMatchObject({ level: 30, api: 'edit' });
    // Other APIs have budgets of their own.
    expect((await budget.take('ingest')).count).toBe(1);
  });

  it('after a 429 (markSpent) everyone sharing the budget holds off until the window ends', async () => {
    const keyId = budgetKeyId('marked-key', 'v1');
    const limits = { edit: 100, ingest: 100, serve: 100 };
    const [a, b] = connections.map((redis) => createRedisBudget({ redis, prefix, keyId, limits, windowMs: 300, logger: captureLogger().log }));
    const before = await a!.take('ingest');
    await a!.markSpent('ingest');
    const after = await b!.take('ingest');
    expect(after.window).toBeGreaterThan(before.window);
    // Only that API: the Edit budget of the same key is untouched.
    expect(await b!.take('edit')).toMatchObject({ count: 1, waitedMs: expect.any(Number) });
  });

  it('a cancelled wait stops at once', async () => {
    const budget = createMemoryBudget({ limits: { edit: 1, ingest: 1, serve: 1 }, windowMs: 60_000, logger: captureLogger().log });
    await budget.take('serve');
    const abort = new AbortController();
    const waiting = budget.take('serve', abort.signal);
    abort.abort();
    await expect(waiting).rejects.toThrow(/cancelled/);
  });

  it('uses Shotstack’s limits for the environment with a safety margin, or the configured budget as is', () => {
    expect(budgetLimits('stage')).toEqual({ edit: 135, ingest: 108, serve: 270 });
    expect(budgetLimits('v1')).toEqual({ edit: 270, ingest: 270, serve: 540 });
    expect(budgetLimits('stage', { edit: 60, ingest: 0 })).toEqual({ edit: 60, ingest: 108, serve: 270 });
  });

  it('names a key’s budget without the key', () => {
    const id = budgetKeyId('sk_live_very_secret', 'v1');
    expect(id).toMatch(/^v1-[0-9a-f]{16}$/);
    expect(id).not.toContain('secret');
    expect(budgetKeyId('sk_live_very_secret', 'stage')).not.toBe(id);
    expect(budgetKeyId('another', 'v1')).not.toBe(id);
  });
});
