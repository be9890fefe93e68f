import type { JobProgress, OutputKind, Stage } from '../contract.js';

/**
 * Turns "stage X is at fraction f" into the job's progress `{stage, percent, stagePercent, eta}`: each stage owns
 * a slice of 0..100 (by its usual share of the wall time), percent never goes back (a resumed job jumps ahead),
 * ETA extrapolates the elapsed time once there is enough progress to trust it. Reports are throttled; the sink
 * is job.updateProgress in the worker and a progress bar in the CLI.
 */
const WEIGHTS: Record<'video' | 'single', Record<Stage, number>> = {
  video: { fetch: 5, overlay: 50, render: 40, deliver: 5 },
  single: { fetch: 10, overlay: 80, render: 0, deliver: 10 },
};

export type ProgressSink = (p: JobProgress) => void | Promise<void>;

export class ProgressTracker {
  private readonly weights: Record<Stage, number>;
  private readonly started = Date.now();
  private lastSent = 0;
  private lastPercent = -1;
  private lastStage: Stage | null = null;
  private best = 0;
  private pending: Promise<void> = Promise.resolve();

  constructor(
    output: OutputKind,
    private readonly sink: ProgressSink,
    private readonly minIntervalMs = 1000,
  ) {
    this.weights = WEIGHTS[output === 'video' ? 'video' : 'single'];
  }

  /** Reports stage progress (fraction 0..1); cheap to call on every frame. */
  update(stage: Stage, fraction: number): void {
    const f = Math.min(1, Math.max(0, Number.isFinite(fraction) ? fraction : 0));
    let before = 0;
    for (const s of ['fetch', 'overlay', 'render', 'deliver'] as const) {
      if (s === stage) break;
      before += this.weights[s];
    }
    const percent = Math.max(this.best, Math.min(100, before + this.weights[stage] * f));
    this.best = percent;
    const now = Date.now();
    const stageChanged = stage !== this.lastStage;
    const rounded = Math.floor(percent);
    if (!stageChanged && (now - this.lastSent < this.minIntervalMs || rounded === this.lastPercent) && f < 1) return;
    this.lastSent = now;
    this.lastPercent = rounded;
    this.lastStage = stage;
    const elapsedSec = (now - this.started) / 1000;
    const eta = percent >= 5 && percent < 100 ? Math.round((elapsedSec * (100 - percent)) / percent) : undefined;
    const p: JobProgress = { stage, percent: rounded, stagePercent: Math.floor(f * 100), ...(eta !== undefined ? { eta } : {}) };
    // Keep reports in order and never let a failing sink break the stage that reports.
    this.pending = this.pending.then(() => this.sink(p)).catch(() => undefined);
  }

  /** Waits for reports already handed to the sink. */
  flush(): Promise<void> {
    return this.pending;
  }
}
