import { mkdir, rm } from 'node:fs/promises';
import { CancelledError, TimeoutError } from '../../common/errors.js';
import type { Logger } from '../../common/logger.js';
import { shouldFallBackToCpu, GpuWorkerError, type GpuWorkerClient } from '../../gpu-worker/client/index.js';
import type { MediaInfo } from '../../common/ffmpeg.js';
import type { OverlayOptionsInput, OverlayResult, RenderHooks, OverlayOptions, RenderInput } from '../../engine/index.js';
import type { ProcessingMode } from '../config.js';
import type { EngineChoice, OverlayRecord } from '../contract.js';
import { PipelineError } from '../failures.js';
import type { RouteEstimate } from '../routing/estimate.js';
import { clipFrames, type Router, type RoutingRecord } from '../routing/router.js';

/**
 * The overlay stage's one decision: where the bubble is made.
 *   cpu  → the engine in this process;
 *   gpu  → the GPU worker only (its failure fails the attempt; BullMQ retries the job with backoff);
 *   auto → the GPU worker first, the CPU engine when the GPU client gives up (`shouldFallBackToCpu`: down, 5xx,
 *          hanging past its deadline, auth/config trouble); a refused *input* is not retried on the CPU, the CPU
 *          would refuse it too. A GPU that failed its last health check is skipped at once instead of waited for.
 * With several GPU workers `gpu` is a pool (pipeline/gpu-pool.ts): it fails over between them by itself and only
 * rejects once every worker failed the job, so the decisions above are taken once, on its last failure.
 * With a router (pipeline/routing/), auto mode first estimates when each path would finish and sends the job to the
 * sooner one (a quality job to the GPU unless it is much later); the fallbacks above stay as they are.
 * The record says which path ran and why, for the job result, the logs and the admins' counters.
 */
export interface CpuEngine {
  renderOverlay(input: RenderInput, outDir: string, options: OverlayOptions, hooks?: RenderHooks): Promise<OverlayResult>;
  parseOverlayOptions(input: unknown): OverlayOptions;
}

/** Loads the engine (onnxruntime, models) only when the CPU path is really taken. */
export async function loadCpuEngine(): Promise<CpuEngine> {
  const engine = await import('../../engine/index.js');
  return { renderOverlay: engine.renderOverlay, parseOverlayOptions: engine.parseOverlayOptions };
}

export interface OverlayRequest {
  input: string;
  /** The media gate's probe of `input` (the fetch stage's): the CPU engine skips its own. */
  probe?: MediaInfo;
  /** The head video's probed length: sets the CPU engine's deadline and, with the frame rate, the route estimate. */
  durationSec?: number;
  /** The head video's probed frame rate (the engine keeps it unless the options set `fps`). */
  fps?: number;
  /** The head video's size: what a GPU worker has to upload (the route estimate). */
  inputBytes?: number;
  outDir: string;
  options: OverlayOptionsInput;
  engine: EngineChoice;
  onProgress(fraction: number): void;
  signal: AbortSignal;
  log: Logger;
}

export interface OverlayOutcome {
  files: Record<string, string>;
  record: OverlayRecord;
  durationSec: number;
  width: number;
  height: number;
  /** Auto mode with a router: the estimate of both paths, the path chosen, and what the path that ran took. */
  routing?: RoutingRecord;
}

export interface OverlayProducerOptions {
  /** The mode in effect now (env or admin override). */
  mode(): Promise<ProcessingMode>;
  gpu: GpuWorkerClient | null;
  /** False when the last health check failed (then auto mode skips the GPU); null when unknown. */
  gpuHealthy?(): boolean | null;
  cpu?: () => Promise<CpuEngine>;
  /** The engine the CPU runs for `quality` jobs (PIPELINE_CPU_QUALITY_ENGINE; default fast). */
  cpuQualityEngine?: EngineChoice;
  /** How long the CPU engine may run on a video (default cpuDeadlineMs). */
  cpuDeadline?: (durationSec: number, engine: EngineChoice) => number;
  /** Auto mode routes each job where it should finish first (pipeline/routing/); without one: GPU first, as before. */
  router?: Router;
}

export type OverlayProducer = (req: OverlayRequest) => Promise<OverlayOutcome>;

