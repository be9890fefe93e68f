import { STAGES, type JobProgress } from '../../pipeline/contract.js';
import type { Messages } from '../i18n/types.js';

/** A 10-cell bar: ▓ for done tenths, ░ for the rest. */
export function progressBar(percent: number, cells = 10): string {
  const done = Math.max(0, Math.min(cells, Math.floor((percent / 100) * cells)));
  return '▓'.repeat(done) + '░'.repeat(cells - done);
}

/**
 * The status message for a progress report. The ETA is rounded (5 s steps under a minute) so the text — and the
 * message — changes only when something a person would notice changed.
 */
export function progressText(m: Messages, p: JobProgress): string {
  const step = STAGES.indexOf(p.stage) + 1;
  const eta = p.eta !== undefined && p.eta > 0 ? m.eta(p.eta < 60 ? Math.ceil(p.eta / 5) * 5 : p.eta) : '';
  return m.statusRunning(m.stage[p.stage], step, progressBar(p.percent), Math.floor(p.percent), eta);
}
