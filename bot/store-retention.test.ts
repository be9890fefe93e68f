import { afterAll, describe, expect, it } from 'vitest';
import { createRedis } from '../pipeline/redis.js';
import { REDIS_URL } from '../pipeline/test-support.js';
import { BotStore, DEFAULTS_TTL_SEC } from './store.js';

/** Every key the bot's store writes expires; saved defaults live long and start over each time they are used. */
describe('bot store retention', () => {
  const prefix = `bctest-botstore-${process.pid}-${Date.now().toString(36)}`;
  const redis = createRedis(REDIS_URL);
  const store = new BotStore(redis, prefix);
  const options = { shape: 'circle', position: 'bottomRight', size: 'M', engine: 'fast', aspect: '9:16' } as const;

  afterAll(async () => {
    await store.clear();
    await redis.quit();
  });

  it('every key written has a TTL', async () => {
    await store.setDefaults(1, options);
    await store.setStatus('job-1', { chatId: 1, messageId: 2, lang: 'en' });
    await store.claimStatusText('job-1', 'text');
    await store.setLastEventId('1-0');
    await store.setMenuOwner(1, 2, 1);
    await store.addUserJob(1, 'job-1');
    const keys = await redis.keys(`${prefix}:*`);
    expect(keys).toHaveLength(6);
    const ttls = await Promise.all(keys.map((k) => redis.ttl(k)));
    expect(keys.filter((_, i) => ttls[i]! <= 0)).toEqual([]);
  });

  it('saved defaults live BOT_DEFAULTS_TTL_SEC, counted again from each use', async () => {
    const key = `${prefix}:bubblecast:bot:defaults:7`;
    const short = new BotStore(redis, prefix, { defaultsTtlSec: 5000 });
    await short.setDefaults(7, options);
    expect(await redis.ttl(key)).toBeGreaterThan(4990);
    // Nearly expired, then used: the clock starts over.
    await redis.expire(key, 10);
    expect(await short.getDefaults(7)).toEqual(options);
    expect(await redis.ttl(key)).toBeGreaterThan(4990);
    // Without the option: the 180-day default.
    await store.getDefaults(7);
    expect(await redis.ttl(key)).toBeGreaterThan(DEFAULTS_TTL_SEC - 10);
  });
});