/** An outcome plus how long the path that made it ran (s), before the stage strips it. */
type Ran = OverlayOutcome & { runSec: number };

interface Paths {
  cpu(req: OverlayRequest, mode: ProcessingMode, fallbackReason: string | null, tried?: GpuTried): Promise<Ran>;
  gpu(req: OverlayRequest, mode: ProcessingMode, gpu: GpuWorkerClient): Promise<Ran>;
}

export function createOverlayProducer(o: OverlayProducerOptions): OverlayProducer {
  let cpuEngine: Promise<CpuEngine> | null = null;
  const getCpu = () => (cpuEngine ??= (o.cpu ?? loadCpuEngine)());
  const paths: Paths = {
    cpu: (req, mode, fallbackReason, tried) => runCpu(o, getCpu, req, { mode, fallbackReason, tried }),
    gpu: (req, mode, gpu) => runGpu(o.router, req, mode, gpu),
  };
  return async (req) => {
    const mode = await o.mode();
    if (mode === 'cpu') return withoutRunSec(await paths.cpu(req, mode, null));
    if (mode === 'gpu') {
      if (!o.gpu) throw new PipelineError('misconfigured', 'PROCESSING_MODE is gpu but GPU_WORKER_URL/GPU_WORKER_TOKEN are not set', false);
      try {
        return withoutRunSec(await paths.gpu(req, mode, o.gpu));
      } catch (e) {
        throw asGpuOnlyFailure(e, req.signal);
      }
    }
    return runAuto(o, paths, req);
  };
}

/**
 * auto: no GPU configured, or none healthy → the CPU, as before. Otherwise the router's estimate decides (none:
 * the GPU first); a GPU that fails falls back to the CPU exactly as without a router (fallBack). The estimate and
 * what really ran are recorded in the outcome's `routing` and counted for /stats.
 */
async function runAuto(o: OverlayProducerOptions, paths: Paths, req: OverlayRequest): Promise<OverlayOutcome> {
  const mode: ProcessingMode = 'auto';
  const unhealthy = o.gpu !== null && o.gpuHealthy?.() === false;
  const plan = await planRoute(o, req, !o.gpu || unhealthy);
  const settle = (ran: Ran) => settleRoute(o.router, plan, ran, req.log);
  if (!o.gpu) return settle(await paths.cpu(req, mode, 'gpu_not_configured'));
  if (unhealthy) {
    req.log.warn('gpu worker failed its last health check; using the CPU engine');
    return settle(await paths.cpu(req, mode, 'unhealthy:last_health_check_failed'));
  }
  if (plan?.path === 'cpu') {
    req.log.info({ routing: plan }, 'the CPU should finish this overlay first; not using the GPU');
    return settle(await paths.cpu(req, mode, `routed:${plan.reason}`));
  }
  try {
    return settle(await paths.gpu(req, mode, o.gpu));
  } catch (e) {
    return settle(await fallBack(e, req, (reason, tried) => paths.cpu(req, mode, reason, tried)));
  }
}

/** A failed GPU attempt in auto mode: the CPU with the reason, or the failure itself when the CPU would not help. */
async function fallBack(e: unknown, req: OverlayRequest, cpu: (reason: string, tried?: GpuTried) => Promise<Ran>): Promise<Ran> {
  if (req.signal.aborted) throw e;
  if (!shouldFallBackToCpu(e)) {
    const media = e instanceof GpuWorkerError ? e.toMediaError() : null;
    throw media ?? e;
  }
  const err = e as GpuWorkerError;
  if (ranOutOfTimeOnGpu(err)) {
    // The GPU worked on this video until its limit: the CPU, ~10× slower, would only burn an hour on it.
    throw new PipelineError('gpu_unavailable', `the GPU worker ran past its time on this video (${err.reason}); not retried on the CPU`, false, { cause: err });
  }
  const reason = `${err.kind}:${err.reason}`;
  req.log.warn({ reason, status: err.details.status, tried: err.details.tried }, `gpu worker failed (${err.message}); falling back to the CPU engine`);
  return cpu(reason, err.details.tried);
}

