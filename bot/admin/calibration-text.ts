import type { CalibrationStatus } from '../../shotstack/calibration/index.js';
import { formatReadings } from '../../shotstack/readings.js';

/**
 * The /mode line about the renderer's readings, from the calibration status the workers publish in Redis. Video
 * jobs wait while it is unknown, so an admin sees here why renders are not starting.
 */
export function calibrationText(s: CalibrationStatus | null): string {
  const head = 'Renderer readings:';
  if (!s) return `${head} none published (workers with SHOTSTACK_READINGS or the local renderer do not calibrate)`;
  switch (s.state) {
    case 'known': {
      const at = s.at ? ` ${s.at.slice(0, 10)}` : '';
      return `${head} ${s.origin}${at}: ${s.readings ? formatReadings(s.readings) : '?'}`;
    }
    case 'running':
      return `${head} calibrating — video jobs wait`;
    case 'failed':
      return `${head} calibration failed: ${s.error ?? 'unknown error'}${s.nextTryAt ? `; next try ${s.nextTryAt}` : ''} — video jobs wait`;
    case 'unknown':
      return `${head} not calibrated yet — video jobs wait`;
  }
}
