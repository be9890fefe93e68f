import type { StageTimings } from '../types.js';

/**
 * Accumulates wall time per stage of the frame loop. `reset` starts a measurement (time since the previous mark
 * counts nowhere); `lap` adds the time since the mark to one stage and moves the mark on, so consecutive stages
 * split the time between them without gaps.
 */
export class StageClock {
  readonly totals: StageTimings = { decodeWaitMs: 0, preprocessMs: 0, inferMs: 0, postprocessMs: 0, refineMs: 0, composeMs: 0, encodeWaitMs: 0 };
  private mark = 0;

  reset(): number {
    return (this.mark = performance.now());
  }

  lap(stage: keyof StageTimings): number {
    const now = performance.now();
    this.totals[stage] += now - this.mark;
    this.mark = now;
    return now;
  }

  add(stage: keyof StageTimings, ms: number): void {
    this.totals[stage] += ms;
  }

  /** Mean ms per frame of each stage, rounded to 0.01. */
  perFrame(frames: number): StageTimings {
    return Object.fromEntries(
      Object.entries(this.totals).map(([k, v]) => [k, round2(v / Math.max(frames, 1))]),
    ) as unknown as StageTimings;
  }
}

export function round2(v: number): number {
  return Math.round(v * 100) / 100;
}
