import { setTimeout as delay } from 'node:timers/promises';
import type { Logger } from '../common/logger.js';
import { budgetKeyId, budgetLimits, createMemoryBudget, createRedisBudget, type RequestBudget } from '../shotstack/budget.js';
import { createShotstackCleanup, type ShotstackCleanup } from '../shotstack/cleanup.js';
import type { ShotstackClient } from '../shotstack/client.js';
import type { ShotstackConfig } from '../shotstack/config.js';
import { memoryDeletionSchedule, redisDeletionSchedule } from '../shotstack/deletion-schedule.js';
import { createRedis } from './redis.js';

/**
 * What keeps the pipeline a good user of one Shotstack key, built from the env for the worker and the render CLI:
 * the request budget every client call takes from, and the cleanup of what jobs leave on Shotstack. With Redis
 * (the worker: its URL and queue prefix) both are shared by every worker and the cleanup's schedule survives
 * restarts; without (the CLI) they live in this process, and closing runs whatever deletions are still pending —
 * a CLI run sends no download link, and an in-memory schedule would be lost at exit.
 */
export interface ShotstackUpkeep {
  budget: RequestBudget;
  /** Starts the cleanup for `client`: hosted renders kept `retentionSec` after the download; swept every minute. */
  startCleanup(client: ShotstackClient, retentionSec: number): ShotstackCleanup;
  close(): Promise<void>;
}

const SWEEP_INTERVAL_MS = 60_000;
const CLOSE_WAIT_MS = 5000;

export function openShotstackUpkeep(cfg: ShotstackConfig, o: { redis?: { url: string; prefix: string }; logger: Logger }): ShotstackUpkeep {
  const redis = o.redis ? createRedis(o.redis.url, { connectionName: 'bubblecast-shotstack-upkeep' }) : null;
  redis?.on('error', (e) => o.logger.warn({ err: e.message }, 'redis error (shotstack budget/cleanup)'));
  const keyId = budgetKeyId(cfg.SHOTSTACK_API_KEY, cfg.SHOTSTACK_ENV);
  const limits = budgetLimits(cfg.SHOTSTACK_ENV, { edit: cfg.SHOTSTACK_EDIT_RATE_PER_MIN, ingest: cfg.SHOTSTACK_INGEST_RATE_PER_MIN });
  const budget = redis
    ? createRedisBudget({ redis, prefix: o.redis!.prefix, keyId, limits, logger: o.logger })
    : createMemoryBudget({ limits, logger: o.logger });
  o.logger.info({ keyId, limits, shared: Boolean(redis) }, 'shotstack request budget per minute');
  let cleanup: ShotstackCleanup | null = null;
  let stopSweeper = () => undefined as void;
  return {
    budget,
    startCleanup(client, retentionSec) {
      const schedule = redis ? redisDeletionSchedule(redis, `${o.redis!.prefix}:bubblecast:shotstack:deletions:${keyId}`) : memoryDeletionSchedule();
      cleanup = createShotstackCleanup({ client, schedule, retentionMs: retentionSec * 1000, logger: o.logger });
      stopSweeper = cleanup.startSweeper(SWEEP_INTERVAL_MS);
      return cleanup;
    },
    async close() {
      stopSweeper();
      if (!redis) {
        await cleanup?.flush();
        return;
      }
      // Deletions still running are in the durable schedule: a short wait, not one that could hold a shutdown for
      // a whole rate window; what is cut off comes due again after its lease.
      await Promise.race([cleanup?.settled(), delay(CLOSE_WAIT_MS, undefined, { ref: false })]);
      await redis.quit().catch(() => undefined);
    },
  };
}