/** The router's estimate; a failure to estimate (Redis down) is logged and the job goes the old way (GPU first). */
async function planRoute(o: OverlayProducerOptions, req: OverlayRequest, noGpu: boolean): Promise<RouteEstimate | null> {
  if (!o.router) return null;
  const query = {
    durationSec: req.durationSec ?? 0,
    fps: frameRateOf(req),
    inputBytes: req.inputBytes ?? 0,
    engine: req.engine,
    cpuEngine: cpuEngineFor(o, req.engine),
  };
  return o.router.plan(query, { noGpu }).catch((e: unknown) => {
    req.log.warn({ err: (e as Error).message }, 'no route estimate; the GPU goes first');
    return null;
  });
}

async function settleRoute(router: Router | undefined, plan: RouteEstimate | null, ran: Ran, log: Logger): Promise<OverlayOutcome> {
  const out = withoutRunSec(ran);
  if (!router || !plan) return out;
  const routing = await router.settle(plan, ran.record.path, ran.runSec).catch((e: unknown) => {
    log.warn({ err: (e as Error).message }, 'route estimate error not recorded');
    return null;
  });
  if (routing) log.info({ routing }, 'overlay route: estimate and actual');
  return routing ? { ...out, routing } : out;
}

function withoutRunSec(ran: Ran): OverlayOutcome {
  const { runSec: _runSec, ...out } = ran;
  return out;
}

const cpuEngineFor = (o: Pick<OverlayProducerOptions, 'cpuQualityEngine'>, engine: EngineChoice): EngineChoice =>
  engine === 'quality' ? (o.cpuQualityEngine ?? 'fast') : engine;

/** The rate the engine renders at: the options' fps, else the input's own (probed), else 25. */
function frameRateOf(req: OverlayRequest): number {
  const asked = Number((req.options as { fps?: number }).fps ?? 0);
  return asked > 0 ? asked : req.fps && req.fps > 0 ? req.fps : 25;
}

interface CpuRun {
  mode: ProcessingMode;
  fallbackReason: string | null;
  tried?: GpuTried;
}

async function runCpu(o: OverlayProducerOptions, getCpu: () => Promise<CpuEngine>, req: OverlayRequest, run: CpuRun): Promise<Ran> {
  const ran = cpuEngineFor(o, req.engine);
  const deadlineMs = (o.cpuDeadline ?? cpuDeadlineMs)(req.durationSec ?? 0, ran);
  const deadline = AbortSignal.timeout(deadlineMs);
  const busyAtStart = o.router?.cpuBusy() ?? 0;
  const leave = o.router?.cpuStarted();
  try {
    const engine = await getCpu(); // loaded once per process: not part of a run's time
    const t0 = performance.now();
    const out = await runCpuEngine(engine, { ...req, signal: AbortSignal.any([req.signal, deadline]) }, run, ran);
    const runSec = (performance.now() - t0) / 1000;
    const frames = clipFrames({ durationSec: out.durationSec, fps: frameRateOf(req) });
    await o.router?.cpuMeasured(ran, frames, runSec, busyAtStart).catch((e: unknown) => req.log.warn({ err: (e as Error).message }, 'cpu fps not recorded'));
    const record = run.tried?.length ? { ...out.record, ...gpuWhere(undefined, run.tried) } : out.record;
    return { ...out, record, runSec };
  } catch (e) {
    if (deadline.aborted && !req.signal.aborted) {
      throw new TimeoutError(`the CPU engine ran past its deadline of ${deadlineMs} ms for a ${req.durationSec ?? '?'} s video`, deadlineMs);
    }
    throw e;
  } finally {
    leave?.();
  }
}

async function runCpuEngine(engine: CpuEngine, req: OverlayRequest, run: CpuRun, ran: EngineChoice): Promise<OverlayOutcome> {
  // Whatever a failed GPU attempt left behind must not be mistaken for CPU output.
  await rm(req.outDir, { recursive: true, force: true });
  await mkdir(req.outDir, { recursive: true });
  // ISNet on a CPU is ~2 s per frame: unless the operator allows it, the fast model stands in and the record says so.
  if (ran !== req.engine) req.log.warn({ requested: req.engine, ran }, 'quality engine asked for on the CPU; running the fast engine');
  const result = await engine.renderOverlay(req.probe?.path === req.input ? req.probe : req.input, req.outDir, engine.parseOverlayOptions({ ...req.options, engine: ran }), {
    signal: req.signal,
    logger: req.log,
    onProgress: (p) => req.onProgress(p.fraction),
  });
  return {
    files: definedFiles(result.files),
    record: {
      path: 'cpu',
      provider: result.provider,
      engine: ran,
      ...(ran !== req.engine ? { requestedEngine: req.engine } : {}),
      mode: run.mode,
      fallbackReason: run.fallbackReason,
    },
    durationSec: result.durationSec,
    width: result.width,
    height: result.height,
  };
}

