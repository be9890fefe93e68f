import type { Logger } from '../common/logger.js';
import { calibratedReadings, calibrationKeyId, fixedReadings, publishKnownStatus, type ReadingsSource } from '../shotstack/calibration/index.js';
import type { ShotstackClient } from '../shotstack/client.js';
import type { ShotstackConfig } from '../shotstack/config.js';
import { formatReadings, parseReadingsList, readingsFromList, type RendererReadings } from '../shotstack/readings.js';
import { createRedis } from './redis.js';

/**
 * Where a renderer's readings (shotstack/readings.ts) come from, decided once at start-up from the env:
 *   SHOTSTACK_READINGS set   → those, forced (the operator measured them, or must get going without a calibration);
 *   Shotstack / an explicit SHOTSTACK_API_URL → calibrated on the service itself, shared through Redis by every
 *                              worker of the queue (the render CLI, with no Redis, calibrates in memory);
 *   the in-process local renderer → what it is told to emulate (SHOTSTACK_LOCAL_EMULATE), known at once.
 */
const DAY_MS = 24 * 3600_000;

export interface ServiceReadings {
  readings: ReadingsSource;
  /** Closes what the source opened (its Redis connection). */
  close(): Promise<void>;
}

function forcedReadings(cfg: ShotstackConfig): ReadingsSource | null {
  return cfg.SHOTSTACK_READINGS ? fixedReadings(readingsFromList(cfg.SHOTSTACK_READINGS), 'forced') : null;
}

/** The readings of Shotstack (or another service at SHOTSTACK_API_URL) reached through `client`. */
export function serviceReadings(
  cfg: ShotstackConfig,
  o: { client: ShotstackClient; apiUrl: string; logger: Logger; redis?: { url: string; prefix: string } },
): ServiceReadings {
  const forced = forcedReadings(cfg);
  if (forced) {
    o.logger.info({ readings: cfg.SHOTSTACK_READINGS }, 'renderer readings forced by SHOTSTACK_READINGS; no calibration');
    return { readings: forced, close: async () => undefined };
  }
  const redis = o.redis ? createRedis(o.redis.url, { connectionName: 'bubblecast-calibration' }) : null;
  redis?.on('error', (e) => o.logger.warn({ err: e.message }, 'redis error (calibration)'));
  const readings = calibratedReadings({
    client: o.client,
    keyId: calibrationKeyId(o.apiUrl, cfg.SHOTSTACK_ENV, cfg.SHOTSTACK_API_KEY),
    ...(redis ? { redis: { redis, prefix: o.redis!.prefix } } : {}),
    maxAgeMs: cfg.SHOTSTACK_CALIBRATION_MAX_AGE_DAYS * DAY_MS,
    logger: o.logger.child({ component: 'calibration' }),
  });
  // Start the calibration now (it runs detached from the call that starts it), so it is usually over before the
  // first job reaches its render stage; a wait of 0 only looks and, when due, starts it.
  readings.get({ waitMs: 0 }).catch(() => undefined);
  return { readings, close: async () => void (await redis?.quit().catch(() => undefined)) };
}

/** What the in-process local renderer is started to emulate, and the readings the pipeline builds for. */
export function localReadings(cfg: ShotstackConfig, logger: Logger): { emulate: Partial<RendererReadings>; readings: ReadingsSource } {
  const emulate = parseReadingsList(cfg.SHOTSTACK_LOCAL_EMULATE ?? '');
  const emulated = readingsFromList(cfg.SHOTSTACK_LOCAL_EMULATE);
  const forced = forcedReadings(cfg);
  if (forced && formatReadings(readingsFromList(cfg.SHOTSTACK_READINGS)) !== formatReadings(emulated)) {
    // Allowed (it shows what a wrong reading does), but never by accident.
    logger.warn({ forced: cfg.SHOTSTACK_READINGS, emulated: formatReadings(emulated) }, 'SHOTSTACK_READINGS differs from what the local renderer emulates');
  }
  return { emulate, readings: forced ?? fixedReadings(emulated, 'local') };
}

/**
 * Forced or emulated readings need no calibration, so nothing would publish them: this does, once at start-up, so the
 * bot's /mode shows what the workers build for instead of an older calibration's status. Best effort.
 */
export async function publishFixedReadings(readings: ReadingsSource, redis: { url: string; prefix: string } | undefined, logger: Logger): Promise<void> {
  if (!redis) return;
  const status = await readings.status();
  if (status.origin === 'calibrated') return; // the calibration publishes its own progress
  const conn = createRedis(redis.url, { connectionName: 'bubblecast-readings-status' });
  conn.on('error', () => undefined);
  try {
    await publishKnownStatus(conn, redis.prefix, status);
  } catch (e) {
    logger.warn({ err: (e as Error).message }, 'could not publish the renderer readings for /mode');
  } finally {
    await conn.quit().catch(() => undefined);
  }
}
