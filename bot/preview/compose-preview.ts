import { rm, stat, writeFile } from 'node:fs/promises';
import { MediaError } from '../../common/errors.js';
import { probeMedia, runFfmpeg } from '../../common/ffmpeg.js';
import { gatedInput } from '../../common/media-gate.js';
import { renderStill, workSize } from '../../engine/index.js';
import { parseJobData, type OutputKind } from '../../pipeline/contract.js';
import { bubbleLayout, type RenderSettings } from '../../pipeline/stages/layout.js';
import { bubblePlacement } from '../../shotstack/timeline.js';
import type { ChosenOptions } from '../flow/options.js';
import { grabFrameRgb } from './grab-frame.js';

/**
 * One composed frame of the future result, as a JPEG, made on the CPU from single frames: the engine's
 * `renderStill` (its own preprocess → model → person measure → crop → shape → compositor, with its defaults) cuts
 * the speaker out of one head frame exactly as the worker will, and the pipeline's layout places the bubble where
 * the render will. ffmpeg grabs the frames and does the final scale + overlay + JPEG encode in one run.
 *
 * For "no background" outputs the bubble is shown alone on a dark square (the transparent file / round note).
 */
export interface PreviewRequest {
  headPath: string;
  backgroundPath: string | null;
  output: OutputKind;
  options: ChosenOptions;
  /** Where the JPEG goes; a sibling `.rgba` scratch file is written and removed. */
  outPath: string;
  signal?: AbortSignal;
}

export interface PreviewResult {
  path: string;
  width: number;
  height: number;
  /** Where the bubble is in the picture (px). */
  bubble: { x: number; y: number; side: number };
  /** Share of the model's map that is person (≥ the engine's minimum, else no_person was thrown). */
  personCoverage: number;
  ms: number;
}

/** The render size the preview imitates: sd keeps it quick; positions are fractions, so they match any size. */
const PREVIEW_SETTINGS: RenderSettings = {
  resolution: 'sd',
  fps: 25,
  overlayKind: 'luma',
  backgroundVolume: 0,
  maxDurationSec: 3600,
  maxInputBytes: 2_000_000_000,
};
const ALONE_CANVAS = 512;

export async function composePreview(req: PreviewRequest): Promise<PreviewResult> {
  const started = performance.now();
  const info = await probeMedia(req.headPath, {}, { signal: req.signal });
  // The background goes to ffmpeg too: refused up front, with its own reason, like the head.
  if (req.backgroundPath) await probeMedia(req.backgroundPath, {}, { signal: req.signal });
  if (!info.video) throw new MediaError('no_video_stream', 'The file has no video stream.');
  const { width: W, height: H } = workSize(info.video.width, info.video.height);
  // Half a second in skips a black or blurred first frame; very short clips use their first frame.
  const at = info.durationSec > 1 ? 0.5 : 0;
  const rgb = (await grabFrameRgb(req.headPath, at, W, H, req.signal)) ?? (await grabFrameRgb(req.headPath, 0, W, H, req.signal));
  if (!rgb) throw new MediaError('corrupt', 'No frame could be decoded for the preview.');

  const shapeName = req.output === 'note' ? 'circle' : req.options.shape;

  let canvas: { width: number; height: number; x: number; y: number; side: number };
  if (req.output === 'video') {
    const data = parseJobData({
      chatId: 0,
      userId: 0,
      head: { source: 'local', path: req.headPath },
      background: { source: 'local', path: req.backgroundPath ?? req.headPath },
      output: 'video',
      options: req.options,
    });
    const place = bubblePlacement(bubbleLayout(data, PREVIEW_SETTINGS).edit);
    canvas = { width: place.width, height: place.height, x: Math.round(place.x), y: Math.round(place.y), side: Math.round(place.side) };
  } else {
    const side = Math.round((ALONE_CANVAS * 0.8) / 2) * 2;
    canvas = { width: ALONE_CANVAS, height: ALONE_CANVAS, x: (ALONE_CANVAS - side) / 2, y: (ALONE_CANVAS - side) / 2, side };
  }

  // Always the fast model: the preview is for judging the layout, and ISNet takes ~4.5 s per frame on 2 CPU cores
  // (measured) against ~0.3 s for the whole preview with the selfie model.
  const still = await renderStill({ rgb, width: W, height: H }, { engine: 'fast', shape: shapeName, size: canvas.side });
  const cropSide = still.side;

  const scratch = `${req.outPath}.rgba`;
  await writeFile(scratch, still.rgba);
  try {
    const fill = `scale=${canvas.width}:${canvas.height}:force_original_aspect_ratio=increase,crop=${canvas.width}:${canvas.height},setsar=1`;
    const composeOver = (base: string[]) =>
      runFfmpeg(
        [
          '-loglevel', 'error',
          ...base,
          '-f', 'rawvideo', '-pix_fmt', 'rgba', '-s', `${cropSide}x${cropSide}`, '-i', scratch,
          '-filter_complex',
          `[0:v]${fill}[bg];[1:v]scale=${canvas.side}:${canvas.side}:flags=bicubic[b];[bg][b]overlay=${canvas.x}:${canvas.y}:format=auto,format=yuvj420p[out]`,
          '-map', '[out]', '-frames:v', '1', '-q:v', '3', req.outPath,
        ],
        { signal: req.signal, timeoutMs: 20_000 },
      );
    if (req.output === 'video' && req.backgroundPath) {
      const bg = req.backgroundPath;
      // Half a second in, like the head frame. A background with no frame there (shorter than that)
      // makes ffmpeg write nothing — sometimes with exit code 0 — so the first frame is used instead.
      const wrote = await composeOver(['-ss', '0.5', ...gatedInput(bg)]).then(
        () => stat(req.outPath).then((s) => s.size > 0, () => false),
        () => false,
      );
      if (!wrote) await composeOver(gatedInput(bg));
    } else {
      await composeOver(['-f', 'lavfi', '-i', `color=c=0x2b2f36:s=${canvas.width}x${canvas.height}:d=1`]);
    }
  } finally {
    await rm(scratch, { force: true });
  }
  return {
    path: req.outPath,
    width: canvas.width,
    height: canvas.height,
    bubble: { x: canvas.x, y: canvas.y, side: canvas.side },
    personCoverage: still.personCoverage,
    ms: Math.round(performance.now() - started),
  };
}
