import { join } from 'node:path';
import type { Logger } from '../../common/logger.js';
import { probeMedia } from '../../common/ffmpeg.js';
import type { ReadingsSource } from '../../shotstack/calibration/index.js';
import { prepareMatte, type MatteFrame } from '../../shotstack/matte.js';
import { formatReadings } from '../../shotstack/readings.js';
import { buildBubbleEdit, MATTE_SOURCE_FIELD, matteVariantFor, type BubbleOverlay } from '../../shotstack/timeline.js';
import type { ShotstackClient } from '../../shotstack/client.js';
import { isShotstackError } from '../../shotstack/errors.js';
import type { BubbleLayoutOptions } from './layout.js';
import { awaitReadings, sameReadings } from './renderer-readings.js';
import type { IngestState, IngestedOverlay, LocalMedia, OverlayState, RenderedState } from './state.js';

/**
 * The render stage on Shotstack's API (the real service, or the local renderer that speaks it): ingest the bubble
 * and the background, submit the bubble timeline, wait, download. Each step's output is a reference the caller
 * persists (source URLs, the render id), so a retry polls the render it already paid for instead of submitting
 * another one.
 */
export interface Renderer {
  client: ShotstackClient;
  /** Identifies where sources and renders live (the API URL; a restarted in-process renderer gets a new one). */
  id: string;
  /** True for the local renderer: its file URLs are not reachable by users, so no "download link" fallback. */
  isLocal: boolean;
  /** How this renderer reads the Edit where Shotstack's docs are open: calibrated, forced, or the local emulation. */
  readings: ReadingsSource;
  /** How long one job attempt waits for pending readings (default READINGS_WAIT_MS). */
  readingsWaitMs?: number;
  /**
   * Called once the render's file is downloaded, so users' videos do not stay where they were rendered. The
   * in-process local renderer's `discardRender` removes the render and its sources at once; for Shotstack
   * (shotstack/cleanup.ts) the sources are deleted at once and the hosted copy, which backs the download link a
   * user may be sent, after SHOTSTACK_RENDER_RETENTION_SEC — scheduled durably, so it returns without waiting.
   */
  discardRender?: (renderId: string) => Promise<void>;
}

/** Status → share of the render stage done (unknown statuses keep the last value). */
const STATUS_FRACTION: Record<string, number> = {
  queued: 0.15,
  fetching: 0.25,
  preprocessing: 0.35,
  rendering: 0.5,
  generating: 0.75,
  saving: 0.85,
  done: 0.9,
};

/**
 * True when stored sources can still be rendered: same renderer, and made for the readings it has now (waited for,
 * like a fresh ingest). After a new calibration the matte may need another form, so the caller ingests again.
 */
export async function ingestStillValid(renderer: Renderer, stored: IngestState, ctx: { signal: AbortSignal; log: Logger }): Promise<boolean> {
  if (stored.renderer !== renderer.id) return false;
  const readings = await awaitReadings(renderer, ctx.signal);
  if (sameReadings(readings, stored.readings)) return true;
  ctx.log.warn(
    { was: stored.readings ? formatReadings(stored.readings) : null, now: formatReadings(readings) },
    "the renderer's readings changed since the sources were ingested; ingesting again",
  );
  return false;
}

/**
 * Waits for the renderer's readings, makes the matte form they need (inverted and/or viewport-size, placed by
 * `frame`), and ingests it with the colour square (or the alpha MOV) and the background. The readings are stored
 * with the sources: the Edit is built with exactly the readings its matte was made for.
 */
