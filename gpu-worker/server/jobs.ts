import { rm, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { isMediaError } from '../../common/errors.js';
import type { Logger } from '../../common/logger.js';
import type { MediaInfo } from '../../common/ffmpeg.js';
import type { OverlayOptions, OverlayResult, RenderHooks, EngineName, OutputFileName, RenderInput } from '../../engine/index.js';
import { API_PREFIX, type ApiError, type JobState, type JobStatusBody, type ResultFileInfo } from './api.js';

/**
 * The in-memory job table and its scheduler: a FIFO queue in front of `concurrency` engine runs, per-job
 * timeout, cancellation, TTL expiry of results, and draining on shutdown. State lives in this process only —
 * a restarted instance knows no job ids (GET → 404), which the client treats as "resubmit once".
 */
export type RenderFn = (
  input: RenderInput,
  outDir: string,
  options: OverlayOptions,
  hooks: RenderHooks,
) => Promise<OverlayResult>;

export interface SchedulerSettings {
  concurrency: number;
  queueDepth: number;
  jobTimeoutMs: number;
  resultTtlMs: number;
  render: RenderFn;
  /** The provider the engine's model runs on, once loaded (shown in the status while a job runs). */
  providerOf: (engine: EngineName) => Promise<'cuda' | 'cpu' | null>;
  logger: (jobId: string) => Logger;
}

export interface NewJob {
  id: string;
  /** The job's own folder: holds `inputPath` and `outDir`; removed when the job ends without results or expires. */
  dir: string;
  inputPath: string;
  /** The upload's probe under the job's limits (routes.ts), handed to the engine so it does not probe again. */
  probe: MediaInfo;
  options: OverlayOptions;
  receiveMs: number;
  probeMs: number;
}

type StopReason = 'cancel' | 'timeout' | 'shutdown';

interface Job extends NewJob {
  outDir: string;
  state: JobState;
  createdAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  progress: number;
  fps: number | null;
  framesDone: number;
  totalFrames: number | null;
  provider: 'cuda' | 'cpu' | null;
  result: OverlayResult | null;
  files: ResultFileInfo[];
  error: ApiError | null;
  abort: AbortController;
  stop: { reason: StopReason; message: string } | null;
  /** Resolves when a running job has ended and its files are tidied. */
  settled: Promise<void> | null;
  /** Resolves when the job reaches a final state, however it got there (long polls wait on it). */
  ended: Promise<void>;
  markEnded: () => void;
  log: Logger;
}

const DEFAULT_RUN_ESTIMATE_MS = 10_000;

export class JobScheduler {
  private readonly jobs = new Map<string, Job>();
  private queue: Job[] = [];
  private readonly running = new Set<Job>();
  /** Places promised to submissions whose input is still arriving, so parallel uploads cannot overfill. */
  private reserved = 0;
  private accepting = true;
  private drainStartedAt: number | null = null;
  private readonly recentRunMs: number[] = [];
  private readonly sweepTimer: NodeJS.Timeout;

  constructor(private readonly s: SchedulerSettings) {
    this.sweepTimer = setInterval(() => void this.sweepExpired(), Math.min(s.resultTtlMs / 2, 30_000));
    this.sweepTimer.unref();
  }

  get isAccepting(): boolean {
    return this.accepting;
  }

  counts(): { running: number; queued: number } {
    return { running: this.running.size, queued: this.queue.length };
  }

  /** Takes one place in running+queue for a submission in progress; false when the worker is full. */
  tryReserve(): boolean {
    const taken = this.running.size + this.queue.length + this.reserved;
    if (!this.accepting || taken >= this.s.concurrency + this.s.queueDepth) return false;
    this.reserved++;
    return true;
  }

  release(): void {
    this.reserved = Math.max(0, this.reserved - 1);
  }

  /** Seconds until a place is likely to free up: recent mean run time per slot, 1..120. */
  retryAfterSec(): number {
    const mean = this.recentRunMs.length
      ? this.recentRunMs.reduce((a, b) => a + b, 0) / this.recentRunMs.length
      : DEFAULT_RUN_ESTIMATE_MS;
    const waves = Math.ceil((this.running.size + this.queue.length + 1) / this.s.concurrency);
    return Math.min(120, Math.max(1, Math.ceil((mean * waves) / this.s.concurrency / 1000)));
  }

  /** Turns a reservation into a queued job. */
  enqueue(spec: NewJob): JobStatusBody {
    this.release();
    let markEnded!: () => void;
    const ended = new Promise<void>((resolve) => (markEnded = resolve));
    const job: Job = {
      ...spec,
      outDir: join(spec.dir, 'out'),
      state: 'queued',
      createdAt: Date.now(),
      startedAt: null,
      finishedAt: null,
      progress: 0,
      fps: null,
      framesDone: 0,
      totalFrames: null,
      provider: null,
      result: null,
      files: [],
      error: null,
      abort: new AbortController(),
      stop: null,
      settled: null,
      ended,
      markEnded,
      log: this.s.logger(spec.id),
    };
    this.jobs.set(job.id, job);
    this.queue.push(job);
    job.log.info({ options: job.options, receiveMs: spec.receiveMs, probeMs: spec.probeMs }, 'job queued');
    this.pump();
    return this.status(job.id)!;
  }

  status(id: string): JobStatusBody | null {
    const job = this.jobs.get(id);
    return job ? toStatusBody(job) : null;
  }

  /**
   * Long poll: resolves when the job has ended or after `maxMs`, whichever is first. Saves the client a
   * poll interval of latency per job and most of its requests.
   */
  async waitForEnd(id: string, maxMs: number): Promise<void> {
    const job = this.jobs.get(id);
    if (!job || job.finishedAt !== null || maxMs <= 0) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([job.ended, new Promise<void>((resolve) => (timer = setTimeout(resolve, maxMs)))]);
    clearTimeout(timer);
  }

  /** Absolute path of a finished job's result file, or why there is none. */
  resultPath(id: string, name: string): { path: string } | { missing: 'job' | 'not_done' | 'file' } {
    const job = this.jobs.get(id);
    if (!job) return { missing: 'job' };
    if (job.state !== 'done' || !job.result) return { missing: 'not_done' };
    const path = job.result.files[name as OutputFileName];
    return path ? { path } : { missing: 'file' };
  }

  /**
   * DELETE: a queued or running job is cancelled (its record stays, state `cancelled`, until the TTL so pollers
   * see why); an ended job is forgotten. Either way its files are gone when this resolves.
   */
  async cancel(id: string): Promise<JobStatusBody | null> {
    const job = this.jobs.get(id);
    if (!job) return null;
    if (job.state === 'queued') {
      this.queue = this.queue.filter((j) => j !== job);
      await this.endWithoutRunning(job, 'cancelled', { code: 'cancelled', message: 'Cancelled by the client.' });
    } else if (job.state === 'running') {
      this.stopJob(job, 'cancel', 'Cancelled by the client.');
      await job.settled;
    } else {
      this.jobs.delete(id);
      await rm(job.dir, { recursive: true, force: true });
      job.log.info({ state: job.state }, 'job deleted');
    }
    return toStatusBody(job);
  }

  /**
   * Shutdown: refuse new work, fail queued jobs, give running ones `graceMs` to finish, then fail them — each with
   * code `shutdown` and the reason. Then waits (within the same grace) for finished results to be downloaded.
   */
  async drain(reason: string, graceMs: number): Promise<void> {
    const deadline = Date.now() + graceMs;
    this.accepting = false;
    this.drainStartedAt ??= Date.now();
    const message = `The worker is shutting down (${reason}).`;
    const queued = this.queue;
    this.queue = [];
    await Promise.all(queued.map((job) => this.endWithoutRunning(job, 'failed', { code: 'shutdown', message })));
    const runningSettled = () => Promise.all([...this.running].map((j) => j.settled));
    await Promise.race([runningSettled(), sleep(Math.max(0, deadline - Date.now()), undefined, { ref: false })]);
    for (const job of this.running) this.stopJob(job, 'shutdown', message);
    await runningSettled();
    // A job that finished during the grace period is worth handing over: its client polls every ≤ 2 s and
    // deletes the job after downloading.
    while (Date.now() < deadline && this.undeliveredSinceDrain() > 0) await sleep(100, undefined, { ref: false });
  }

  /** Ends everything at once (after drain, or when the process is going away). */
  async dispose(): Promise<void> {
    clearInterval(this.sweepTimer);
    for (const job of this.running) this.stopJob(job, 'shutdown', 'The worker stopped.');
    await Promise.all([...this.running].map((j) => j.settled));
    this.jobs.clear();
  }

  /** Forgets ended jobs older than the TTL and removes their files. */
  async sweepExpired(now = Date.now()): Promise<number> {
    const expired = [...this.jobs.values()].filter((j) => j.finishedAt !== null && now - j.finishedAt > this.s.resultTtlMs);
    for (const job of expired) {
      this.jobs.delete(job.id);
      await rm(job.dir, { recursive: true, force: true });
      job.log.info({ state: job.state }, 'job expired');
    }
    return expired.length;
  }

  private undeliveredSinceDrain(): number {
    let n = 0;
    for (const j of this.jobs.values()) if (j.state === 'done' && j.finishedAt! >= this.drainStartedAt!) n++;
    return n;
  }

  private pump(): void {
    while (this.running.size < this.s.concurrency && this.queue.length > 0) {
      const job = this.queue.shift()!;
      job.state = 'running';
      job.startedAt = Date.now();
      this.running.add(job);
      job.settled = this.execute(job).finally(() => {
        this.running.delete(job);
        this.pump();
      });
    }
  }

  private stopJob(job: Job, reason: StopReason, message: string): void {
    if (job.stop) return;
    job.stop = { reason, message };
    job.abort.abort();
  }

  private async execute(job: Job): Promise<void> {
    const timer = setTimeout(
      () => this.stopJob(job, 'timeout', `The job ran past the worker's limit of ${this.s.jobTimeoutMs} ms.`),
      this.s.jobTimeoutMs,
    );
    let providerAsked = false;
    try {
      const result = await this.s.render(job.probe, job.outDir, job.options, {
        signal: job.abort.signal,
        logger: job.log,
        onProgress: (p) => {
          job.progress = p.fraction;
          job.fps = Math.round(p.fps * 100) / 100;
          job.framesDone = p.frame;
          job.totalFrames = p.totalFrames;
          if (!providerAsked) {
            providerAsked = true;
            void this.s.providerOf(job.options.engine).then((prov) => (job.provider ??= prov), () => undefined);
          }
        },
      });
      // A cancel that arrived while the engine was finishing still wins: the client no longer wants the files.
      if (job.stop) throw new Error(job.stop.message);
      job.files = await describeFiles(job.id, result);
      job.result = result;
      job.provider = result.provider;
      job.progress = 1;
      job.fps = result.throughputFps;
      job.framesDone = result.frames;
      job.totalFrames = result.frames;
      job.state = 'done';
      this.recentRunMs.push(result.wallMs);
      if (this.recentRunMs.length > 10) this.recentRunMs.shift();
    } catch (e) {
      job.error = failureOf(job, e);
      job.state = job.stop?.reason === 'cancel' ? 'cancelled' : 'failed';
    } finally {
      clearTimeout(timer);
      job.finishedAt = Date.now();
      // The input is never needed again; a job without results keeps nothing.
      await rm(job.state === 'done' ? job.inputPath : job.dir, { recursive: true, force: true });
      job.markEnded();
      const runMs = job.finishedAt - job.startedAt!;
      if (job.state === 'done') job.log.info({ runMs, fps: job.fps, provider: job.provider }, 'job done');
      else job.log.warn({ runMs, state: job.state, error: job.error }, 'job ended without results');
    }
  }

  private async endWithoutRunning(job: Job, state: 'failed' | 'cancelled', error: ApiError): Promise<void> {
    job.state = state;
    job.error = error;
    job.finishedAt = Date.now();
    await rm(job.dir, { recursive: true, force: true });
    job.markEnded();
    job.log.info({ state, error }, 'job ended before it ran');
  }
}

function failureOf(job: Job, e: unknown): ApiError {
  if (job.stop) return { code: job.stop.reason === 'cancel' ? 'cancelled' : job.stop.reason, message: job.stop.message };
  if (isMediaError(e)) return { code: e.code, message: e.message };
  job.log.error({ err: e }, 'engine failed');
  return { code: 'internal', message: (e as Error)?.message ?? String(e) };
}

async function describeFiles(id: string, result: OverlayResult): Promise<ResultFileInfo[]> {
  return Promise.all(
    Object.values(result.files).map(async (path) => {
      const name = basename(path) as OutputFileName;
      return { name, bytes: (await stat(path)).size, url: `${API_PREFIX}/jobs/${id}/result/${name}` };
    }),
  );
}

function iso(t: number | null): string | null {
  return t === null ? null : new Date(t).toISOString();
}

function toStatusBody(job: Job): JobStatusBody {
  const r = job.result;
  return {
    id: job.id,
    state: job.state,
    progress: Math.round(job.progress * 1000) / 1000,
    fps: job.fps,
    framesDone: job.framesDone,
    totalFrames: job.totalFrames,
    engine: job.options.engine,
    provider: job.provider,
    createdAt: iso(job.createdAt)!,
    startedAt: iso(job.startedAt),
    finishedAt: iso(job.finishedAt),
    timings: {
      receiveMs: Math.round(job.receiveMs),
      probeMs: Math.round(job.probeMs),
      queuedMs: job.startedAt === null ? (job.finishedAt === null ? null : job.finishedAt - job.createdAt) : job.startedAt - job.createdAt,
      runMs: job.startedAt !== null && job.finishedAt !== null ? job.finishedAt - job.startedAt : null,
      perFrame: r?.perFrame ?? null,
    },
    result: r
      ? {
          files: job.files,
          frames: r.frames,
          durationSec: r.durationSec,
          width: r.width,
          height: r.height,
          throughputFps: r.throughputFps,
          personCoverage: r.personCoverage,
        }
      : null,
    error: job.error,
  };
}
