import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { GrammyError, HttpError } from 'grammy';
import type { Redis } from 'ioredis';
import type { Logger } from '../../common/logger.js';
import { nothingReachedServer } from '../../common/telegram/network-errors.js';
import type { DeliveryRecord, PipelineHandle, RenderJob } from '../contract.js';
import { pipelineKeys, type PipelineKeys } from '../keys.js';

/**
 * Delivery at most once. Telegram has no idempotency key, so a send that may have happened must never be repeated
 * blindly. Around each send of a job's result:
 *  1. `claim` — `SET <delivery-claim> NX` right before the send, holding who sends (worker, attempt);
 *  2. the send;
 *  3. `markDelivered` — the `delivered` marker right after, retried on Redis errors (this process knows it was
 *     delivered).
 * A run that finds a claim without a marker (its sender was killed, lost Redis or its lock in between) does not
 * send: it `park`s the job — the user is asked, with a «Send again» button, and the rendered file is kept for
 * RESEND_WINDOW_SEC. A press (`approveResend`, bot side) approves that one claim; the next run takes the claim over
 * (`claim` → `resend`) and sends once more. A send that certainly did not reach Telegram `release`s its claim so
 * the retry sends normally.
 */

/** How long a «Send again» button works, and so how long the rendered file is kept (capped by the state TTL). */
export const RESEND_WINDOW_SEC = 24 * 3600;

/** The «Send again» window of a worker: RESEND_WINDOW_SEC, but never longer than the job's state lives in Redis. */
export function resendWindowFor(stateTtlSec: number, wantedSec = RESEND_WINDOW_SEC): number {
  return Math.max(1, Math.min(wantedSec, stateTtlSec));
}

/** Waits between tries of the marker write after a successful send (about 8 s in all). */
export const MARKER_RETRY_DELAYS_MS: readonly number[] = [100, 250, 500, 1000, 2000, 4000];

/** What earlier runs of the job left. `approved`: the user pressed «Send again» for the claim that is there now. */
export interface PriorDelivery {
  delivered: DeliveryRecord | null;
  claim: string | null;
  approved: boolean;
}

export type ClaimOutcome =
  /** Nobody sent before: this run may send. */
  | { kind: 'claimed' }
  /** The user approved one more send of an uncertain delivery; this run took the claim over and may send. */
  | { kind: 'resend' }
  | { kind: 'delivered'; record: DeliveryRecord }
  /** Another run claimed the send and never marked it delivered: it may or may not have reached the chat. */
  | { kind: 'taken'; claim: string };

export interface DeliveryClaims {
  inspect(): Promise<PriorDelivery>;
  claim(value: string): Promise<ClaimOutcome>;
  /** Frees the claim if it is still `value` (the send certainly did not happen). */
  release(value: string): Promise<void>;
  /** True when written; false after every retry failed (logged; the caller keeps the job's files). */
  markDelivered(record: DeliveryRecord, log: Logger): Promise<boolean>;
  /** Opens the «Send again» window for `claim`; returns the delivery record instead if the marker appeared meanwhile. */
  park(claim: string): Promise<DeliveryRecord | null>;
}

export interface DeliveryClaimOptions {
  stateTtlSec: number;
  /** See resendWindowFor. */
  resendWindowSec: number;
  markerRetryDelaysMs?: readonly number[];
}

// KEYS: claim, delivered, approval. ARGV: value, ttl.
const CLAIM = `
local done = redis.call('GET', KEYS[2])
if done then return {'delivered', done} end
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'EX', ARGV[2]) then return {'claimed'} end
local current = redis.call('GET', KEYS[1])
if redis.call('GET', KEYS[3]) == current then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
  return {'resend'}
end
return {'taken', current}`;

