import type { EngineChoice, OverlayPath } from '../contract.js';
import type { RoutingSettings } from './settings.js';

/**
 * The auto-mode estimate, as pure arithmetic (router.ts gathers the inputs):
 *
 *   frames  = duration × fps (the rate the engine renders at)
 *   CPU     = (start + frames / cpuFps) × (1 + other CPU overlays running on this worker now: they share its cores)
 *   GPU     = cold start (unless warm) + transfer + (start + run) × (1 + slots ahead)
 *             start = the fixed cost of one run (jobStartSec); run = frames / gpuFps; transfer = (input + result ≈ 2 × input bytes) × 8 / bandwidth;
 *             slots ahead = max(0, busy − concurrency + 1) / concurrency, busy = running + queued on that worker
 *
 * The rule: no usable GPU → CPU; a `fast` job takes the sooner path (a tie goes to the GPU, which frees this
 * worker's cores); a `quality` job takes the GPU unless its estimate is more than `qualityGpuFactor` × the CPU's
 * (the CPU would run the fast model instead — PIPELINE_CPU_QUALITY_ENGINE — or ISNet at ≈ 2 s a frame).
 */
export interface ClipFacts {
  durationSec: number;
  fps: number;
  inputBytes: number;
  /** What the job asked for. */
  engine: EngineChoice;
}

export interface CpuSide {
  /** Measured (or seed) frames per second of the engine the CPU would run. */
  fps: number;
  /** Other CPU overlays running on this worker now. */
  busy: number;
}

export interface GpuSide {
  host: string;
  fps: number;
  /** Jobs running + queued on that worker (its report, or this process' own count when larger). */
  busy: number;
  concurrency: number;
  warm: boolean;
}

export type RouteReason = 'gpu_unavailable' | 'gpu_sooner' | 'cpu_sooner' | 'quality_prefers_gpu' | 'gpu_much_slower';

export interface RouteEstimate {
  path: OverlayPath;
  reason: RouteReason;
  cpuSec: number;
  /** Null when no GPU worker could take the job. */
  gpuSec: number | null;
  gpuHost?: string;
  gpuWarm?: boolean;
}

export function clipFrames(c: Pick<ClipFacts, 'durationSec' | 'fps'>): number {
  return Math.max(1, Math.round(Math.max(0, c.durationSec) * Math.max(1, c.fps)));
}

export function estimateCpuSec(clip: ClipFacts, cpu: CpuSide, s: Pick<RoutingSettings, 'jobStartSec'>): number {
  return (s.jobStartSec + clipFrames(clip) / positive(cpu.fps)) * (1 + Math.max(0, cpu.busy));
}

export function transferSec(inputBytes: number, mbps: number): number {
  return (2 * Math.max(0, inputBytes) * 8) / (positive(mbps) * 1e6);
}

export function estimateGpuSec(clip: ClipFacts, gpu: GpuSide, s: Pick<RoutingSettings, 'gpuColdStartSec' | 'gpuTransferMbps' | 'jobStartSec'>): number {
  const run = s.jobStartSec + clipFrames(clip) / positive(gpu.fps);
  const slots = Math.max(1, gpu.concurrency);
  const ahead = Math.max(0, gpu.busy - slots + 1) / slots;
  return (gpu.warm ? 0 : s.gpuColdStartSec) + transferSec(clip.inputBytes, s.gpuTransferMbps) + run * (1 + ahead);
}

export function chooseRoute(clip: ClipFacts, cpu: CpuSide, gpu: GpuSide | null, s: RoutingSettings): RouteEstimate {
  const cpuSec = round(estimateCpuSec(clip, cpu, s));
  if (!gpu) return { path: 'cpu', reason: 'gpu_unavailable', cpuSec, gpuSec: null };
  const gpuSec = round(estimateGpuSec(clip, gpu, s));
  const where = { cpuSec, gpuSec, gpuHost: gpu.host, gpuWarm: gpu.warm };
  if (clip.engine === 'quality') {
    return gpuSec > s.qualityGpuFactor * cpuSec ? { path: 'cpu', reason: 'gpu_much_slower', ...where } : { path: 'gpu', reason: 'quality_prefers_gpu', ...where };
  }
  return gpuSec <= cpuSec ? { path: 'gpu', reason: 'gpu_sooner', ...where } : { path: 'cpu', reason: 'cpu_sooner', ...where };
}

/** |estimate − actual| / actual, in percent (an actual under 0.1 s counts as 0.1 s). */
export function absPctError(estimateSec: number, actualSec: number): number {
  const actual = Math.max(0.1, actualSec);
  return (Math.abs(estimateSec - actual) / actual) * 100;
}

/**
 * One CPU run as an fps sample: its time per job (a run that shared the cores with `busy` others is divided by
 * 1 + busy) less the fixed start (at least a fifth of the run is taken as frames, so a slow start cannot give a
 * huge fps).
 */
export function cpuFpsSample(frames: number, runSec: number, busyAtStart: number, jobStartSec: number): number {
  const perJob = runSec / (1 + Math.max(0, busyAtStart));
  return frames / Math.max(perJob * 0.2, perJob - jobStartSec, 1e-3);
}

/** A new rolling measurement: an exponential moving average (weight `alpha` for the new sample). */
export function rollFps(previous: number | null, sample: number, alpha = 0.3): number {
  if (previous === null || !Number.isFinite(previous) || previous <= 0) return sample;
  return previous + alpha * (sample - previous);
}

function positive(n: number): number {
  return Number.isFinite(n) && n > 0 ? n : 1e-6;
}

function round(sec: number): number {
  return Math.round(sec * 100) / 100;
}
