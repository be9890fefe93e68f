import { join } from 'node:path';
import type { Logger } from '../../common/logger.js';
import { probeMedia } from '../../common/ffmpeg.js';
import { invertMatte } from '../../shotstack/matte.js';
import { buildBubbleEdit, type BubbleEditOptions, type BubbleOverlay } from '../../shotstack/timeline.js';
import type { ShotstackClient } from '../../shotstack/client.js';
import { isShotstackError } from '../../shotstack/errors.js';
import type { LumaPolarity } from '../../shotstack/types.js';
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
  lumaPolarity: LumaPolarity;
  /**
   * Deletes a render and the sources it was made from once its file is downloaded: the in-process local renderer's
   * `discardRender`, so users' videos do not stay on this machine. Unset for Shotstack (its copy backs the
   * download link a user may be sent).
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

export async function ingestForRender(
  renderer: Renderer,
  overlay: OverlayState,
  background: LocalMedia,
  workDir: string,
  ctx: { signal: AbortSignal; log: Logger; onProgress(f: number): void },
): Promise<IngestState> {
  const started = Date.now();
  const ingest = (path: string) => renderer.client.ingestFile(path, { signal: ctx.signal });
  let ingested: IngestedOverlay;
  let backgroundSrc: string;
  if (overlay.files['color.mp4'] && overlay.files['matte.mp4']) {
    let inverted: string | undefined;
    if (renderer.lumaPolarity === 'white-transparent') {
      inverted = join(workDir, 'overlay', 'matte.inverted.mp4');
      await invertMatte(overlay.files['matte.mp4'], inverted, { signal: ctx.signal });
    }
    const [colorSrc, matteSrc, invertedMatteSrc, bg] = await Promise.all([
      ingest(overlay.files['color.mp4']),
      ingest(overlay.files['matte.mp4']),
      inverted ? ingest(inverted) : Promise.resolve(undefined),
      ingest(background.path),
    ]);
    ingested = { kind: 'luma', colorSrc, matteSrc, ...(invertedMatteSrc ? { invertedMatteSrc } : {}) };
    backgroundSrc = bg;
  } else if (overlay.files['overlay.mov']) {
    const [src, bg] = await Promise.all([ingest(overlay.files['overlay.mov']), ingest(background.path)]);
    ingested = { kind: 'alpha', src };
    backgroundSrc = bg;
  } else {
    throw new Error(`overlay stage left no renderable files (${Object.keys(overlay.files).join(', ')})`);
  }
  ctx.onProgress(0.1);
  ctx.log.info({ renderer: renderer.isLocal ? 'local' : 'shotstack', ms: Date.now() - started }, 'render sources ingested');
  return { renderer: renderer.id, overlay: ingested, backgroundSrc, ms: Date.now() - started };
}

export async function submitRender(
  renderer: Renderer,
  ingest: IngestState,
  overlay: OverlayState,
  background: LocalMedia,
  editOptions: BubbleEditOptions,
  ctx: { signal: AbortSignal; log: Logger },
): Promise<string> {
  const bubble: BubbleOverlay =
    ingest.overlay.kind === 'luma'
      ? { kind: 'luma', colorSrc: ingest.overlay.colorSrc, matteSrc: ingest.overlay.matteSrc, invertedMatteSrc: ingest.overlay.invertedMatteSrc }
      : { kind: 'alpha', src: ingest.overlay.src };
  const edit = buildBubbleEdit({
    background: { src: ingest.backgroundSrc, durationSec: background.durationSec, hasAudio: background.hasAudio },
    overlay: bubble,
    overlayDurationSec: overlay.durationSec,
    options: editOptions,
  });
  const id = await renderer.client.submitRender(edit, { signal: ctx.signal });
  // The ring is an operator toggle (PIPELINE_BUBBLE_RING): log it, so a render can be matched to the setting.
  ctx.log.info({ renderId: id, ring: editOptions.ring ?? null }, 'render submitted');
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

/** Cleanup is best effort: the job has its file; a render left behind is removed by the renderer's retention. */
async function discardQuietly(renderer: Renderer, renderId: string, log: Logger): Promise<void> {
  try {
    await renderer.discardRender?.(renderId);
  } catch (e) {
    log.warn({ renderId, err: (e as Error).message }, 'could not discard the render and its sources');
  }
}
