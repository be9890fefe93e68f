import type { Redis } from 'ioredis';
import type { StageStateMap, StateKey, StateStore } from '../stages/state.js';

/**
 * A job's stage outputs in one Redis hash (field per stage, JSON value), so any worker — this one after a restart,
 * or another — resumes the job where it stopped. The hash outlives the job by PIPELINE_STATE_TTL_SEC for admins.
 */
export class RedisStateStore implements StateStore {
  constructor(
    private readonly redis: Redis,
    private readonly key: string,
    private readonly ttlSec: number,
  ) {}

  async get<K extends StateKey>(key: K): Promise<StageStateMap[K] | undefined> {
    const raw = await this.redis.hget(this.key, key);
    if (!raw) return undefined;
    try {
      return JSON.parse(raw) as StageStateMap[K];
    } catch {
      return undefined;
    }
  }

  async set<K extends StateKey>(key: K, value: StageStateMap[K]): Promise<void> {
    await this.redis.multi().hset(this.key, key, JSON.stringify(value)).expire(this.key, this.ttlSec).exec();
  }

  async delete(...keys: StateKey[]): Promise<void> {
    if (keys.length) await this.redis.hdel(this.key, ...keys);
  }

  async all(): Promise<Partial<StageStateMap>> {
    const raw = await this.redis.hgetall(this.key);
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(raw)) {
      try {
        out[k] = JSON.parse(v);
      } catch {
        // a corrupt field is treated as missing
      }
    }
    return out as Partial<StageStateMap>;
  }
}
