import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { hostname } from 'node:os';
import { Worker } from 'bullmq';
import type { Api } from 'grammy';
import { logger as rootLogger, type Logger } from '../../common/logger.js';
import type { Metrics } from '../../common/metrics/metrics.js';
import type { GpuWorkerClient } from '../../gpu-worker/client/index.js';
import type { ProcessingMode } from '../config.js';
import { createRenderQueue, RENDER_QUEUE, type EngineChoice, type InputRef, type JobData, type JobResult, type RenderQueue } from '../contract.js';
import { PipelineError, STALLED_LIMIT_REASON } from '../failures.js';
import { isGpuPool } from '../gpu-pool.js';
import { redisFpsStore } from '../routing/fps-store.js';
import { createRouter, type Router } from '../routing/router.js';
import type { RoutingSettings } from '../routing/settings.js';
import { removeHeartbeat, writeHeartbeat } from '../heartbeat.js';
import { getEffectiveMode } from '../mode.js';
import { createRedis, type PipelineRedis } from '../redis.js';
import { createTelegramDelivery } from '../stages/deliver.js';
import type { RenderSettings } from '../stages/layout.js';
import { createOverlayProducer, type CpuEngine } from '../stages/overlay.js';
import type { Renderer } from '../stages/render.js';
import type { PipelineDeps } from '../run-pipeline.js';
import { downloadTelegramInput } from '../stages/telegram-input.js';
import { GpuHealthMonitor } from './gpu-health.js';
import { resendWindowFor } from './delivery-claim.js';
import { createProcessor, finishStalledOut, SHUTDOWN, type ActiveJob, type ProcessorOptions } from './processor.js';
import { createUncertainNotice } from './uncertain-notice.js';
import { startWorkSweep } from './work-sweep.js';

/**
 * The pipeline worker: a BullMQ Worker on the render queue plus what runs beside it — GPU health checks, the
 * admins' heartbeat, a sweep of work folders left by crashed runs, and a graceful shutdown that gives running jobs
 * a grace period and then hands them back to the queue (they resume from their stored stages elsewhere).
 */
export interface TelegramSettings {
  api: Api;
  token: string;
  apiRoot: string;
  downloadLimitBytes: number;
  uploadLimitBytes: number;
  downloadTimeoutMs: number;
}

export interface PipelineWorkerOptions {
  redisUrl: string;
  prefix: string;
  workDir: string;
  concurrency: number;
  /** Cap across all workers (0 = none). */
  globalConcurrency?: number;
  envMode: ProcessingMode;
  gpu: GpuWorkerClient | null;
  /** Host of the GPU worker, for the heartbeat (no credentials). */
  gpuHost?: string | null;
  gpuHealthIntervalMs: number;
  cpu?: () => Promise<CpuEngine>;
  /** PIPELINE_CPU_QUALITY_ENGINE: what the CPU runs for `quality` jobs (default fast). */
  cpuQualityEngine?: EngineChoice;
  /** Auto mode routes each job where it should finish first (pipeline/routing/); unset = GPU first, CPU fallback. */
  routing?: RoutingSettings;
  telegram: TelegramSettings | null;
  renderer: Renderer | null;
  settings: RenderSettings;
  allowLocalInputs: boolean;
  lockDurationMs: number;
  stalledIntervalMs: number;
  maxStalledCount: number;
  shutdownGraceMs: number;
  heartbeatIntervalMs: number;
  stateTtlSec: number;
  /** PIPELINE_WORK_SWEEP_INTERVAL_MS: how often WORK_DIR is swept for folders left behind (default 10 min). */
  workSweepIntervalMs?: number;
  /** PIPELINE_WORK_MAX_AGE_SEC: no work folder of a job that is not running outlives this (default 2 days). */
  workMaxAgeSec?: number;
  /** How often a running job checks for a cancel request (default 2 s). */
  cancelPollMs?: number;
  /** This process' Prometheus numbers (default none; the entry point passes them when METRICS_PORT is set). */
  metrics?: Metrics;
  logger?: Logger;
}

export interface PipelineWorker {
  workerId: string;
  worker: Worker<JobData, JobResult, 'render'>;
  queue: RenderQueue;
  activeJobs(): string[];
  /** Graceful: stop taking jobs, give running ones `shutdownGraceMs`, hand the rest back, close connections. */
  close(): Promise<void>;
}

