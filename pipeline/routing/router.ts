import type { EngineChoice, OverlayPath } from '../contract.js';
import type { GpuMemberState } from '../gpu-pool.js';
import type { PipelineRedis } from '../redis.js';
import { recordEstimateError } from './error-store.js';
import { absPctError, chooseRoute, clipFrames, cpuFpsSample, type ClipFacts, type GpuSide, type RouteEstimate, type RouteReason } from './estimate.js';
import type { FpsStore } from './fps-store.js';
import { isWarm, pickGpu } from './gpu-view.js';
import type { RoutingSettings } from './settings.js';

/**
 * The router of PROCESSING_MODE=auto: gathers the estimate's inputs (measured fps from the store, this worker's
 * running CPU overlays, the GPU pool's load and warmth), asks estimate.ts, and afterwards learns from what ran
 * (fps samples) and records how wrong it was (error-store.ts). The overlay stage (stages/overlay.ts) calls it.
 */
export interface RoutingRecord {
  chosen: OverlayPath;
  reason: RouteReason;
  estimates: { cpuSec: number; gpuSec: number | null };
  gpuHost?: string;
  gpuWarm?: boolean;
  /** The path that made the overlay, how long that run took (s), and |its estimate − that| / that (%). */
  ran?: OverlayPath;
  actualSec?: number;
  errorPct?: number;
}

export interface RouteQuery extends ClipFacts {
  /** The engine the CPU would run for this job (quality asked, PIPELINE_CPU_QUALITY_ENGINE=fast → fast). */
  cpuEngine: EngineChoice;
}

export interface Router {
  /** `noGpu`: none is configured or healthy (the CPU runs anyway; the estimate is still recorded and scored). */
  plan(q: RouteQuery, o?: { noGpu?: boolean }): Promise<RouteEstimate>;
  /** Counts a CPU overlay running on this worker (the next estimates see it) until the returned function is called. */
  cpuStarted(): () => void;
  cpuMeasured(engine: EngineChoice, frames: number, sec: number, busyAtStart: number): Promise<void>;
  gpuMeasured(host: string | undefined, engine: EngineChoice, frames: number, runSec: number | null, engineFps: number): Promise<void>;
  /** The record of a finished overlay, its error counted for /stats (when Redis is there). */
  settle(est: RouteEstimate, ran: OverlayPath, actualSec: number): Promise<RoutingRecord>;
  cpuBusy(): number;
}

export interface RouterOptions {
  settings: RoutingSettings;
  fps: FpsStore;
  /** Where estimate errors are counted; null = not counted (the CLI). */
  errors: PipelineRedis | null;
  /** The GPU pool's view of its workers; null for a plain client (then: one worker, warm after a recent job). */
  gpuStates(): readonly GpuMemberState[] | null;
  now?: () => number;
}

const PLAIN_HOST = 'gpu';

export function createRouter(o: RouterOptions): Router {
  const now = o.now ?? Date.now;
  const s = o.settings;
  let cpuRunning = 0;
  let plainLastSeen: string | null = null;

  async function gpuSide(engine: EngineChoice): Promise<GpuSide | null> {
    const states = o.gpuStates();
    const pick = states
      ? pickGpu(states, now(), s.gpuIdleWarmSec)
      : { host: PLAIN_HOST, busy: 0, concurrency: 1, warm: isWarm(plainLastSeen, now(), s.gpuIdleWarmSec) };
    if (!pick) return null;
    const measured = await o.fps.read({ side: 'gpu', who: pick.host, engine });
    return { ...pick, fps: measured ?? s.gpuFpsSeed[engine] };
  }

  return {
    async plan(q, opts) {
      const cpuFps = o.fps.read({ side: 'cpu', who: s.hostClass, engine: q.cpuEngine });
      const [fps, gpu] = await Promise.all([cpuFps, opts?.noGpu ? null : gpuSide(q.engine)]);
      return chooseRoute(q, { fps: fps ?? s.cpuFpsSeed[q.cpuEngine], busy: cpuRunning }, gpu, s);
    },
    cpuStarted() {
      cpuRunning++;
      let done = false;
      return () => {
        if (!done) cpuRunning--;
        done = true;
      };
    },
    async cpuMeasured(engine, frames, sec, busyAtStart) {
      if (sec > 0) await o.fps.record({ side: 'cpu', who: s.hostClass, engine }, cpuFpsSample(frames, sec, busyAtStart, s.jobStartSec));
    },
    async gpuMeasured(host, engine, frames, runSec, engineFps) {
      plainLastSeen = new Date(now()).toISOString();
      // The worker's run time (decode, model, encode) when it says; else its engine's own throughput.
      const sample = runSec && runSec > 0 ? frames / runSec : engineFps;
      await o.fps.record({ side: 'gpu', who: host ?? PLAIN_HOST, engine }, sample);
    },
    async settle(est, ran, actualSec) {
      const estimateSec = ran === 'gpu' ? est.gpuSec : est.cpuSec;
      const base: RoutingRecord = {
        chosen: est.path,
        reason: est.reason,
        estimates: { cpuSec: est.cpuSec, gpuSec: est.gpuSec },
        ...(est.gpuHost ? { gpuHost: est.gpuHost, gpuWarm: est.gpuWarm } : {}),
        ran,
        actualSec: Math.round(actualSec * 100) / 100,
      };
      if (estimateSec === null) return base;
      const errorPct = Math.round(absPctError(estimateSec, actualSec) * 10) / 10;
      if (o.errors) await recordEstimateError(o.errors, ran, estimateSec, actualSec, now());
      return { ...base, errorPct };
    },
    cpuBusy: () => cpuRunning,
  };
}

export { clipFrames };
