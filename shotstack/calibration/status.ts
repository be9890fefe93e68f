import type { RendererReadings } from '../readings.js';

/**
 * Where the renderer readings a job renders with come from, and how far their calibration has got. Shared by the
 * sources (source.ts), the store (store.ts, which publishes the status for the bot's /mode) and the CLI.
 */
export type ReadingsOrigin = 'forced' | 'calibrated' | 'local';

export interface CalibrationStatus {
  state: 'unknown' | 'running' | 'known' | 'failed';
  origin: ReadingsOrigin;
  readings?: RendererReadings;
  /** ISO date of the calibration */ at?: string;
  schemaVersion?: string;
  /** last failure, human readable */ error?: string;
  /** ISO date of the next attempt after a failure */ nextTryAt?: string;
}

export interface ReadingsSource {
  /** Resolves once readings are known (runs or waits for calibration); rejects only on `signal` abort or when `waitMs` passes (then with a CalibrationPendingError carrying the status). */
  get(opts?: { signal?: AbortSignal; waitMs?: number }): Promise<RendererReadings>;
  status(): Promise<CalibrationStatus>;
}

/** get() gave up waiting (its `waitMs` passed) before the readings were known; `status` says why. */
export class CalibrationPendingError extends Error {
  status: CalibrationStatus;

  constructor(status: CalibrationStatus) {
    const why = status.state === 'failed' ? `: ${status.error ?? 'failed'}${status.nextTryAt ? `; next try at ${status.nextTryAt}` : ''}` : '';
    super(`Shotstack renderer readings are not known yet (calibration ${status.state}${why})`);
    this.name = 'CalibrationPendingError';
    this.status = status;
  }
}
