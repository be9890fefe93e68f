import { health } from './health.js';
import { runJob } from './run-job.js';
import { createClientContext } from './settings.js';
import type { GpuWorkerClient, GpuWorkerClientOptions } from './types.js';

/**
 * The pipeline's client of the GPU worker, one module per concern: settings.ts (defaults, the one authenticated
 * call, backoff), submit.ts (upload), polling.ts (long-poll until the job ends), download.ts (checked, resumable
 * result downloads), run-job.ts (the whole job within one deadline), health.ts, failures.ts (its own errors).
 */
export type { GpuWorkerClient, GpuWorkerClientOptions, GpuWorkerProgress, GpuWorkerResult, ProcessOptions } from './types.js';

export function createGpuWorkerClient(o: GpuWorkerClientOptions): GpuWorkerClient {
  const ctx = createClientContext(o);
  return {
    process: (inputPath, options, opts) => runJob(ctx, inputPath, options, opts),
    health: (opts) => health(ctx, opts),
  };
}
