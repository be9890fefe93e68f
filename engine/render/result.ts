import { join } from 'node:path';
import { OUTPUT_FILES, type OutputFileName, type OverlayOptions, type OverlayResult } from '../types.js';
import type { LoopCounts } from './loop.js';
import type { RenderPlan } from './plan.js';
import { round2, type StageClock } from './timing.js';

/** The finished render's description: files, frame counts, throughput and per-stage timings. */
export function buildResult(
  plan: RenderPlan,
  options: OverlayOptions,
  outDir: string,
  provider: OverlayResult['provider'],
  { frames, personFrames }: LoopCounts,
  clock: StageClock,
  started: number,
): OverlayResult {
  const wallMs = performance.now() - started;
  const files: Partial<Record<OutputFileName, string>> = {};
  for (const f of options.formats) for (const n of OUTPUT_FILES[f]) files[n] = join(outDir, n);
  return {
    files,
    frames,
    fps: plan.fps,
    durationSec: frames / plan.fps,
    width: plan.size,
    height: plan.size,
    provider,
    engine: options.engine,
    wallMs: Math.round(wallMs),
    throughputFps: round2(frames / (wallMs / 1000)),
    perFrame: clock.perFrame(frames),
    personCoverage: round2(personFrames / frames),
  };
}
