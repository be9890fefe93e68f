import { mkdir, rm } from 'node:fs/promises';
import { CancelledError, TimeoutError } from '../../common/errors.js';
import type { Logger } from '../../common/logger.js';
import { shouldFallBackToCpu, GpuWorkerError, type GpuWorkerClient } from '../../gpu-worker/client/index.js';
import type { OverlayOptionsInput, OverlayResult, RenderHooks, OverlayOptions } from '../../engine/index.js';
import type { ProcessingMode } from '../config.js';
import type { EngineChoice, OverlayRecord } from '../contract.js';
import { PipelineError } from '../failures.js';

/**
 * The overlay stage's one decision: where the bubble is made.
 *   cpu  → the engine in this process;
 *   gpu  → the GPU worker only (its failure fails the attempt; BullMQ retries the job with backoff);
 *   auto → the GPU worker first, the CPU engine when the GPU client gives up (`shouldFallBackToCpu`: down, 5xx,
 *          hanging past its deadline, auth/config trouble); a refused *input* is not retried on the CPU, the CPU
 *          would refuse it too. A GPU that failed its last health check is skipped at once instead of waited for.
 * With several GPU workers `gpu` is a pool (pipeline/gpu-pool.ts): it fails over between them by itself and only
 * rejects once every worker failed the job, so the decisions above are taken once, on its last failure.
 * The record says which path ran and why, for the job result, the logs and the admins' counters.
 */
export interface CpuEngine {
  renderOverlay(inputPath: string, outDir: string, options: OverlayOptions, hooks?: RenderHooks): Promise<OverlayResult>;
  parseOverlayOptions(input: unknown): OverlayOptions;
}

/** Loads the engine (onnxruntime, models) only when the CPU path is really taken. */
export async function loadCpuEngine(): Promise<CpuEngine> {
  const engine = await import('../../engine/index.js');
  return { renderOverlay: engine.renderOverlay, parseOverlayOptions: engine.parseOverlayOptions };
}

export interface OverlayRequest {
  input: string;
  /** The head video's probed length: sets the CPU engine's deadline. */
  durationSec?: number;
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
}

export type OverlayProducer = (req: OverlayRequest) => Promise<OverlayOutcome>;

export function createOverlayProducer(o: OverlayProducerOptions): OverlayProducer {
  let cpuEngine: Promise<CpuEngine> | null = null;
  const getCpu = () => (cpuEngine ??= (o.cpu ?? loadCpuEngine)());

  async function runCpu(req: OverlayRequest, mode: ProcessingMode, fallbackReason: string | null, tried?: GpuTried): Promise<OverlayOutcome> {
    const ran: EngineChoice = req.engine === 'quality' ? (o.cpuQualityEngine ?? 'fast') : req.engine;
    const deadlineMs = (o.cpuDeadline ?? cpuDeadlineMs)(req.durationSec ?? 0, ran);
    const deadline = AbortSignal.timeout(deadlineMs);
    try {
      const out = await runCpuEngine({ ...req, signal: AbortSignal.any([req.signal, deadline]) }, mode, fallbackReason, ran);
      return tried?.length ? { ...out, record: { ...out.record, ...gpuWhere(undefined, tried) } } : out;
    } catch (e) {
      if (deadline.aborted && !req.signal.aborted) {
        throw new TimeoutError(`the CPU engine ran past its deadline of ${deadlineMs} ms for a ${req.durationSec ?? '?'} s video`, deadlineMs);
      }
      throw e;
    }
  }

  async function runCpuEngine(req: OverlayRequest, mode: ProcessingMode, fallbackReason: string | null, ran: EngineChoice): Promise<OverlayOutcome> {
    const engine = await getCpu();
    // Whatever a failed GPU attempt left behind must not be mistaken for CPU output.
    await rm(req.outDir, { recursive: true, force: true });
    await mkdir(req.outDir, { recursive: true });
    // ISNet on a CPU is ~2 s per frame: unless the operator allows it, the fast model stands in and the record says so.
    if (ran !== req.engine) req.log.warn({ requested: req.engine, ran }, 'quality engine asked for on the CPU; running the fast engine');
    const result = await engine.renderOverlay(req.input, req.outDir, engine.parseOverlayOptions({ ...req.options, engine: ran }), {
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
        mode,
        fallbackReason,
      },
      durationSec: result.durationSec,
      width: result.width,
      height: result.height,
    };
  }

  async function runGpu(req: OverlayRequest, mode: ProcessingMode, gpu: GpuWorkerClient): Promise<OverlayOutcome> {
    await mkdir(req.outDir, { recursive: true });
    const r = await gpu.process(req.input, req.options, {
      outDir: req.outDir,
      signal: req.signal,
      onProgress: (p) => req.onProgress(p.progress),
    });
    req.log.info({ gpuWorker: r.host, provider: r.provider, failedOver: r.failedOver?.length ? r.failedOver : undefined }, 'overlay made on a gpu worker');
    return {
      files: definedFiles(r.files),
      record: { path: 'gpu', provider: r.provider, engine: req.engine, mode, fallbackReason: null, ...gpuWhere(r.host, r.failedOver) },
      durationSec: r.durationSec,
      width: r.width,
      height: r.height,
    };
  }

  return async (req) => {
    const mode = await o.mode();
    if (mode === 'cpu') return runCpu(req, mode, null);
    if (mode === 'gpu') {
      if (!o.gpu) throw new PipelineError('misconfigured', 'PROCESSING_MODE is gpu but GPU_WORKER_URL/GPU_WORKER_TOKEN are not set', false);
      try {
        return await runGpu(req, mode, o.gpu);
      } catch (e) {
        throw asGpuOnlyFailure(e, req.signal);
      }
    }
    // auto
    if (!o.gpu) return runCpu(req, mode, 'gpu_not_configured');
    if (o.gpuHealthy?.() === false) {
      req.log.warn('gpu worker failed its last health check; using the CPU engine');
      return runCpu(req, mode, 'unhealthy:last_health_check_failed');
    }
    try {
      return await runGpu(req, mode, o.gpu);
    } catch (e) {
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
      return runCpu(req, mode, reason, err.details.tried);
    }
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

/** The GPU worker's own job timeout, or the client's deadline: the video took the GPU too long, not a dead GPU. */
function ranOutOfTimeOnGpu(e: GpuWorkerError): boolean {
  return e.details.code === 'timeout' || e.reason === 'deadline';
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
