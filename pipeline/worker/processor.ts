import { rm } from 'node:fs/promises';
import { DelayedError, UnrecoverableError } from 'bullmq';
import { CancelledError } from '../../common/errors.js';
import type { Logger } from '../../common/logger.js';
import { NO_METRICS, type Metrics } from '../../common/metrics/metrics.js';
import { classifyError } from '../classify.js';
import {
  CONTRACT_VERSION,
  parseJobData,
  unrecoverable,
  type DeliveryRecord,
  type JobData,
  type JobResult,
  type RenderJob,
} from '../contract.js';
import { formatFailure, makeFailure, parseFailure, PipelineError, STALLED_LIMIT_REASON, type JobFailure } from '../failures.js';
import { countOverlay } from '../heartbeat.js';
import { pipelineKeys } from '../keys.js';
import { countFinalFailure } from '../operator-numbers.js';
import { claimValue, deliveryClaims, RESEND_WINDOW_SEC, resendWindowFor, sendMayHaveArrived, type DeliveryClaims } from './delivery-claim.js';
import type { NotifyUncertain } from './uncertain-notice.js';
import { workFolders } from './work-folder.js';
import type { PipelineRedis } from '../redis.js';
import { runPipeline, type PipelineDeps } from '../run-pipeline.js';
import type { Deliver } from '../stages/deliver.js';
import { ProgressTracker } from '../stages/progress.js';
import { RedisStateStore } from './redis-state.js';

/**
 * One BullMQ job through the pipeline, with what only the worker adds around `runPipeline`:
 * - per-job state in Redis and a work folder `<workRoot>/<jobId>` kept between attempts (resume);
 * - delivery at most once (delivery-claim.ts): a claim set right before the send, the "delivered" marker right
 *   after; a run that finds a claim without a marker asks the user («Send again») instead of sending again;
 * - failures classified: bad input and other hopeless cases become UnrecoverableError (no retries), the rest a
 *   plain Error so BullMQ retries with backoff; the message is always the parseable `<category>:<code>: detail`;
 * - on the final failure: one failure notice to the chat (if the job asked the worker to send it), files removed;
 * - cancel requests (polled) and shutdown hand-back (the job goes back to the queue without using an attempt).
 */
export interface ProcessorOptions {
  r: PipelineRedis;
  workRoot: string;
  /** Everything but delivery, which is wrapped here with the once-only claim and marker. */
  deps: Omit<PipelineDeps, 'deliver' | 'onOverlayDone'>;
  deliver: Deliver;
  notifyFailure?(data: JobData, failure: JobFailure, log: Logger): Promise<boolean>;
  /** Asks the user about a delivery that may already have arrived (needs Telegram; see uncertain-notice.ts). */
  notifyUncertain?: NotifyUncertain;
  /** Named in delivery claims, so whoever finds a claim left behind can tell who sent. */
  workerId?: string;
  /** How long a «Send again» button works and the rendered file is kept (default 24 h; at most stateTtlSec). */
  resendWindowSec?: number;
  /** Waits between tries of the delivered-marker write (tests shorten them). */
  markerRetryDelaysMs?: readonly number[];
  stateTtlSec: number;
  cancelPollMs?: number;
  /** This process' Prometheus numbers (job durations); failures are counted in Redis, for every process to read. */
  metrics?: Metrics;
  logger: Logger;
}

/** The abort reason used when the worker shuts down (the job is handed back, not failed). */
export const SHUTDOWN = new CancelledError('worker shutting down');

export interface ActiveJob {
  controller: AbortController;
  job: RenderJob;
  token?: string;
}

export function createProcessor(o: ProcessorOptions, active: Map<string, ActiveJob>) {
  const keys = pipelineKeys(o.r.prefix);
  const redis = o.r.redis;
  const finalFailure = createFinalFailure(o);

  return async function processJob(job: RenderJob, token?: string, bullSignal?: AbortSignal): Promise<JobResult> {
    const jobId = job.id!;
    const log = o.logger.child({ jobId, attempt: job.attemptsMade + 1 });
    const data = await parseOrFailForGood(o, jobId, job.data);
    const controller = new AbortController();
    active.set(jobId, { controller, job, token });
    const signal = bullSignal ? AbortSignal.any([controller.signal, bullSignal]) : controller.signal;
    const workDir = await workFolders(redis, keys.workFolder, o.workRoot, o.stateTtlSec).forJob(jobId);
    const state = new RedisStateStore(redis, keys.state(jobId), o.stateTtlSec);
    const stopCancelPoll = pollCancelRequest(o, keys, jobId, controller);
    const attempt: Attempt = { o, keys, job, jobId, data, workDir, state, signal, log };
    try {
      return await runAttempt(attempt);
    } catch (e) {
      if (controller.signal.reason === SHUTDOWN && token) await handBack(attempt, token);
      return await failAttempt(attempt, e, finalFailure);
    } finally {
      stopCancelPoll();
      active.delete(jobId);
    }
  };
}

