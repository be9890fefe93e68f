import type { Logger } from '../../common/logger.js';
import { CalibrationPendingError } from '../../shotstack/calibration/index.js';
import { formatReadings, type RendererReadings } from '../../shotstack/readings.js';
import type { JobData } from '../contract.js';
import { PipelineError } from '../failures.js';
import { overlayKindUnder, type RenderSettings } from './layout.js';
import type { Renderer } from './render.js';

/**
 * The renderer's readings (shotstack/readings.ts) as the pipeline waits for them. No user render is built before
 * they are known: a job waits a bounded time, then its attempt fails as `renderer_calibrating` (retryable), so
 * BullMQ tries again after its backoff instead of holding a worker slot for the whole calibration.
 */

/** How long one attempt waits for pending readings (a calibration renders a few one-second probes). */
export const READINGS_WAIT_MS = 60_000;

export async function awaitReadings(renderer: Pick<Renderer, 'readings' | 'readingsWaitMs'>, signal: AbortSignal): Promise<RendererReadings> {
  try {
    return await renderer.readings.get({ signal, waitMs: renderer.readingsWaitMs ?? READINGS_WAIT_MS });
  } catch (e) {
    if (!(e instanceof CalibrationPendingError)) throw e;
    const s = e.status;
    const detail = [s.state, s.error, s.nextTryAt && `next try ${s.nextTryAt}`].filter(Boolean).join(', ');
    throw new PipelineError('renderer_calibrating', `the renderer's readings are not known yet (${detail})`, true, { cause: e });
  }
}

export function sameReadings(a: RendererReadings, b: RendererReadings | undefined): boolean {
  return b !== undefined && formatReadings(a) === formatReadings(b);
}

/**
 * The settings the overlay stage follows for this job. Only PIPELINE_OVERLAY_KIND=alpha depends on the readings
 * (the renderer may lose a MOV's alpha), so only then does the job wait for them before the overlay; the luma pair
 * it falls back to is logged as an error, for the operator to fix the variable.
 */
export async function overlaySettingsFor(
  renderer: Renderer | null,
  data: JobData,
  s: RenderSettings,
  ctx: { signal: AbortSignal; log: Logger },
): Promise<RenderSettings> {
  if (data.output !== 'video' || s.overlayKind !== 'alpha' || !renderer) return s;
  const readings = await awaitReadings(renderer, ctx.signal);
  const overlayKind = overlayKindUnder(s.overlayKind, readings);
  if (overlayKind === s.overlayKind) return s;
  ctx.log.error(
    { readings: formatReadings(readings) },
    'PIPELINE_OVERLAY_KIND=alpha but this renderer loses the alpha of MOV files (alpha-mov=lost): rendering with the luma pair; set PIPELINE_OVERLAY_KIND=luma',
  );
  return { ...s, overlayKind };
}
