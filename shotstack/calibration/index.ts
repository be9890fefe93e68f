import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Logger } from '../../common/logger.js';
import type { ShotstackClient } from '../client.js';
import { runCalibration } from './run.js';
import { installedSchemaVersion } from './schema-version.js';
import { defaultBackoffMs, storedReadingsSource } from './source.js';
import type { ReadingsSource } from './status.js';
import { memoryCalibrationStore, redisCalibrationStore } from './store.js';

/**
 * Shotstack calibration on first use: before the first render with a key, small probe timelines are rendered and
 * the renderer readings (shotstack/readings.ts) decided from their pixels — luma polarity and geometry, the base
 * of `scale`, whether alpha WebM/MOV keep their alpha. Once per key and environment, stored in Redis with its
 * date and the @shotstack/schemas version (older than maxAgeMs or another version → calibrated again), one
 * worker at a time; a failure is retried with backoff and published. See probes.ts for what is rendered and
 * what it costs, decide.ts for how pixels become readings.
 */
export { CalibrationPendingError } from './status.js';
export type { CalibrationStatus, ReadingsOrigin, ReadingsSource } from './status.js';
export { fixedReadings, defaultBackoffMs, LOCK_TTL_MS } from './source.js';
export { publishKnownStatus, readPublishedStatus, redisCalibrationStore, calibrationKeys, type CalibrationStore, type StoredReadings } from './store.js';
export { runCalibration, type CalibrationRun, type RunCalibrationOptions } from './run.js';
export { installedSchemaVersion } from './schema-version.js';
export { PROBE_COST } from './probes.js';
export type { Decision } from './decide.js';

export function calibratedReadings(o: {
  client: ShotstackClient; // shotstack/client.ts
  /** identifies the key+environment without revealing the key: e.g. sha256(apiUrl + env + apiKey) hex, first 16 */
  keyId: string;
  /** shared store; omit for an in-memory calibration (the render CLI) */
  redis?: { redis: Redis; prefix: string };
  maxAgeMs: number;
  logger: Logger;
  /** test seams */ now?: () => number;
  backoffMs?: (attempt: number) => number;
  workDir?: string;
}): ReadingsSource {
  const logger = o.logger.child({ calibrationKey: o.keyId });
  return storedReadingsSource({
    store: o.redis ? redisCalibrationStore(o.redis.redis, o.redis.prefix, o.keyId) : memoryCalibrationStore(),
    calibrate: () => runCalibration({ client: o.client, logger, workDir: o.workDir }),
    schemaVersion: installedSchemaVersion(),
    maxAgeMs: o.maxAgeMs,
    logger,
    now: o.now ?? Date.now,
    backoffMs: o.backoffMs ?? defaultBackoffMs,
  });
}

/** A short id for a key and environment that does not reveal the key (sha256, first 16 hex digits). */
export function calibrationKeyId(apiUrl: string, env: string, apiKey: string | undefined): string {
  return createHash('sha256').update(`${apiUrl}\n${env}\n${apiKey ?? ''}`).digest('hex').slice(0, 16);
}
