import { CancelledError } from '../../common/errors.js';
import type { Logger } from '../../common/logger.js';
import { formatReadings, type RendererReadings } from '../readings.js';
import type { CalibrationRun } from './run.js';
import { CalibrationPendingError, type CalibrationStatus, type ReadingsOrigin, type ReadingsSource } from './status.js';
import type { CalibrationFailure, CalibrationLock, CalibrationStore, StoredReadings } from './store.js';

/**
 * The ReadingsSources. A fixed one answers at once; a calibrated one reads the store and, when it holds no
 * current result, calibrates — one worker at a time under the store's lock, the others polling the store — and
 * after a failure waits out a backoff (recorded in the store, so every worker honours it) before trying again.
 * A calibration runs detached from the get() that started it: a caller that stops waiting does not stop it.
 */
export const LOCK_TTL_MS = 60_000;
const RENEW_EVERY_MS = LOCK_TTL_MS / 3;
/** How often a waiting get() looks at the store again (another worker's result, the end of a backoff). */
const POLL_MS = 1000;
/** How long get() gives the store to answer one look, even when its own wait is shorter (or 0). */
const STORE_GRACE_MS = 2000;
const TIMED_OUT = Symbol('timed out');

/** 30 s, 1 min, 2 min, 4 min … capped at 15 min. */
export function defaultBackoffMs(attempt: number): number {
  return Math.min(15 * 60_000, 30_000 * 2 ** Math.max(0, attempt - 1));
}

export function fixedReadings(readings: RendererReadings, origin: 'forced' | 'local'): ReadingsSource {
  const frozen = Object.freeze({ ...readings });
  return {
    get: async (opts) => {
      opts?.signal?.throwIfAborted();
      return { ...frozen };
    },
    status: async () => ({ state: 'known', origin, readings: { ...frozen } }),
  };
}

export interface StoredSourceOptions {
  store: CalibrationStore;
  /** One calibration run (run.ts bound to a client). */
  calibrate: () => Promise<CalibrationRun>;
  schemaVersion: string;
  maxAgeMs: number;
  logger: Logger;
  now: () => number;
  backoffMs: (attempt: number) => number;
}

type Step = { readings: RendererReadings } | { waitMs: number };

export function storedReadingsSource(o: StoredSourceOptions): ReadingsSource {
  const log = o.logger.child({ component: 'shotstack-calibration' });
  const origin: ReadingsOrigin = 'calibrated';
  let running: Promise<void> | null = null;

  function staleness(s: StoredReadings): string | null {
    if (s.schemaVersion !== o.schemaVersion) return `schema ${s.schemaVersion}, installed ${o.schemaVersion}`;
    const age = o.now() - Date.parse(s.at);
    if (!(age < o.maxAgeMs)) return `calibrated ${s.at}, older than ${Math.round(o.maxAgeMs / 3_600_000)} h`;
    return null;
  }
  const current = (s: StoredReadings | null) => s !== null && staleness(s) === null;
  const backoffLeft = (f: CalibrationFailure | null) => (f ? Date.parse(f.nextTryAt) - o.now() : 0);

  const publish = (status: CalibrationStatus) => publishStatus(o.store, status, log);

  /** One look at the store: the readings, or how long to wait before looking again (starting a calibration if due). */
  async function step(): Promise<Step> {
    try {
      const stored = await o.store.loadReadings();
      if (stored && current(stored)) return { readings: stored.readings };
      if (running) return { waitMs: POLL_MS };
      const left = backoffLeft(await o.store.loadFailure());
      if (left > 0) return { waitMs: Math.min(POLL_MS, left) };
      const lock = await o.store.tryLock(LOCK_TTL_MS);
      if (lock) running = calibrateUnder(lock).finally(() => (running = null));
      return { waitMs: POLL_MS };
    } catch (e) {
      log.warn({ err: (e as Error).message }, 'calibration store unreachable; looking again shortly');
      return { waitMs: POLL_MS };
    }
  }

  async function calibrateUnder(lock: CalibrationLock): Promise<void> {
    const stopRenewal = keepLockRenewed(lock, log);
    try {
      // Looked at again under the lock: another worker may have finished, or failed, since step() looked.
      const stored = await o.store.loadReadings();
      const failure = await o.store.loadFailure();
      if (current(stored) || backoffLeft(failure) > 0) return;
      if (stored) log.info({ at: stored.at, why: staleness(stored) }, 'stored Shotstack readings are out of date: calibrating again');
      await publish({ state: 'running', origin, ...(failure ? { error: failure.error } : {}) });
      await calibrateOnce(o, failure, log);
    } catch (e) {
      log.error({ err: (e as Error).message }, 'calibration bookkeeping failed');
    } finally {
      stopRenewal();
      await lock.release().catch((e: unknown) => log.warn({ err: (e as Error).message }, 'could not release the calibration lock'));
    }
  }

  async function status(): Promise<CalibrationStatus> {
    const stored = await o.store.loadReadings();
    if (stored && current(stored)) return { state: 'known', origin, ...stored };
    const failure = await o.store.loadFailure();
    if (running || (await o.store.isLocked())) return { state: 'running', origin, ...(failure ? { error: failure.error } : {}) };
    if (failure) return { state: 'failed', origin, error: failure.error, nextTryAt: failure.nextTryAt };
    return { state: 'unknown', origin };
  }

  /** The status for a CalibrationPendingError: a store that does not answer (Redis down) must not hold get() up. */
  async function pendingStatus(): Promise<CalibrationStatus> {
    const unreachable = (why: string): CalibrationStatus => ({ state: 'unknown', origin, error: `calibration store unreachable: ${why}` });
    const answer = await within(status(), STORE_GRACE_MS, undefined).catch((e: unknown) => unreachable((e as Error).message));
    return answer === TIMED_OUT ? unreachable(`no answer in ${STORE_GRACE_MS} ms`) : answer;
  }

  async function get(opts: { signal?: AbortSignal; waitMs?: number } = {}): Promise<RendererReadings> {
    const deadline = opts.waitMs === undefined ? Infinity : Date.now() + Math.max(0, opts.waitMs);
    for (;;) {
      if (opts.signal?.aborted) throw abortReason(opts.signal);
      // Even a zero wait gets one look at the store (and starts a due calibration), within a grace period.
      const next = await within(step(), Math.max(deadline - Date.now(), STORE_GRACE_MS), opts.signal);
      if (next !== TIMED_OUT && 'readings' in next) return next.readings;
      const left = deadline - Date.now();
      if (next === TIMED_OUT || left <= 0) throw new CalibrationPendingError(await pendingStatus());
      await pause(Math.min(next.waitMs, left), opts.signal, running);
    }
  }

  return { get, status };
}

