import type { EngineChoice, OverlayPath } from '../contract.js';
import type { PipelineRedis } from '../redis.js';
import { rollFps } from './estimate.js';
import { routingKeys } from './keys.js';

/**
 * Rolling measurements of engine speed, frames per second: the CPU engine per host class (every worker of that
 * class adds to one number), a GPU worker per host. Kept in Redis so a restarted worker does not start from the
 * seed; in memory for the CLI.
 */
export interface FpsKey {
  side: OverlayPath;
  /** The CPU host class, or the GPU worker's host. */
  who: string;
  engine: EngineChoice;
}

export interface FpsStore {
  read(k: FpsKey): Promise<number | null>;
  record(k: FpsKey, sampleFps: number): Promise<void>;
}

export const FPS_ALPHA = 0.3;

/** rollFps (estimate.ts) inside Redis, so two workers measuring at once both count; the TTL is renewed each time. */
const ROLL = `
local prev = tonumber(redis.call('HGET', KEYS[1], 'fps'))
local sample = tonumber(ARGV[1])
local v = sample
if prev and prev > 0 then v = prev + tonumber(ARGV[2]) * (sample - prev) end
redis.call('HSET', KEYS[1], 'fps', tostring(v), 'at', ARGV[4])
redis.call('HINCRBY', KEYS[1], 'n', 1)
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[3]))
return tostring(v)`;

export function redisFpsStore(r: PipelineRedis, ttlSec: number): FpsStore {
  const keys = routingKeys(r.prefix);
  const keyOf = (k: FpsKey) => keys.fps(k.side, k.who, k.engine);
  return {
    async read(k) {
      const v = Number(await r.redis.hget(keyOf(k), 'fps'));
      return Number.isFinite(v) && v > 0 ? v : null;
    },
    async record(k, sampleFps) {
      if (!Number.isFinite(sampleFps) || sampleFps <= 0) return;
      await r.redis.eval(ROLL, 1, keyOf(k), String(sampleFps), String(FPS_ALPHA), String(ttlSec), new Date().toISOString());
    },
  };
}

export function memoryFpsStore(): FpsStore {
  const values = new Map<string, number>();
  const keyOf = (k: FpsKey) => `${k.side}:${k.who}:${k.engine}`;
  return {
    read: async (k) => values.get(keyOf(k)) ?? null,
    record: async (k, sampleFps) => {
      if (Number.isFinite(sampleFps) && sampleFps > 0) values.set(keyOf(k), rollFps(values.get(keyOf(k)) ?? null, sampleFps, FPS_ALPHA));
    },
  };
}