/** One run of one job, as the helpers below need it. */
interface Attempt {
  o: ProcessorOptions;
  keys: ReturnType<typeof pipelineKeys>;
  job: RenderJob;
  jobId: string;
  data: JobData;
  workDir: string;
  state: RedisStateStore;
  signal: AbortSignal;
  log: Logger;
}

async function parseOrFailForGood(o: ProcessorOptions, jobId: string, raw: unknown): Promise<JobData> {
  try {
    return parseJobData(raw);
  } catch (e) {
    // Fails for good without reaching finalFailure (no chat to tell): counted here, or failures_total misses it.
    await countFinalFailure(o.r, jobId, 'internal', o.stateTtlSec).catch(() => undefined);
    throw unrecoverable(makeFailure('internal', `invalid job data: ${(e as Error).message}`));
  }
}

/** A cancel is a Redis key set by the bot or an admin; polled, because the job may be deep in a stage. Returns stop. */
function pollCancelRequest(o: ProcessorOptions, keys: Attempt['keys'], jobId: string, controller: AbortController): () => void {
  const cancelPoll = setInterval(() => {
    o.r.redis.exists(keys.cancel(jobId)).then(
      (n) => n && controller.abort(new CancelledError('cancelled on request')),
      () => undefined,
    );
  }, o.cancelPollMs ?? 2000);
  cancelPoll.unref();
  return () => clearInterval(cancelPoll);
}

/** The delivery claims are looked at first: a result that was (or may have been) sent is never sent again. */
async function runAttempt(a: Attempt): Promise<JobResult> {
  const { o, keys, job, jobId, data, workDir, state, log } = a;
  const redis = o.r.redis;
  const windowSec = resendWindowFor(o.stateTtlSec, o.resendWindowSec ?? RESEND_WINDOW_SEC);
  const claims = deliveryClaims(redis, keys, jobId, { stateTtlSec: o.stateTtlSec, resendWindowSec: windowSec, markerRetryDelaysMs: o.markerRetryDelaysMs });
  const askUser = askAboutUncertainDelivery(o, claims, data, jobId, windowSec);
  const once = deliverOnce(o, claims, askUser, claimValue(o.workerId ?? 'unknown', job.attemptsMade + 1));

  const prior = await claims.inspect();
  if (prior.delivered) {
    log.warn('result was already delivered by an earlier attempt; completing without sending again');
    return await finishWithoutSending(workDir, data, state, prior.delivered);
  }
  if (await redis.exists(keys.cancel(jobId))) throw new CancelledError('cancelled on request');
  // An earlier run may have sent it: ask the user before resuming anything (no files are needed for that).
  if (prior.claim && !prior.approved) {
    const asked = await askUser(prior.claim, (await state.get('rendered'))?.bytes ?? 0, log);
    return await finishWithoutSending(workDir, data, state, asked);
  }
  log.info({ output: data.output, engine: data.options.engine, chatId: data.chatId }, 'job started');
  const progress = new ProgressTracker(data.output, (p) => job.updateProgress(p));
  const result = await runPipeline({
    jobId,
    data,
    workDir,
    state,
    deps: {
      ...o.deps,
      deliver: once.deliver,
      onOverlayDone: overlayDone(o.r, job),
    },
    progress,
    signal: a.signal,
    log,
  });
  log.info({ timingsMs: result.timingsMs, overlay: result.overlay, resumed: result.resumed }, 'job done');
  observeCompleted(o.metrics ?? NO_METRICS, job, result);
  // The «Send again» button needs the file; the sweep removes it once the window has passed (worker.ts).
  if (!result.delivered.uncertain && once.markerWritten()) await rm(workDir, { recursive: true, force: true });
  return result;
}

/** Not the job's fault: hand it back without using an attempt; its stored stages let it resume elsewhere. */
async function handBack(a: Attempt, token: string): Promise<never> {
  a.log.info('worker shutting down; job handed back to the queue');
  await a.job.moveToDelayed(Date.now() + 1000, token);
  throw new DelayedError();
}

/**
 * Always throws: a plain Error (BullMQ retries with backoff) or, on the last attempt or a hopeless failure,
 * UnrecoverableError after the final-failure handling.
 */