async function runGpu(router: Router | undefined, req: OverlayRequest, mode: ProcessingMode, gpu: GpuWorkerClient): Promise<Ran> {
  await mkdir(req.outDir, { recursive: true });
  const t0 = performance.now();
  const r = await gpu.process(req.input, req.options, {
    outDir: req.outDir,
    signal: req.signal,
    onProgress: (p) => req.onProgress(p.progress),
  });
  const runSec = (performance.now() - t0) / 1000;
  req.log.info({ gpuWorker: r.host, provider: r.provider, failedOver: r.failedOver?.length ? r.failedOver : undefined }, 'overlay made on a gpu worker');
  const workerRunSec = typeof r.timings?.runMs === 'number' ? r.timings.runMs / 1000 : null;
  await router
    ?.gpuMeasured(r.host, req.engine, r.frames, workerRunSec, r.fps)
    .catch((e: unknown) => req.log.warn({ err: (e as Error).message }, 'gpu fps not recorded'));
  return {
    files: definedFiles(r.files),
    record: { path: 'gpu', provider: r.provider, engine: req.engine, mode, fallbackReason: null, ...gpuWhere(r.host, r.failedOver) },
    durationSec: r.durationSec,
    width: r.width,
    height: r.height,
    runSec,
  };
}

type GpuTried = Array<{ host: string; reason: string }>;

/** Where the GPU part ran (host only) and which workers failed the job first, for the record; nothing when unknown. */
function gpuWhere(host: string | undefined, failedOver: GpuTried | undefined): Pick<OverlayRecord, 'gpuHost' | 'gpuFailedOver'> {
  return {
    ...(host ? { gpuHost: host } : {}),
    ...(failedOver?.length ? { gpuFailedOver: failedOver.map((f) => `${f.host}: ${f.reason}`) } : {}),
  };
}

/**
 * The GPU worker's own job timeout, or the client's deadline after the worker had started on the video: the video
 * took the GPU too long, not a dead GPU. A deadline spent on the upload and the worker's queue (found under load: a
 * 17 s upload, then a queue) says nothing about the video, so that job still goes to the CPU.
 */
function ranOutOfTimeOnGpu(e: GpuWorkerError): boolean {
  return e.details.code === 'timeout' || (e.reason === 'deadline' && e.details.ranOnWorker !== false);
}

/** Fixed start-up allowance plus real-time factors, measured on 2 cores: fast ≈ 1× real time, ISNet ≈ 70×. */
const CPU_DEADLINE_BASE_MS = 120_000;
const CPU_MS_PER_VIDEO_SECOND: Record<EngineChoice, number> = { fast: 10_000, quality: 150_000 };

/** How long the CPU engine may run on a video before the attempt fails (a runaway decode cannot hold a worker). */
export function cpuDeadlineMs(durationSec: number, engine: EngineChoice): number {
  return CPU_DEADLINE_BASE_MS + Math.ceil(Math.max(durationSec, 1) * CPU_MS_PER_VIDEO_SECOND[engine]);
}

function asGpuOnlyFailure(e: unknown, signal: AbortSignal): unknown {
  if (signal.aborted || e instanceof CancelledError) return e;
  if (e instanceof GpuWorkerError) {
    const media = e.toMediaError();
    if (media) return media;
    // Auth/bad request will not heal by retrying; unavailable might (a cold start, a busy GPU).
    return new PipelineError(
      e.kind === 'unavailable' ? 'gpu_unavailable' : 'misconfigured',
      `PROCESSING_MODE=gpu and the GPU worker failed: ${e.kind}:${e.reason}: ${e.message}`,
      e.kind === 'unavailable',
      { cause: e },
    );
  }
  return e;
}

function definedFiles(files: Partial<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(Object.entries(files).filter((kv): kv is [string, string] => typeof kv[1] === 'string'));
}
