import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../common/logger.js';
import { createShotstackClient } from '../client.js';
import { startLocalShotstack, type LocalShotstack } from '../local/server.js';
import { DEFAULT_READINGS, type RendererReadings } from '../readings.js';
import {
  calibratedReadings,
  calibrationKeyId,
  calibrationKeys,
  CalibrationPendingError,
  installedSchemaVersion,
  PROBE_COST,
  readPublishedStatus,
  redisCalibrationStore,
  type CalibrationStatus,
  type ReadingsSource,
} from './index.js';

/**
 * The calibrated ReadingsSource with its real parts: Redis on 127.0.0.1:6379 (a unique prefix, removed after),
 * the local renderer over HTTP emulating a service whose readings differ from the defaults (so a reading that
 * did not come from calibration shows), and ffmpeg. Renders are counted from the renderer's request log.
 */
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const EMULATED: RendererReadings = { luma: 'white-transparent', lumaGeometry: 'viewport', scale: 'width', alphaWebm: 'lost', alphaMov: 'kept' };
const API_KEY = 'calibration-test-key-0123456789';
const HOUR = 3_600_000;

const prefix = `bctest-calibration-${process.pid}-${Date.now().toString(36)}`;
const redises: Redis[] = [];
let workDir: string;
let server: LocalShotstack | undefined;
let logLines: string[] = [];
const logger = createLogger({ level: 'info' }, { write: (line: string) => void logLines.push(line) });

function connect(): Redis {
  const r = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  redises.push(r);
  return r;
}

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'calibration-store-test-'));
});
afterEach(async () => {
  await server?.close();
  server = undefined;
  logLines = [];
});
afterAll(async () => {
  const r = connect();
  const keys = await r.keys(`${prefix}:*`);
  if (keys.length) await r.del(...keys);
  await Promise.all(redises.map((x) => x.quit()));
  await rm(workDir, { recursive: true, force: true });
});

async function startServer(faults: Parameters<typeof startLocalShotstack>[0] = {}): Promise<LocalShotstack> {
  server = await startLocalShotstack({ emulate: EMULATED, apiKey: API_KEY, logger: createLogger({ level: 'silent' }), ...faults });
  return server;
}

/** A worker's source: its own Redis connection and client, the shared prefix and key id. */
function workerSource(s: LocalShotstack, keyId: string, o: { now?: () => number; backoffMs?: () => number; shared?: boolean } = {}): ReadingsSource {
  const client = createShotstackClient({ apiUrl: s.url, env: 'stage', apiKey: API_KEY, pollIntervalMs: 100, maxRetries: 0, logger });
  return calibratedReadings({
    client,
    keyId,
    ...(o.shared === false ? {} : { redis: { redis: connect(), prefix } }),
    maxAgeMs: 24 * HOUR,
    logger,
    workDir,
    ...(o.now ? { now: o.now } : {}),
    ...(o.backoffMs ? { backoffMs: o.backoffMs } : {}),
  });
}

const rendersSubmitted = (s: LocalShotstack) => s.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/render')).length;
let keyCounter = 0;
const freshKeyId = (s: LocalShotstack) => calibrationKeyId(s.url, 'stage', `${API_KEY}-${keyCounter++}`);

