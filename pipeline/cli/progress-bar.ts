import type { JobProgress } from '../contract.js';

/**
 * A one-line progress bar for a terminal (redrawn in place), or one line per stage change and every 10 % when
 * stderr is not a terminal (CI logs stay readable).
 */
export class ProgressBar {
  private lastLine = '';
  private lastStage = '';
  private lastDecile = -1;
  private drawn = false;

  constructor(private readonly out: NodeJS.WriteStream) {}

  render(p: JobProgress, elapsedMs: number): void {
    const width = 30;
    const filled = Math.round((p.percent / 100) * width);
    const bar = `${'#'.repeat(filled)}${'.'.repeat(width - filled)}`;
    const eta = p.eta !== undefined ? `  eta ${formatSec(p.eta)}` : '';
    const line = `[${bar}] ${String(p.percent).padStart(3)}%  ${p.stage.padEnd(7)} ${formatSec(elapsedMs / 1000)}${eta}`;
    if (line === this.lastLine) return;
    this.lastLine = line;
    if (this.out.isTTY) {
      this.out.write(`\r${line.padEnd(80)}`);
      this.drawn = true;
      return;
    }
    const decile = Math.floor(p.percent / 10);
    if (p.stage !== this.lastStage || decile !== this.lastDecile) {
      this.lastStage = p.stage;
      this.lastDecile = decile;
      this.out.write(`${line}\n`);
    }
  }

  done(): void {
    if (this.drawn) this.out.write('\n');
    this.drawn = false;
  }
}

function formatSec(s: number): string {
  return s >= 60 ? `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, '0')}s` : `${s.toFixed(0)}s`;
}