async function publishStatus(store: CalibrationStore, status: CalibrationStatus, log: Logger): Promise<void> {
  await store.publish(status).catch((e: unknown) => log.warn({ err: (e as Error).message }, 'could not publish the calibration status'));
}

/** The lock's TTL is short so a dead worker's lock expires soon; a live calibration keeps renewing it. Returns stop. */
function keepLockRenewed(lock: CalibrationLock, log: Logger): () => void {
  const renewal = setInterval(() => {
    lock.renew().then(
      (held) => {
        if (!held) log.warn('lost the calibration lock while calibrating (another worker may calibrate too)');
      },
      (e: unknown) => log.warn({ err: (e as Error).message }, 'could not renew the calibration lock'),
    );
  }, RENEW_EVERY_MS);
  renewal.unref();
  return () => clearInterval(renewal);
}

/** One calibration run, its outcome stored for every worker: the readings, or the failure with its next try time. */
async function calibrateOnce(o: StoredSourceOptions, previous: CalibrationFailure | null, log: Logger): Promise<void> {
  const origin: ReadingsOrigin = 'calibrated';
  const iso = () => new Date(o.now()).toISOString();
  let run: CalibrationRun;
  try {
    run = await o.calibrate();
    if (!run.decision.readings) throw new Error(`the probes were inconclusive: ${run.decision.problems.join('; ')}`);
  } catch (e) {
    const attempt = (previous?.attempt ?? 0) + 1;
    const nextTryAt = new Date(o.now() + o.backoffMs(attempt)).toISOString();
    const error = (e as Error).message;
    log.error({ err: error, attempt, nextTryAt }, 'Shotstack calibration failed');
    await o.store.saveFailure({ attempt, error, at: iso(), nextTryAt });
    await publishStatus(o.store, { state: 'failed', origin, error, nextTryAt }, log);
    return;
  }
  const result: StoredReadings = { readings: run.decision.readings, at: iso(), schemaVersion: o.schemaVersion };
  await o.store.saveReadings(result);
  await publishStatus(o.store, { state: 'known', origin, ...result }, log);
  log.info(
    { readings: formatReadings(result.readings), renders: run.cost.renders, outputSeconds: run.cost.outputSeconds, elapsedMs: run.elapsedMs },
    'Shotstack calibrated',
  );
}

function abortReason(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new CancelledError();
}

/** `work`'s result, or TIMED_OUT after `ms` (Infinity = no limit); rejects on abort. `work` itself runs on. */
function within<T>(work: Promise<T>, ms: number, signal: AbortSignal | undefined): Promise<T | typeof TIMED_OUT> {
  if (ms === Infinity && !signal) return work;
  return new Promise((resolve, reject) => {
    const finish = (fn: () => void) => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      fn();
    };
    const onAbort = () => finish(() => reject(abortReason(signal!)));
    const timer = ms === Infinity ? undefined : setTimeout(() => finish(() => resolve(TIMED_OUT)), ms);
    if (signal?.aborted) return onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    work.then(
      (v) => finish(() => resolve(v)),
      (e: unknown) => finish(() => reject(e)),
    );
  });
}

/** Waits `ms`, or until `wake` settles (a calibration this process runs), whichever comes first; rejects on abort. */
async function pause(ms: number, signal: AbortSignal | undefined, wake: Promise<void> | null): Promise<void> {
  await within(wake ?? new Promise<void>(() => undefined), ms, signal);
}