async function failAttempt(a: Attempt, e: unknown, finalFailure: FinalFailure): Promise<never> {
  const { job, log } = a;
  const { failure, retryable } = classifyError(e);
  const attempts = job.opts.attempts ?? 1;
  const final = !retryable || job.attemptsMade + 1 >= attempts;
  log[final ? 'error' : 'warn'](
    { code: failure.code, retryable, final, attemptsMade: job.attemptsMade + 1, attempts, err: failure.message },
    final ? 'job failed' : 'attempt failed; will retry',
  );
  // failedReason keeps only the last attempt's reason; the job log keeps each one.
  await job.log(`attempt ${job.attemptsMade + 1} failed: ${formatFailure(failure)}`).catch(() => undefined);
  if (final) await finalFailure(a.jobId, a.data, failure, log);
  if (!final) throw new Error(formatFailure(failure));
  throw new UnrecoverableError(formatFailure(failure));
}

/**
 * What happens once when a job has failed for good, whoever saw it fail: the work folder and a pending cancel request
 * are removed, and the chat gets one failure notice — unless the job was cancelled, the bot sends its own notices,
 * or the chat is unreachable.
 */
export type FinalFailure = (jobId: string, data: JobData, failure: JobFailure, log: Logger) => Promise<void>;

export function createFinalFailure(o: Pick<ProcessorOptions, 'r' | 'workRoot' | 'notifyFailure' | 'stateTtlSec'>): FinalFailure {
  const keys = pipelineKeys(o.r.prefix);
  const redis = o.r.redis;
  return async function finalFailure(jobId, data, failure, log) {
    // Counted first: whatever else goes wrong below, /stats and /metrics see the failure.
    await countFinalFailure(o.r, jobId, failure.code, o.stateTtlSec).catch((e: Error) => log.warn({ err: e.message }, 'failure not counted'));
    const folder = await workFolders(redis, keys.workFolder, o.workRoot, o.stateTtlSec).existing(jobId).catch(() => null);
    if (folder) await rm(folder, { recursive: true, force: true }).catch(() => undefined);
    await redis.del(keys.cancel(jobId)).catch(() => undefined);
    if (failure.code === 'cancelled' || data.failureNotice !== 'worker' || !o.notifyFailure) return;
    if (failure.code === 'chat_unavailable') return;
    // Once per job, even if the failure is processed twice (a stalled job re-run).
    const first = await redis.set(keys.failureNotified(jobId), '1', 'EX', o.stateTtlSec, 'NX').catch(() => null);
    if (first !== 'OK') return;
    await o.notifyFailure(data, failure, log);
  };
}

/**
 * The final failure of a job BullMQ failed without running the processor: one whose worker died more than
 * `maxStalledCount` times. BullMQ 6 marks it in the stalled check, and the next worker that fetches it fails it at
 * once with STALLED_LIMIT_REASON (Worker 'failed' event). A cancel requested before the worker died still counts
 * as a cancel (no notice).
 */
export async function finishStalledOut(
  o: Pick<ProcessorOptions, 'r' | 'workRoot' | 'notifyFailure' | 'stateTtlSec' | 'logger'>,
  job: Pick<RenderJob, 'id' | 'data' | 'attemptsMade'>,
): Promise<void> {
  const jobId = job.id!;
  const log = o.logger.child({ jobId, attempt: job.attemptsMade + 1 });
  let data: JobData;
  try {
    data = parseJobData(job.data);
  } catch (e) {
    log.error({ err: (e as Error).message }, 'stalled-out job has invalid data; nobody to tell');
    return;
  }
  const cancelled = await o.r.redis.exists(pipelineKeys(o.r.prefix).cancel(jobId)).catch(() => 0);
  const failure = cancelled ? makeFailure('cancelled', 'cancelled on request; then its worker died') : parseFailure(STALLED_LIMIT_REASON);
  log.error({ code: failure.code, chatId: data.chatId, err: failure.message }, 'job failed: its worker died too many times');
  await createFinalFailure(o)(jobId, data, failure, log);
}

/**
 * Counted for admins, and written to the job's own log so /failed and dashboards show which path ran (and, in auto
 * mode, the route estimate against the actual time).
 */
function overlayDone(r: PipelineRedis, job: RenderJob): NonNullable<PipelineDeps['onOverlayDone']> {
  return async (record, routing) => {
    const route = routing ? [job.log(`routing: ${JSON.stringify(routing)}`)] : [];
    await Promise.all([countOverlay(r, record), job.log(`overlay: ${JSON.stringify(record)}`), ...route]);
  };
}

/** A job this run completed, for the latency histograms (a run that only found it already delivered is not one). */
function observeCompleted(metrics: Metrics, job: RenderJob, result: JobResult): void {
  metrics.jobCompleted({
    output: result.output,
    path: result.overlay.path,
    processingSec: result.timingsMs.total / 1000,
    // job.timestamp is when it was enqueued (kept across retries).
    latencySec: Math.max(0, Date.now() - job.timestamp) / 1000,
  });
}

