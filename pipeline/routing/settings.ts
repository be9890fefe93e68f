import { availableParallelism } from 'node:os';
import type { EngineChoice } from '../contract.js';

/**
 * What the auto-mode router needs to know that it cannot measure (or has not measured yet). pipeline/config.ts reads
 * the ROUTING_* / GPU_* variables into this; nothing in pipeline/routing/ reads the environment.
 */
export interface RoutingSettings {
  /** Frames per second of the CPU engine on this host before anything is measured, per engine that runs. */
  cpuFpsSeed: Record<EngineChoice, number>;
  /** Frames per second of a GPU worker's engine before anything is measured, per engine. */
  gpuFpsSeed: Record<EngineChoice, number>;
  /**
   * The fixed part of one overlay run on either path, seconds: processes started, first frames decoded (the GPU:
   * also the submission and polling). Measured CPU speed leaves it out, so short clips do not read as slow.
   */
  jobStartSec: number;
  /** What a cold (scaled-to-zero) GPU host adds before the job starts: image, CUDA init, model load. */
  gpuColdStartSec: number;
  /** A GPU host that answered a health check (status ok) or finished a job within this many seconds is warm. */
  gpuIdleWarmSec: number;
  /** Upload + download bandwidth to the GPU workers, megabits per second. */
  gpuTransferMbps: number;
  /** A `quality` job goes to the CPU only when the GPU estimate is more than this many times the CPU's. */
  qualityGpuFactor: number;
  /** How long a measured fps is kept without a new measurement (Redis TTL). */
  fpsTtlSec: number;
  /** The CPU measurements are shared by the workers of one host class (same cores, same speed). */
  hostClass: string;
}

export const DEFAULT_ROUTING: RoutingSettings = {
  cpuFpsSeed: { fast: 40, quality: 0.4 },
  gpuFpsSeed: { fast: 60, quality: 8 },
  jobStartSec: 2,
  gpuColdStartSec: 45,
  gpuIdleWarmSec: 240,
  gpuTransferMbps: 50,
  qualityGpuFactor: 3,
  fpsTtlSec: 7 * 24 * 3600,
  hostClass: defaultHostClass(),
};

/** `cpu<N>`: workers with the same number of cores are taken to run the CPU engine at the same speed. */
export function defaultHostClass(): string {
  return `cpu${availableParallelism()}`;
}

/** The routing variables of pipeline/config.ts, as the router takes them. */
export interface RoutingConfig {
  ROUTING_CPU_FPS_SEED: number;
  ROUTING_CPU_QUALITY_FPS_SEED: number;
  ROUTING_GPU_FPS_SEED: number;
  ROUTING_GPU_QUALITY_FPS_SEED: number;
  ROUTING_QUALITY_GPU_FACTOR: number;
  ROUTING_FPS_TTL_SEC: number;
  ROUTING_HOST_CLASS?: string;
  ROUTING_JOB_START_SEC: number;
  GPU_COLD_START_SEC: number;
  GPU_IDLE_WARM_SEC: number;
  GPU_TRANSFER_MBPS: number;
}

export function routingSettingsFromConfig(c: RoutingConfig): RoutingSettings {
  return {
    cpuFpsSeed: { fast: c.ROUTING_CPU_FPS_SEED, quality: c.ROUTING_CPU_QUALITY_FPS_SEED },
    gpuFpsSeed: { fast: c.ROUTING_GPU_FPS_SEED, quality: c.ROUTING_GPU_QUALITY_FPS_SEED },
    jobStartSec: c.ROUTING_JOB_START_SEC,
    gpuColdStartSec: c.GPU_COLD_START_SEC,
    gpuIdleWarmSec: c.GPU_IDLE_WARM_SEC,
    gpuTransferMbps: c.GPU_TRANSFER_MBPS,
    qualityGpuFactor: c.ROUTING_QUALITY_GPU_FACTOR,
    fpsTtlSec: c.ROUTING_FPS_TTL_SEC,
    hostClass: c.ROUTING_HOST_CLASS ?? defaultHostClass(),
  };
}