// KEYS: claim. ARGV: value.
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end return 1`;

// KEYS: delivered, parked, approval. ARGV: claim, ttl. An approval of an older claim is spent: a new press approves this one.
const PARK = `
local done = redis.call('GET', KEYS[1])
if done then return done end
redis.call('SET', KEYS[2], ARGV[1], 'EX', ARGV[2])
redis.call('DEL', KEYS[3])
return false`;

export function deliveryClaims(redis: Redis, keys: PipelineKeys, jobId: string, o: DeliveryClaimOptions): DeliveryClaims {
  const claimKey = keys.deliveryClaim(jobId);
  const deliveredKey = keys.delivered(jobId);
  const parkedKey = keys.resendParked(jobId);
  const approvedKey = keys.resendApproved(jobId);
  const parse = (raw: string) => JSON.parse(raw) as DeliveryRecord;

  return {
    async inspect() {
      const [delivered, claim, approval] = await redis.mget(deliveredKey, claimKey, approvedKey);
      return { delivered: delivered ? parse(delivered) : null, claim, approved: claim !== null && approval === claim };
    },
    async claim(value) {
      const r = (await redis.eval(CLAIM, 3, claimKey, deliveredKey, approvedKey, value, o.stateTtlSec)) as [string, string?];
      if (r[0] === 'delivered') return { kind: 'delivered', record: parse(r[1]!) };
      if (r[0] === 'taken') return { kind: 'taken', claim: r[1]! };
      return { kind: r[0] as 'claimed' | 'resend' };
    },
    async release(value) {
      await redis.eval(RELEASE, 1, claimKey, value);
    },
    async markDelivered(record, log) {
      const delays = o.markerRetryDelaysMs ?? MARKER_RETRY_DELAYS_MS;
      for (let i = 0; ; i++) {
        try {
          const replies = await redis.multi().set(deliveredKey, JSON.stringify(record), 'EX', o.stateTtlSec).del(parkedKey, approvedKey).exec();
          const failed = replies?.find(([err]) => err)?.[0];
          if (!replies || failed) throw failed ?? new Error('transaction discarded');
          return true;
        } catch (e) {
          const last = i >= delays.length;
          log[last ? 'error' : 'warn']({ err: (e as Error).message, try: i + 1 }, last ? 'delivered marker not written: giving up' : 'delivered marker not written; retrying');
          if (last) return false;
          await sleep(delays[i]!);
        }
      }
    },
    async park(claim) {
      const done = (await redis.eval(PARK, 3, deliveredKey, parkedKey, approvedKey, claim, o.resendWindowSec)) as string | null;
      return done ? parse(done) : null;
    },
  };
}

/** The value of a claim: who sends, for the logs of whoever finds it later; the nonce makes each claim unique. */
export function claimValue(workerId: string, attempt: number): string {
  return JSON.stringify({ worker: workerId, attempt, at: new Date().toISOString(), nonce: randomBytes(6).toString('hex') });
}

/**
 * False only when the failed send certainly did not reach the chat: Telegram answered with a refusal (4xx), the
 * connection was never made, or our own code threw without a Telegram network error underneath (a too large file,
 * a failed shrink). A broken connection, a timeout, an abort mid-upload or a 5xx may come after Telegram acted.
 */
export function sendMayHaveArrived(e: unknown): boolean {
  for (let cur: unknown = e, depth = 0; cur && depth < 6; cur = (cur as { cause?: unknown }).cause, depth++) {
    if (cur instanceof GrammyError) return cur.error_code >= 500;
    if (cur instanceof HttpError) return !nothingReachedServer(cur.error);
    const name = (cur as { name?: unknown }).name;
    if (name === 'AbortError' || name === 'TimeoutError') return true;
  }
  return false;
}

// ---- the «Send again» button (bot side) ------------------------------------------------------------------------

export type ResendOutcome =
  /** One more send is on its way (the job was queued again). */
  | 'approved'
  /** A press already approved it (a double tap), or that send already took its claim. */
  | 'already'
  /** The result is known to have arrived. */
  | 'delivered'
  /** The window has passed (the file is gone) or the job no longer exists. */
  | 'expired'
  | 'not_yours'
  /** The job is still finishing its previous run; press again in a moment. */
  | 'busy';

// KEYS: delivered, parked, approval, claim. ARGV: minimum approval ttl.
const APPROVE = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 'delivered' end
local parked = redis.call('GET', KEYS[2])
if not parked then return 'expired' end
local ttl = math.max(redis.call('TTL', KEYS[2]), tonumber(ARGV[1]))
if redis.call('SET', KEYS[3], parked, 'NX', 'EX', ttl) then return 'approved' end
if redis.call('GET', KEYS[3]) == redis.call('GET', KEYS[4]) then return 'pending' end
return 'already'`;

/**
 * A press on «Send again» by `userId`: approves one more send of the job's parked result and queues the job
 * again (it resumes from its stored stages and only delivers). Any number of presses approve one send: the
 * approval names the parked claim, and the first run that takes that claim over spends it. A first press while
 * the job is still finishing the run that asked waits for it, up to `settleMs`.
 */
export async function approveResend(
  p: Pick<PipelineHandle, 'queue' | 'redis' | 'prefix'>,
  jobId: string,
  userId: number,
  o: { settleMs?: number } = {},
): Promise<ResendOutcome> {
  const job = (await p.queue.getJob(jobId)) as RenderJob | undefined;
  if (!job) return 'expired';
  if (job.data.userId !== userId) return 'not_yours';
  const keys = pipelineKeys(p.prefix);
  const verdict = (await p.redis.eval(
    APPROVE,
    4,
    keys.delivered(jobId),
    keys.resendParked(jobId),
    keys.resendApproved(jobId),
    keys.deliveryClaim(jobId),
    3600,
  )) as ResendOutcome | 'pending';
  if (verdict === 'approved') {
    const state = await settledState(job, o.settleMs ?? 5000);
    if (state === 'active') return 'busy'; // the next press finds the approval 'pending' and queues the job
    return isFinished(state) ? queueAgain(p, job, state) : 'approved';
  }
  // 'pending': approved earlier but not run yet (that press did not get to queue the job); else a queued run has it.
  if (verdict === 'pending') {
    const state = await job.getState();
    return isFinished(state) ? queueAgain(p, job, state) : 'already';
  }
  return verdict;
}

const isFinished = (state: string): state is 'completed' | 'failed' => state === 'completed' || state === 'failed';

async function queueAgain(p: Pick<PipelineHandle, 'redis' | 'prefix'>, job: RenderJob, state: 'completed' | 'failed'): Promise<ResendOutcome> {
  const keys = pipelineKeys(p.prefix);
  await p.redis.del(keys.cancel(job.id!), keys.failureNotified(job.id!));
  try {
    await job.retry(state, { resetAttemptsMade: true, resetAttemptsStarted: true });
  } catch {
    return 'already'; // another press queued it a moment ago
  }
  return 'approved';
}

async function settledState(job: RenderJob, settleMs: number): Promise<string> {
  const end = Date.now() + settleMs;
  for (;;) {
    const state = await job.getState();
    if (state !== 'active' || Date.now() >= end) return state;
    await sleep(100);
  }
}