type AskUser = (claim: string, bytes: number, log: Logger) => Promise<DeliveryRecord>;

/**
 * The deliver stage wrapped in the job's delivery claim (delivery-claim.ts): claim, send, marker. A claim another
 * run left without a marker, or a send that failed in a way that may still have delivered it, asks the user
 * instead; a send that certainly did not happen frees the claim for the retry. `markerWritten` is false when the
 * marker could not be written after a successful send (a later run may have to ask, so the files stay).
 */
function deliverOnce(o: ProcessorOptions, claims: DeliveryClaims, askUser: AskUser, mine: string) {
  let markerWritten = true;
  const deliver: Deliver = async (d, data, ctx) => {
    const claim = await claims.claim(mine);
    if (claim.kind === 'delivered') {
      ctx.log.warn('already delivered by an earlier attempt; not sending again');
      return claim.record;
    }
    if (claim.kind === 'taken') return askUser(claim.claim, d.bytes, ctx.log);
    if (claim.kind === 'resend') ctx.log.warn('sending the result once more: the user pressed «Send again»');
    let record: DeliveryRecord;
    try {
      record = await o.deliver(d, data, ctx);
    } catch (e) {
      if (!sendMayHaveArrived(e)) {
        await claims.release(mine).catch((err: Error) => ctx.log.warn({ err: err.message }, 'delivery claim not released'));
        throw e;
      }
      // Cancelled or handed back mid-send: the next run, if any, finds the claim and asks the user.
      if (ctx.signal.aborted) throw e;
      ctx.log.warn({ err: (e as Error).message }, 'the send failed in a way that may still have delivered it');
      return askUser(mine, d.bytes, ctx.log).catch(() => Promise.reject(e));
    }
    markerWritten = await claims.markDelivered(record, ctx.log);
    ctx.log.info(record, 'delivered');
    return record;
  };
  return { deliver, markerWritten: () => markerWritten };
}

/**
 * The delivery of a job whose earlier send may have reached the chat: the user is asked, with a «Send again»
 * button, and the claim is parked for the window (the file stays). If the marker turned up meanwhile, that record.
 */
function askAboutUncertainDelivery(o: ProcessorOptions, claims: DeliveryClaims, data: JobData, jobId: string, windowSec: number): AskUser {
  return async (claim, bytes, log) => {
    const delivered = await claims.park(claim);
    if (delivered) return delivered;
    if (!o.notifyUncertain) throw new PipelineError('misconfigured', 'a delivery is uncertain and there is no Telegram to ask the user', false);
    const messageId = await o.notifyUncertain(data, jobId);
    log.warn(
      { claim: readableClaim(claim), messageId, keptForSec: windowSec },
      'delivery uncertain: a send of the result may have reached the chat; asked the user («Send again») instead of sending again',
    );
    return { method: 'sendMessage', messageId, bytes, uncertain: true };
  };
}

function readableClaim(claim: string): unknown {
  try {
    return JSON.parse(claim);
  } catch {
    return claim;
  }
}

/** A job that ends without sending its result now: known to be delivered (files go), or uncertain (files stay). */
async function finishWithoutSending(workDir: string, data: JobData, state: RedisStateStore, delivered: DeliveryRecord): Promise<JobResult> {
  if (!delivered.uncertain) await rm(workDir, { recursive: true, force: true });
  return resultFromState(data, state, delivered);
}

/** The job's result from its stored stages, for a run that did not run them (nothing is resumed or sent). */
async function resultFromState(data: JobData, state: RedisStateStore, delivered: DeliveryRecord): Promise<JobResult> {
  const s = await state.all();
  return {
    v: CONTRACT_VERSION,
    output: data.output,
    delivered,
    // The state outlives the marker in practice (same TTL, written earlier); the fallback only avoids a crash.
    overlay: s.overlay?.record ?? { path: 'cpu', provider: 'cpu', engine: data.options.engine, mode: 'auto', fallbackReason: 'state_expired' },
    timingsMs: {
      ...(s.inputs ? { fetch: s.inputs.ms } : {}),
      ...(s.overlay ? { overlay: s.overlay.ms } : {}),
      ...(s.rendered ? { render: s.rendered.ms } : {}),
      total: 0,
    },
    resumed: data.output === 'video' ? ['fetch', 'overlay', 'render'] : ['fetch', 'overlay'],
    durationSec: s.rendered?.durationSec ?? s.overlay?.durationSec ?? 0,
  };
}