export async function ingestForRender(
  renderer: Renderer,
  overlay: OverlayState,
  background: LocalMedia,
  frame: MatteFrame,
  workDir: string,
  ctx: { signal: AbortSignal; log: Logger; onProgress(f: number): void },
): Promise<IngestState> {
  const readings = await awaitReadings(renderer, ctx.signal);
  const started = Date.now();
  const ingest = (path: string) => renderer.client.ingestFile(path, { signal: ctx.signal });
  let ingested: IngestedOverlay;
  let backgroundSrc: string;
  if (overlay.files['color.mp4'] && overlay.files['matte.mp4']) {
    const matte = matteVariantFor(readings);
    const mattePath = prepareMatte(matte, overlay.files['matte.mp4'], join(workDir, 'overlay'), frame, { signal: ctx.signal });
    const [colorSrc, matteSrc, bg] = await Promise.all([
      ingest(overlay.files['color.mp4']),
      mattePath.then(ingest),
      ingest(background.path),
    ]);
    ingested = { kind: 'luma', colorSrc, matteSrc, matte };
    backgroundSrc = bg;
  } else if (overlay.files['overlay.mov']) {
    const [src, bg] = await Promise.all([ingest(overlay.files['overlay.mov']), ingest(background.path)]);
    ingested = { kind: 'alpha', src };
    backgroundSrc = bg;
  } else {
    throw new Error(`overlay stage left no renderable files (${Object.keys(overlay.files).join(', ')})`);
  }
  ctx.onProgress(0.1);
  ctx.log.info(
    { renderer: renderer.isLocal ? 'local' : 'shotstack', readings: formatReadings(readings), ms: Date.now() - started },
    'render sources ingested',
  );
  return { renderer: renderer.id, readings, overlay: ingested, backgroundSrc, ms: Date.now() - started };
}

/** The builder's overlay from the stored sources: the luma matte goes in the field of the form it was made in. */
function bubbleOverlayOf(ingested: IngestedOverlay): BubbleOverlay {
  if (ingested.kind === 'alpha') return { kind: 'alpha', src: ingested.src, format: 'mov' };
  return { kind: 'luma', colorSrc: ingested.colorSrc, [MATTE_SOURCE_FIELD[ingested.matte]]: ingested.matteSrc };
}

export async function submitRender(
  renderer: Renderer,
  ingest: IngestState,
  overlay: OverlayState,
  background: LocalMedia,
  editOptions: BubbleLayoutOptions,
  ctx: { signal: AbortSignal; log: Logger },
): Promise<string> {
  const edit = buildBubbleEdit({
    background: { src: ingest.backgroundSrc, durationSec: background.durationSec, hasAudio: background.hasAudio },
    overlay: bubbleOverlayOf(ingest.overlay),
    overlayDurationSec: overlay.durationSec,
    options: { ...editOptions, readings: ingest.readings },
  });
  const id = await renderer.client.submitRender(edit, { signal: ctx.signal });
  // The ring is an operator toggle (PIPELINE_BUBBLE_RING) and the readings a calibration: log both, so a render
  // can be matched to what it was built for.
  ctx.log.info({ renderId: id, ring: editOptions.ring ?? null, readings: formatReadings(ingest.readings) }, 'render submitted');
  return id;
}

/**
 * Waits for `renderId` and downloads the file. Returns null when the renderer no longer knows the render (a
 * restarted local renderer, an expired id): the caller submits again.
 */
export async function awaitAndDownload(
  renderer: Renderer,
  renderId: string,
  dest: string,
  ctx: { signal: AbortSignal; log: Logger; onProgress(f: number): void },
): Promise<Omit<RenderedState, 'ms'> | null> {
  let url: string;
  try {
    const done = await renderer.client.waitForRender(renderId, {
      signal: ctx.signal,
      onStatus: (status) => {
        const f = STATUS_FRACTION[status];
        if (f !== undefined) ctx.onProgress(f);
      },
    });
    url = done.url;
  } catch (e) {
    if (isShotstackError(e) && e.kind === 'bad_request' && e.status === 404) {
      ctx.log.warn({ renderId }, 'the renderer no longer knows this render; submitting again');
      return null;
    }
    throw e;
  }
  try {
    await renderer.client.downloadTo(url, dest, { signal: ctx.signal });
  } catch (e) {
    if (isShotstackError(e) && e.kind === 'bad_request' && e.status === 404) {
      ctx.log.warn({ renderId }, 'the rendered file is gone (expired); submitting again');
      return null;
    }
    throw e;
  }
  await discardQuietly(renderer, renderId, ctx.log);
  ctx.onProgress(1);
  const info = await probeMedia(dest);
  return {
    path: dest,
    bytes: info.sizeBytes,
    url,
    durationSec: info.durationSec,
    width: info.video?.width ?? 0,
    height: info.video?.height ?? 0,
  };
}

/**
 * Cleanup is best effort: the job has its file. A render left behind is removed by the local renderer's retention,
 * or on Shotstack by a later cleanup sweep.
 */
async function discardQuietly(renderer: Renderer, renderId: string, log: Logger): Promise<void> {
  try {
    await renderer.discardRender?.(renderId);
  } catch (e) {
    log.warn({ renderId, err: (e as Error).message }, 'could not discard the render and its sources');
  }
}