async function until(what: string, check: () => Promise<boolean>, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('calibratedReadings with Redis', () => {
  it('two workers on one key calibrate once and share the result', async () => {
    const s = await startServer();
    const keyId = freshKeyId(s);
    const [a, b] = [workerSource(s, keyId), workerSource(s, keyId)];
    const [ra, rb] = await Promise.all([a.get(), b.get()]);
    expect(ra).toEqual(EMULATED);
    expect(rb).toEqual(EMULATED);
    expect(rendersSubmitted(s)).toBe(PROBE_COST.renders);

    const status = await b.status();
    expect(status).toMatchObject({ state: 'known', origin: 'calibrated', readings: EMULATED, schemaVersion: installedSchemaVersion() });
    expect(Date.now() - Date.parse(status.at!)).toBeLessThan(5 * 60_000);
    expect(await readPublishedStatus(connect(), prefix)).toEqual(status);
    // a third worker finds the stored result: no render at all
    expect(await workerSource(s, keyId).get()).toEqual(EMULATED);
    expect(rendersSubmitted(s)).toBe(PROBE_COST.renders);
    expect(logLines.join('')).not.toContain(API_KEY);
  });

  it('calibrates again when the stored result has another schema version, and when it is older than maxAgeMs', async () => {
    const s = await startServer();
    const keyId = freshKeyId(s);
    const store = redisCalibrationStore(connect(), prefix, keyId);
    await store.saveReadings({ readings: { ...DEFAULT_READINGS }, at: new Date().toISOString(), schemaVersion: '0.0.1' });
    // a worker that died while calibrating left its lock: the others wait for it to expire, then calibrate
    expect(await store.tryLock(1500)).not.toBeNull();
    const worker = workerSource(s, keyId);
    expect((await worker.status()).state).toBe('running');
    expect(await worker.get()).toEqual(EMULATED);
    expect(rendersSubmitted(s)).toBe(PROBE_COST.renders);
    expect((await store.loadReadings())?.schemaVersion).toBe(installedSchemaVersion());

    // the same (current-version) result, seen by a worker whose clock is 25 h later: too old
    const later = () => Date.now() + 25 * HOUR;
    await store.saveReadings({ readings: { ...DEFAULT_READINGS }, at: new Date().toISOString(), schemaVersion: installedSchemaVersion() });
    expect(await workerSource(s, keyId).get()).toEqual(DEFAULT_READINGS); // still current for an ordinary worker
    expect(await workerSource(s, keyId, { now: later }).get()).toEqual(EMULATED);
    expect(rendersSubmitted(s)).toBe(2 * PROBE_COST.renders);
  });

  it('a failed calibration is published as failed with its next try, and retried after the backoff', async () => {
    const s = await startServer({ faults: { failRenders: { count: 1, message: 'probe render exploded' } } });
    const keyId = freshKeyId(s);
    const backoffMs = 10 * 60_000;
    let skewMs = 0; // the workers' clock: moved past the backoff instead of waiting it out
    const source = workerSource(s, keyId, { backoffMs: () => backoffMs, now: () => Date.now() + skewMs });

    // A caller that does not wait starts the calibration and is told it is running.
    const pending = await source.get({ waitMs: 0 }).catch((e: unknown) => e);
    expect(pending).toBeInstanceOf(CalibrationPendingError);
    expect((pending as CalibrationPendingError).status.state).toBe('running');

    let failed: CalibrationStatus | undefined;
    await until('the failed state', async () => (failed = await source.status()).state === 'failed');
    expect(failed!.error).toMatch(/probe render exploded/);
    const wait = Date.parse(failed!.nextTryAt!) - Date.now();
    expect(wait).toBeGreaterThan(backoffMs - 60_000);
    expect(wait).toBeLessThanOrEqual(backoffMs);
    expect(await readPublishedStatus(connect(), prefix)).toMatchObject({ state: 'failed', error: failed!.error, nextTryAt: failed!.nextTryAt });
    const errorLines = logLines.map((l) => JSON.parse(l)).filter((l) => l.level >= 50);
    expect(errorLines.some((l) => /probe render exploded/.test(l.err) && l.msg === 'Shotstack calibration failed')).toBe(true);

    // during the backoff nothing is rendered: a waiting get() ends only by its abort or its waitMs
    const submittedBefore = rendersSubmitted(s);
    await expect(source.get({ signal: AbortSignal.timeout(300) })).rejects.toThrow();
    const stillFailed = await source.get({ waitMs: 300 }).catch((e: unknown) => e);
    expect((stillFailed as CalibrationPendingError).status).toMatchObject({ state: 'failed', nextTryAt: failed!.nextTryAt });
    expect(rendersSubmitted(s)).toBe(submittedBefore);

    // the next get() after the backoff calibrates again, and succeeds
    skewMs = backoffMs + 1000;
    expect(await source.get()).toEqual(EMULATED);
    expect(rendersSubmitted(s)).toBe(submittedBefore + PROBE_COST.renders);
    expect(await source.status()).toMatchObject({ state: 'known', readings: EMULATED });
    expect(await redisCalibrationStore(connect(), prefix, keyId).loadFailure()).toBeNull();
    expect(logLines.join('')).not.toContain(API_KEY);
  });
});

describe('calibratedReadings with Redis unreachable', () => {
  it('a bounded get() still ends, with a pending error saying the store does not answer', async () => {
    // maxRetriesPerRequest null (what the pipeline uses): commands wait for a connection that never comes
    const down = new Redis('redis://127.0.0.1:1', { maxRetriesPerRequest: null, retryStrategy: () => 200 });
    down.on('error', () => undefined);
    try {
      const source = calibratedReadings({
        client: createShotstackClient({ apiUrl: 'http://127.0.0.1:1', env: 'stage', maxRetries: 0 }),
        keyId: 'unreachable',
        redis: { redis: down, prefix },
        maxAgeMs: HOUR,
        logger,
        workDir,
      });
      const started = Date.now();
      const e = await source.get({ waitMs: 100 }).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(CalibrationPendingError);
      expect((e as CalibrationPendingError).status).toMatchObject({ state: 'unknown', error: expect.stringMatching(/store unreachable/) });
      expect(Date.now() - started).toBeLessThan(10_000);
    } finally {
      down.disconnect();
    }
  });
});

describe('calibratedReadings in memory (the render CLI)', () => {
  it('concurrent get() calls calibrate once', async () => {
    const s = await startServer();
    const source = workerSource(s, freshKeyId(s), { shared: false });
    expect(await source.status()).toEqual({ state: 'unknown', origin: 'calibrated' });
    const all = await Promise.all([source.get(), source.get(), source.get()]);
    expect(all).toEqual([EMULATED, EMULATED, EMULATED]);
    expect(await source.get()).toEqual(EMULATED);
    expect(rendersSubmitted(s)).toBe(PROBE_COST.renders);
  });
});

describe('the Redis store', () => {
  it('lets one holder at a time take the lock, renew and release it', async () => {
    const keyId = `lock-${keyCounter++}`;
    const [a, b] = [redisCalibrationStore(connect(), prefix, keyId), redisCalibrationStore(connect(), prefix, keyId)];
    const held = await a.tryLock(60_000);
    expect(held).not.toBeNull();
    expect(await b.tryLock(60_000)).toBeNull();
    expect(await b.isLocked()).toBe(true);
    expect(await held!.renew()).toBe(true);
    await held!.release();
    expect(await a.isLocked()).toBe(false);
    const next = await b.tryLock(60_000);
    expect(next).not.toBeNull();
    // the first holder's handle no longer owns the lock: it can neither renew nor release it
    expect(await held!.renew()).toBe(false);
    await held!.release();
    expect(await a.isLocked()).toBe(true);
    await next!.release();
  });

  it('treats a corrupt or incomplete stored result as absent', async () => {
    const r = connect();
    const keyId = `corrupt-${keyCounter++}`;
    const store = redisCalibrationStore(r, prefix, keyId);
    const key = calibrationKeys(prefix, keyId).readings;
    const at = new Date().toISOString();
    const schemaVersion = installedSchemaVersion();
    for (const raw of ['{', JSON.stringify({ readings: 'luma=white-visible', at, schemaVersion }), JSON.stringify({ readings: 'luma=grey', at, schemaVersion })]) {
      await r.set(key, raw);
      expect(await store.loadReadings()).toBeNull();
    }
    await store.saveReadings({ readings: EMULATED, at, schemaVersion });
    expect(await r.get(key)).toContain('luma=white-transparent,luma-geometry=viewport,scale=width');
    expect(await store.loadReadings()).toEqual({ readings: EMULATED, at, schemaVersion });
  });
});

describe('calibrationKeyId', () => {
  it('differs per key, URL and environment, and does not contain the key', () => {
    const id = calibrationKeyId('https://api.shotstack.io', 'stage', API_KEY);
    expect(id).toMatch(/^[0-9a-f]{16}$/);
    expect(calibrationKeyId('https://api.shotstack.io', 'stage', API_KEY)).toBe(id);
    expect(calibrationKeyId('https://api.shotstack.io', 'v1', API_KEY)).not.toBe(id);
    expect(calibrationKeyId('https://api.shotstack.io', 'stage', `${API_KEY}x`)).not.toBe(id);
    expect(calibrationKeyId('http://127.0.0.1:4550', 'stage', API_KEY)).not.toBe(id);
    expect(API_KEY).not.toContain(id);
  });
});
