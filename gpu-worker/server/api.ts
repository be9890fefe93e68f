import type { MediaErrorCode } from '../../common/errors.js';
import type { EngineName, OutputFileName, StageTimings } from '../../engine/index.js';

/**
 * The wire contract of the GPU worker service, shared by the server and the client (types and constants only, so
 * the client does not load the engine). Every JSON answer is one of these shapes.
 */
export const API_PREFIX = '/v1';
/** Options of an uploaded job travel as JSON in this header, since the body is the video itself. */
export const OPTIONS_HEADER = 'x-overlay-options';
/** Alternative to `Authorization: Bearer` for hosts whose gateway uses Authorization itself (RunPod). */
export const TOKEN_HEADER = 'x-gpu-worker-token';

export type JobState = 'queued' | 'running' | 'done' | 'failed' | 'cancelled';

/**
 * Error codes a failed job or a refused request carries besides the engine's MediaError codes.
 * - shutdown: the instance is stopping; the same job may succeed on another instance.
 * - timeout: the job ran past GPU_WORKER_JOB_TIMEOUT_MS.
 * - storage_failed: the worker could not write the upload to its disk (507 when out of space, else 500).
 * - internal: anything else that went wrong on the worker (a bug, a missing model, ffmpeg crashed).
 */
export type WorkerErrorCode =
  | 'unauthorized'
  | 'not_found'
  | 'method_not_allowed'
  | 'bad_options'
  | 'bad_request'
  | 'body_too_large'
  | 'busy'
  | 'shutting_down'
  | 'not_ready'
  | 'range_not_satisfiable'
  | 'input_fetch_failed'
  | 'refused_url'
  | 'storage_failed'
  | 'shutdown'
  | 'timeout'
  | 'cancelled'
  | 'internal';

export interface ApiError {
  code: MediaErrorCode | WorkerErrorCode;
  message: string;
  /** For bad_options: the zod issues (path + message), so the caller sees which field is wrong. */
  issues?: Array<{ path: Array<string | number>; message: string }>;
}

export interface ErrorBody {
  error: ApiError;
}

/** The MediaError codes and their guard live with MediaError (common/errors.ts); re-exported for the client. */
export { MEDIA_ERROR_CODES, isMediaErrorCode } from '../../common/errors.js';

/** POST /v1/jobs → 202 */
export interface SubmitAccepted {
  id: string;
  state: JobState;
  /** Relative URL of the job's status. */
  statusUrl: string;
}

/** JSON body of POST /v1/jobs when the video is fetched by the worker instead of uploaded. */
export interface UrlSubmission {
  input: { url: string };
  options?: unknown;
}

export interface ResultFileInfo {
  name: OutputFileName;
  bytes: number;
  /** Relative URL: GET it (Range supported) to download. */
  url: string;
}

export interface JobTimings {
  /** Receiving the upload (or fetching input.url) to the worker's disk. */
  receiveMs: number;
  /** ffprobe of the input before the job was accepted. */
  probeMs: number;
  /** Waiting in the queue for a free slot. Null while still queued. */
  queuedMs: number | null;
  /** Engine wall time (model load on first use included). Null until the job ends. */
  runMs: number | null;
  /** Mean ms per frame per engine stage (decode, infer, encode…). Null until the job is done. */
  perFrame: StageTimings | null;
}

/** GET /v1/jobs/:id → 200 (and the body of DELETE). */
export interface JobStatusBody {
  id: string;
  state: JobState;
  /** 0..1 */
  progress: number;
  /** Frames per second of the engine so far (final throughput once done). */
  fps: number | null;
  framesDone: number;
  totalFrames: number | null;
  engine: EngineName;
  /** Execution provider that ran (or will run) the model: null until known. */
  provider: 'cuda' | 'cpu' | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  timings: JobTimings;
  result: {
    files: ResultFileInfo[];
    frames: number;
    durationSec: number;
    width: number;
    height: number;
    throughputFps: number;
    personCoverage: number;
  } | null;
  error: ApiError | null;
}

/** GET /health and GET /ping (no auth). */
export interface HealthBody {
  /** ok: ready for jobs; starting: models still loading; draining: shutting down; error: warm-up failed. */
  status: 'ok' | 'starting' | 'draining' | 'error';
  ready: boolean;
  version: string;
  uptimeSec: number;
  /** Provider of the loaded models (cuda when any runs on CUDA); null before any model is loaded. */
  provider: 'cuda' | 'cpu' | null;
  gpuName: string | null;
  providersRequested: string[];
  models: Array<{ engine: EngineName; model?: string; loaded: boolean; provider: 'cuda' | 'cpu' | null }>;
  jobs: { running: number; queued: number; concurrency: number; queueDepth: number };
  /** Why warm-up failed (status error), e.g. a missing model file. */
  error?: string;
}
