import { Redis } from 'ioredis';

/**
 * One way to open Redis for the pipeline, the bot and admins. `maxRetriesPerRequest: null` is what BullMQ's Worker
 * and QueueEvents require; `family: 0` lets a hostname resolve to IPv6 too (Railway's private network is IPv6-only).
 */
export function createRedis(url: string, opts: { connectionName?: string } = {}): Redis {
  return new Redis(url, { maxRetriesPerRequest: null, family: 0, connectionName: opts.connectionName, lazyConnect: false });
}

/** The pipeline's view of Redis: a client plus the BullMQ prefix its keys live under. */
export interface PipelineRedis {
  redis: Redis;
  prefix: string;
}
