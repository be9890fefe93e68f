import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { formatReadings, missingReadings, parseReadingsList, type RendererReadings } from '../readings.js';
import type { CalibrationStatus } from './status.js';

/**
 * Where calibration results live: in Redis for the workers (shared by every worker on one key and environment),
 * or in memory for the render CLI. Also the lock that lets one worker at a time calibrate, the last failure (for
 * the backoff every worker honours) and the status published for the bot's /mode.
 *
 * Redis keys, all under `<prefix>:bubblecast:shotstack:`:
 *   readings:<keyId>             {readings: "luma=…,…", at, schemaVersion} — age is judged by the reader; the key
 *                                expires LONG_TTL_MS after it was written (a key no longer used does not stay)
 *   calibration-failure:<keyId>  {attempt, error, at, nextTryAt} — expires a day after the last failure
 *   calibration-lock:<keyId>     the lock holder's random token (SET NX PX, renewed while calibrating)
 *   calibration-status           the CalibrationStatus the workers last published (LONG_TTL_MS after publishing)
 */
export interface StoredReadings {
  readings: RendererReadings;
  at: string;
  schemaVersion: string;
}

export interface CalibrationFailure {
  /** 1 for the first failure in a row. */
  attempt: number;
  error: string;
  at: string;
  nextTryAt: string;
}

export interface CalibrationLock {
  /** Extends the lock; false when it was lost (expired and taken by another worker). */
  renew(): Promise<boolean>;
  release(): Promise<void>;
}

export interface CalibrationStore {
  loadReadings(): Promise<StoredReadings | null>;
  /** Stores a result and clears the failure record. */
  saveReadings(r: StoredReadings): Promise<void>;
  loadFailure(): Promise<CalibrationFailure | null>;
  saveFailure(f: CalibrationFailure): Promise<void>;
  /** Deletes the readings and the failure record: the next get() calibrates. */
  forget(): Promise<void>;
  tryLock(ttlMs: number): Promise<CalibrationLock | null>;
  isLocked(): Promise<boolean>;
  publish(status: CalibrationStatus): Promise<void>;
}

/**
 * Readings and the published status expire this long after they were written: well past the default
 * SHOTSTACK_CALIBRATION_MAX_AGE_DAYS (30), after which the reader recalibrates anyway. An operator who set the max
 * age above a year gets a recalibration yearly.
 */
const LONG_TTL_MS = 400 * 24 * 60 * 60_000;

/** A failure record outlives its backoff by this much, so a day without failures starts the backoff afresh. */
const FAILURE_TTL_MS = 24 * 60 * 60_000;

export function calibrationKeys(prefix: string, keyId: string) {
  const base = `${prefix}:bubblecast:shotstack`;
  return {
    readings: `${base}:readings:${keyId}`,
    failure: `${base}:calibration-failure:${keyId}`,
    lock: `${base}:calibration-lock:${keyId}`,
    status: publishedStatusKey(prefix),
  };
}

function publishedStatusKey(prefix: string): string {
  return `${prefix}:bubblecast:shotstack:calibration-status`;
}

/** The stored form keeps the readings as their comma list: readable in redis-cli, validated by the shared parser. */
function encodeReadings(r: StoredReadings): string {
  return JSON.stringify({ ...r, readings: formatReadings(r.readings) });
}

/** A stored result, or null when it is absent or not one (a corrupt value is recalibrated, not trusted). */
export function decodeReadings(raw: string | null): StoredReadings | null {
  if (!raw) return null;
  try {
    const v = JSON.parse(raw) as { readings?: unknown; at?: unknown; schemaVersion?: unknown };
    if (typeof v.readings !== 'string' || typeof v.at !== 'string' || typeof v.schemaVersion !== 'string') return null;
    const partial = parseReadingsList(v.readings);
    if (missingReadings(partial).length) return null;
    return { readings: partial as RendererReadings, at: v.at, schemaVersion: v.schemaVersion };
  } catch {
    return null;
  }
}