export async function startPipelineWorker(o: PipelineWorkerOptions): Promise<PipelineWorker> {
  const workerId = `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  const log = (o.logger ?? rootLogger).child({ component: 'pipeline-worker', workerId });
  const redis = createRedis(o.redisUrl, { connectionName: `bubblecast-pipeline-${workerId}` });
  const workerConnection = createRedis(o.redisUrl, { connectionName: `bubblecast-worker-${workerId}` });
  redis.on('error', (e) => log.warn({ err: e.message }, 'redis error'));
  workerConnection.on('error', (e) => log.warn({ err: e.message }, 'redis error (worker connection)'));
  const r: PipelineRedis = { redis, prefix: o.prefix };
  const queue = createRenderQueue(redis, o.prefix);
  queue.on('error', (e) => log.warn({ err: e.message }, 'queue error'));
  await mkdir(o.workDir, { recursive: true });

  const gpuHealth = new GpuHealthMonitor(o.gpu, o.gpuHost ?? null, o.gpuHealthIntervalMs, log);
  gpuHealth.start();
  const active = new Map<string, ActiveJob>();
  const processorOptions = processorOptionsFor(o, r, gpuHealth, workerId, log);
  const processor = createProcessor(processorOptions, active);

  if (o.globalConcurrency && o.globalConcurrency > 0) await queue.setGlobalConcurrency(o.globalConcurrency);
  const worker = startBullWorker(o, workerConnection, processor, processorOptions, workerId, log);

  let shuttingDown = false;
  const heartbeat = startHeartbeat(o, r, { workerId, active, gpuHealth, shuttingDown: () => shuttingDown }, log);
  // At start, then periodically (work-sweep.ts): folders of crashed runs, and of closed «Send again» windows.
  const sweep = startWorkSweep({
    workDir: o.workDir,
    queue,
    r,
    maxAgeMs: (o.workMaxAgeSec ?? DEFAULT_WORK_MAX_AGE_SEC) * 1000,
    runningHere: () => active.keys(),
    intervalMs: o.workSweepIntervalMs ?? DEFAULT_WORK_SWEEP_INTERVAL_MS,
    log,
  });
  log.info(
    { concurrency: o.concurrency, mode: o.envMode, gpu: o.gpuHost ?? null, renderer: o.renderer ? (o.renderer.isLocal ? 'local' : 'shotstack') : null },
    'pipeline worker started',
  );

  let closing: Promise<void> | null = null;
  return {
    workerId,
    worker,
    queue,
    activeJobs: () => [...active.keys()],
    close() {
      closing ??= (async () => {
        shuttingDown = true;
        log.info({ active: [...active.keys()], graceMs: o.shutdownGraceMs }, 'pipeline worker stopping');
        await closeWithGrace(worker, active, o.shutdownGraceMs, log);
        heartbeat.stop();
        sweep.stop();
        await sweep.running();
        gpuHealth.stop();
        await removeHeartbeat(r, workerId).catch(() => undefined);
        await queue.close();
        await Promise.allSettled([redis.quit(), workerConnection.quit()]);
        log.info('pipeline worker stopped');
      })();
      return closing;
    },
  };
}

/** Telegram file ids are downloaded; local paths (the render CLI, tests) only where PIPELINE_ALLOW_LOCAL_INPUTS allows. */
function inputResolver(o: PipelineWorkerOptions): PipelineDeps['resolveInput'] {
  return async (ref: InputRef, dest: string, ctx: { signal: AbortSignal; log: Logger }) => {
    if (ref.source === 'local') {
      if (!o.allowLocalInputs) throw new PipelineError('misconfigured', 'local inputs are refused (PIPELINE_ALLOW_LOCAL_INPUTS is off)', false);
      return ref.path;
    }
    if (!o.telegram) throw new PipelineError('misconfigured', 'BOT_TOKEN is not set: cannot fetch Telegram files', false);
    const t = o.telegram;
    await downloadTelegramInput(
      { api: t.api, token: t.token, apiRoot: t.apiRoot, downloadLimitBytes: t.downloadLimitBytes, maxBytes: o.settings.maxInputBytes, timeoutMs: t.downloadTimeoutMs },
      ref,
      dest,
      ctx,
    );
    return dest;
  };
}

/** Without a bot token the worker still starts (local renders); only a job that needs Telegram fails, as misconfigured. */
function processorOptionsFor(o: PipelineWorkerOptions, r: PipelineRedis, gpuHealth: GpuHealthMonitor, workerId: string, log: Logger): ProcessorOptions {
  const delivery = o.telegram ? createTelegramDelivery({ api: o.telegram.api, uploadLimitBytes: o.telegram.uploadLimitBytes }) : null;
  return {
    r,
    workRoot: o.workDir,
    deps: {
      resolveInput: inputResolver(o),
      produceOverlay: createOverlayProducer({
        mode: async () => (await getEffectiveMode(r, o.envMode)).mode,
        gpu: o.gpu,
        gpuHealthy: () => gpuHealth.healthy(),
        cpu: o.cpu,
        cpuQualityEngine: o.cpuQualityEngine,
        router: o.routing ? routerFor(o.routing, r, o.gpu) : undefined,
      }),
      renderer: o.renderer,
      settings: o.settings,
    },
    deliver: async (d, data, ctx) => {
      if (!delivery) throw new PipelineError('misconfigured', 'BOT_TOKEN is not set: cannot deliver to Telegram', false);
      return delivery.deliver(d, data, ctx);
    },
    notifyFailure: delivery ? (data, failure, l) => delivery.notifyFailure(data, failure, l) : undefined,
    notifyUncertain: o.telegram ? createUncertainNotice(o.telegram.api, resendWindowFor(o.stateTtlSec)) : undefined,
    workerId,
    stateTtlSec: o.stateTtlSec,
    cancelPollMs: o.cancelPollMs,
    metrics: o.metrics,
    logger: log,
  };
}

function startBullWorker(
  o: PipelineWorkerOptions,
  connection: PipelineRedis['redis'],
  processor: ReturnType<typeof createProcessor>,
  processorOptions: ProcessorOptions,
  workerId: string,
  log: Logger,
): Worker<JobData, JobResult, 'render'> {
  const worker = new Worker<JobData, JobResult, 'render'>(RENDER_QUEUE, processor, {
    connection,
    prefix: o.prefix,
    concurrency: o.concurrency,
    lockDuration: o.lockDurationMs,
    stalledInterval: o.stalledIntervalMs,
    maxStalledCount: o.maxStalledCount,
    name: workerId,
  });
  worker.on('error', (e) => log.error({ err: e.message }, 'worker error'));
  worker.on('stalled', (jobId) => log.warn({ jobId, maxStalledCount: o.maxStalledCount }, 'job stalled (its worker died?); it goes back to the queue'));
  // Past maxStalledCount, BullMQ fails the job without running the processor: tell the user and clean up here.
  worker.on('failed', (job, err) => {
    if (!job?.id || err.message !== STALLED_LIMIT_REASON) return;
    finishStalledOut(processorOptions, job).catch((e: unknown) =>
      log.error({ jobId: job.id, err: (e as Error).message }, 'could not finish a stalled-out job'),
    );
  });
  return worker;
}

/** The admins' view of this worker (/workers); it expires by itself (3 intervals) if the process dies. */
function startHeartbeat(
  o: PipelineWorkerOptions,
  r: PipelineRedis,
  w: { workerId: string; active: Map<string, ActiveJob>; gpuHealth: GpuHealthMonitor; shuttingDown(): boolean },
  log: Logger,
): { stop(): void } {
  const startedAt = new Date().toISOString();
  const beat = async () => {
    try {
      const mode = await getEffectiveMode(r, o.envMode);
      await writeHeartbeat(
        r,
        {
          workerId: w.workerId,
          hostname: hostname(),
          pid: process.pid,
          startedAt,
          at: new Date().toISOString(),
          mode: { effective: mode.mode, source: mode.source, env: o.envMode },
          concurrency: o.concurrency,
          activeJobs: [...w.active.keys()],
          shuttingDown: w.shuttingDown(),
          gpu: w.gpuHealth.current(),
        },
        o.heartbeatIntervalMs * 3,
      );
    } catch (e) {
      log.warn({ err: (e as Error).message }, 'heartbeat not written');
    }
  };
  void beat();
  const heartbeatTimer = setInterval(() => void beat(), o.heartbeatIntervalMs);
  heartbeatTimer.unref();
  return { stop: () => clearInterval(heartbeatTimer) };
}

/** Stops taking jobs; the running ones get the grace period, then are aborted with SHUTDOWN (handed back, not failed). */
async function closeWithGrace(worker: Worker<JobData, JobResult, 'render'>, active: Map<string, ActiveJob>, graceMs: number, log: Logger): Promise<void> {
  const closed = worker.close();
  const grace = setTimeout(() => {
    for (const [jobId, a] of active) {
      log.warn({ jobId }, 'grace period over; handing the job back');
      a.controller.abort(SHUTDOWN);
    }
  }, graceMs);
  await closed;
  clearTimeout(grace);
}

/** Measurements and estimate errors in Redis (shared by the workers); the GPU side as the pool sees it. */
function routerFor(settings: RoutingSettings, r: PipelineRedis, gpu: GpuWorkerClient | null): Router {
  return createRouter({
    settings,
    fps: redisFpsStore(r, settings.fpsTtlSec),
    errors: r,
    gpuStates: () => (isGpuPool(gpu) ? gpu.states() : null),
  });
}

// The defaults of PIPELINE_WORK_SWEEP_INTERVAL_MS and PIPELINE_WORK_MAX_AGE_SEC, for callers without a config.
const DEFAULT_WORK_SWEEP_INTERVAL_MS = 10 * 60_000;
const DEFAULT_WORK_MAX_AGE_SEC = 2 * 24 * 3600;
