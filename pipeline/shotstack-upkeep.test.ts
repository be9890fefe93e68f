import { afterAll, describe, expect, it } from 'vitest';
import { createLogger } from '../common/logger.js';
import { loadShotstackConfig } from '../shotstack/config.js';
import { createRedis } from './redis.js';
import { openShotstackUpkeep } from './shotstack-upkeep.js';

/** The wiring from the env: one budget per key shared through Redis by every worker, the configured numbers. */
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = `bctest-upkeep-${process.pid}-${Date.now().toString(36)}`;
const logger = createLogger({ level: 'silent' });
const admin = createRedis(REDIS_URL);

afterAll(async () => {
  const left = await admin.keys(`${prefix}:*`);
  if (left.length) await admin.del(...left);
  await admin.quit();
});

describe('openShotstackUpkeep', () => {
  it('gives every worker of a key the same Redis budget, named by a hash of the key', async () => {
    const cfg = loadShotstackConfig.parse({ SHOTSTACK_API_KEY: 'upkeep-key', SHOTSTACK_EDIT_RATE_PER_MIN: '40' });
    const workers = [0, 1].map(() => openShotstackUpkeep(cfg, { redis: { url: REDIS_URL, prefix }, logger }));
    try {
      const grants = await Promise.all(workers.flatMap((w) => [w.budget.take('edit'), w.budget.take('edit')]));
      // One counter for both: within a window every request has its own number.
      for (const window of new Set(grants.map((g) => g.window))) {
        const counts = grants.filter((g) => g.window === window).map((g) => g.count);
        expect(new Set(counts).size).toBe(counts.length);
      }
      const keys = await admin.keys(`${prefix}:bubblecast:shotstack:budget:stage-*:edit:*`);
      expect(keys.length).toBeGreaterThan(0);
      expect(keys.join()).not.toContain('upkeep-key');
    } finally {
      await Promise.all(workers.map((w) => w.close()));
    }
  });
});