function decodeFailure(raw: string | null): CalibrationFailure | null {
  if (!raw) return null;
  try {
    const v = JSON.parse(raw) as Partial<CalibrationFailure>;
    if (typeof v.attempt !== 'number' || typeof v.error !== 'string' || typeof v.nextTryAt !== 'string') return null;
    return { attempt: v.attempt, error: v.error, at: String(v.at ?? ''), nextTryAt: v.nextTryAt };
  } catch {
    return null;
  }
}

// Compare-and-act on the lock: only the holder (its token) may extend or delete it.
const RENEW_LUA = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`;
const RELEASE_LUA = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;

export function redisCalibrationStore(redis: Redis, prefix: string, keyId: string): CalibrationStore {
  const k = calibrationKeys(prefix, keyId);
  return {
    loadReadings: async () => decodeReadings(await redis.get(k.readings)),
    saveReadings: async (r) => {
      await redis.multi().set(k.readings, encodeReadings(r), 'PX', LONG_TTL_MS).del(k.failure).exec();
    },
    loadFailure: async () => decodeFailure(await redis.get(k.failure)),
    saveFailure: async (f) => {
      const ttl = Math.max(0, Date.parse(f.nextTryAt) - Date.parse(f.at)) + FAILURE_TTL_MS;
      await redis.set(k.failure, JSON.stringify(f), 'PX', Number.isFinite(ttl) ? ttl : FAILURE_TTL_MS);
    },
    forget: async () => {
      await redis.del(k.readings, k.failure);
    },
    tryLock: async (ttlMs) => {
      const token = randomUUID();
      if ((await redis.set(k.lock, token, 'PX', ttlMs, 'NX')) !== 'OK') return null;
      return {
        renew: async () => Number(await redis.eval(RENEW_LUA, 1, k.lock, token, String(ttlMs))) === 1,
        release: async () => void (await redis.eval(RELEASE_LUA, 1, k.lock, token)),
      };
    },
    isLocked: async () => (await redis.exists(k.lock)) === 1,
    publish: async (status) => {
      await redis.set(k.status, JSON.stringify(status), 'PX', LONG_TTL_MS);
    },
  };
}

/**
 * Publishes readings that need no calibration (forced, or the local renderer's emulation), so /mode shows what the
 * workers build for now rather than an older calibration's status.
 */
export async function publishKnownStatus(redis: Redis, prefix: string, status: CalibrationStatus): Promise<void> {
  await redis.set(publishedStatusKey(prefix), JSON.stringify(status), 'PX', LONG_TTL_MS);
}

/** For the bot's /mode: the status the workers last published (null when none, or unreadable). */
export async function readPublishedStatus(redis: Redis, prefix: string): Promise<CalibrationStatus | null> {
  const raw = await redis.get(publishedStatusKey(prefix));
  if (!raw) return null;
  try {
    const v = JSON.parse(raw) as CalibrationStatus;
    return typeof v?.state === 'string' && typeof v.origin === 'string' ? v : null;
  } catch {
    return null;
  }
}

/** One process's store (the render CLI): same behaviour, nothing shared. */
export function memoryCalibrationStore(): CalibrationStore {
  let readings: StoredReadings | null = null;
  let failure: CalibrationFailure | null = null;
  let lock: { token: string; until: number } | null = null;
  const held = () => lock !== null && lock.until > Date.now();
  return {
    loadReadings: async () => readings,
    saveReadings: async (r) => {
      readings = r;
      failure = null;
    },
    loadFailure: async () => failure,
    saveFailure: async (f) => {
      failure = f;
    },
    forget: async () => {
      readings = null;
      failure = null;
    },
    tryLock: async (ttlMs) => {
      if (held()) return null;
      const mine = { token: randomUUID(), until: Date.now() + ttlMs };
      lock = mine;
      return {
        renew: async () => {
          if (lock?.token !== mine.token) return false;
          mine.until = Date.now() + ttlMs;
          return true;
        },
        release: async () => {
          if (lock?.token === mine.token) lock = null;
        },
      };
    },
    isLocked: async () => held(),
    publish: async () => undefined,
  };
}
