/** The pipeline-facing GPU worker client: `createGpuWorkerClient`, its error classification and the wire types. */
export {
  createGpuWorkerClient,
  type GpuWorkerClient,
  type GpuWorkerClientOptions,
  type GpuWorkerProgress,
  type GpuWorkerResult,
  type ProcessOptions,
} from './client.js';
export { GpuWorkerError, shouldFallBackToCpu, type GpuWorkerErrorKind, type GpuWorkerErrorDetails } from './errors.js';
export type { HealthBody, JobStatusBody, JobState } from '../server/api.js';
