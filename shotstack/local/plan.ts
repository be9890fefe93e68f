import { outputPixelSize } from '../output-size.js';
import { DEFAULT_READINGS, type RendererReadings, type ScaleBase } from '../readings.js';
import type { Clip, ClipFit, ClipPosition, Edit } from '../types.js';
import { shapeDrawing, type ShapeDrawing } from './shape.js';

/**
 * Turns a validated Edit plus what the renderer learnt about each asset (probe) into a concrete render plan:
 * absolute times, pixel boxes, draw order, which luma masks which clip. Pure, so Shotstack's layout rules are
 * unit-testable without ffmpeg. The rules, as documented by Shotstack:
 * - tracks[0] is the top layer; clips on one track do not overlap;
 * - `start: "auto"` = right after the previous clip of the track; `length: "auto"` = the asset's own duration
 *   (after trim); `length: "end"` = until the end of the timeline (the latest end of all other clips);
 * - `fit` sizes the asset against the viewport (crop = fill + keep aspect + crop overflow, cover = stretch,
 *   contain = fit inside, none = native pixels), then `scale` resizes that box (by how much: reading `scale`);
 * - `position` anchors the box to one of nine points, `offset` moves it by a fraction of the viewport
 *   (x of the width, y of the height, +y = up);
 * - a `luma` clip masks the video clip it overlaps on the same track;
 * - a `shape` asset is drawn in its bounding box (`width`×`height`, else the viewport), which is then placed
 *   like any asset (the validation only lets `fit: "none"` through for shapes).
 *
 * Where the docs leave a rule open, the plan follows the readings it is given (shotstack/readings.ts), so the
 * local renderer can behave like each possible real service:
 * - `luma`: white-transparent negates every matte (PlannedMask.negate);
 * - `luma-geometry`: viewport ignores a luma clip's fit/scale/position/offset and stretches its matte over the
 *   whole viewport; it masks its clip in viewport coordinates;
 * - `scale`: what an explicit clip `scale` is relative to (scaleFactor); a clip without `scale` gets the fitted
 *   box under every reading;
 * - `alpha-webm` / `alpha-mov`: lost makes such a video opaque (colour as stored, alpha ignored).
 */

export interface AssetInfo {
  width: number;
  height: number;
  durationSec: number;
  hasAudio: boolean;
  /** A decoder to force before `-i` so the alpha channel survives (VP8/VP9 keep alpha in a side channel). */
  alphaDecoder: 'libvpx-vp9' | 'libvpx' | null;
  hasAlpha: boolean;
}

export interface Box {
  /** Size the asset is scaled to first. */
  scaledWidth: number;
  scaledHeight: number;
  /** Final size on screen (a centred crop of the scaled asset when smaller than it). */
  width: number;
  height: number;
  /** Top-left corner in output pixels (may be negative or beyond the frame). */
  x: number;
  y: number;
}

export interface PlannedMask {
  src: string;
  /** Read white = transparent: the matte is negated before use. */
  negate: boolean;
  trim: number;
  start: number;
  length: number;
  box: Box;
  /** Same box and same time range as the clip it masks: can be merged directly, no canvas needed. */
  alignedWithClip: boolean;
}

export interface PlannedVideoClip {
  kind: 'video';
  track: number;
  index: number;
  src: string;
  start: number;
  length: number;
  trim: number;
  volume: number;
  hasAudio: boolean;
  box: Box;
  /** Whether the video's own alpha is used (false when the readings say the service drops it). */
  hasAlpha: boolean;
  /** A decoder to force before `-i` so the alpha survives (see AssetInfo.alphaDecoder); null = ffmpeg's choice. */
  decoder: AssetInfo['alphaDecoder'];
  mask?: PlannedMask;
}

export interface PlannedShapeClip {
  kind: 'shape';
  track: number;
  index: number;
  start: number;
  length: number;
  box: Box;
  drawing: ShapeDrawing;
}

export type PlannedClip = PlannedVideoClip | PlannedShapeClip;

export interface RenderPlan {
  width: number;
  height: number;
  fps: { value: number; rational: string };
  durationSec: number;
  /** ffmpeg colour, 0xRRGGBB */
  background: string;
  /** Draw order: bottom layer first. */
  clips: PlannedClip[];
  mute: boolean;
}

/** A well-formed Edit that still cannot be rendered (overlaps, unknown lengths…): the render fails with this. */
export class PlanError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PlanError';
  }
}

const EPS = 0.001;

function even(n: number): number {
  return Math.max(2, Math.round(n / 2) * 2);
}

const FPS_RATIONALS: Record<string, string> = { '23.976': '24000/1001', '29.97': '30000/1001', '59.94': '60000/1001' };

export function outputGeometry(output: Edit['output']): { width: number; height: number } {
  if (output.size?.width && output.size?.height) return { width: output.size.width, height: output.size.height };
  return outputPixelSize(output.resolution ?? 'sd', output.aspectRatio ?? '16:9');
}

export function clipBox(
  fit: ClipFit,
  scale: number,
  position: ClipPosition,
  offset: { x?: number; y?: number },
  asset: { width: number; height: number },
  viewport: { width: number; height: number },
): Box {
  const { width: W, height: H } = viewport;
  const { width: w, height: h } = asset;
  let scaledWidth: number;
  let scaledHeight: number;
  let width: number;
  let height: number;
  switch (fit) {
    case 'crop': {
      const k = Math.max(W / w, H / h) * scale;
      scaledWidth = even(w * k);
      scaledHeight = even(h * k);
      width = Math.min(scaledWidth, even(W * scale));
      height = Math.min(scaledHeight, even(H * scale));
      break;
    }
    case 'cover':
      scaledWidth = width = even(W * scale);
      scaledHeight = height = even(H * scale);
      break;
    case 'contain': {
      const k = Math.min(W / w, H / h) * scale;
      scaledWidth = width = even(w * k);
      scaledHeight = height = even(h * k);
      break;
    }
    case 'none':
      scaledWidth = width = even(w * scale);
      scaledHeight = height = even(h * scale);
      break;
  }
  const col = position === 'topLeft' || position === 'left' || position === 'bottomLeft' ? 0
    : position === 'topRight' || position === 'right' || position === 'bottomRight' ? 2 : 1;
  const row = position.startsWith('top') ? 0 : position.startsWith('bottom') ? 2 : 1;
  const x = (col === 0 ? 0 : col === 2 ? W - width : (W - width) / 2) + (offset.x ?? 0) * W;
  const y = (row === 0 ? 0 : row === 2 ? H - height : (H - height) / 2) - (offset.y ?? 0) * H;
  return { scaledWidth, scaledHeight, width, height, x: Math.round(x), y: Math.round(y) };
}

/** The on-screen size `fit` alone gives an asset (scale 1): crop and cover fill the viewport. */
export function fittedSize(fit: ClipFit, asset: { width: number; height: number }, viewport: { width: number; height: number }) {
  const { width: W, height: H } = viewport;
  const { width: w, height: h } = asset;
  switch (fit) {
    case 'crop':
    case 'cover':
      return { width: W, height: H };
    case 'contain': {
      const k = Math.min(W / w, H / h);
      return { width: w * k, height: h * k };
    }
    case 'none':
      return { width: w, height: h };
  }
}

/**
 * The factor clipBox multiplies the fitted box by, for a clip's `scale` read with `base`:
 * - `fit`: `scale` itself (the box after fit, times scale);
 * - `width` / `height`: whatever makes the box, aspect kept, `scale` × the output width / height.
 * No `scale` → 1 under every reading. Crop and cover boxes are the viewport itself, so every reading gives them
 * the same factor; the readings differ only for `contain` and `none` boxes, whose aspect is the asset's.
 */
export function scaleFactor(
  scale: number | undefined,
  base: ScaleBase,
  fit: ClipFit,
  asset: { width: number; height: number },
  viewport: { width: number; height: number },
): number {
  if (scale === undefined) return 1;
  if (base === 'fit') return scale;
  const fitted = fittedSize(fit, asset, viewport);
  return base === 'width' ? (scale * viewport.width) / fitted.width : (scale * viewport.height) / fitted.height;
}

/** The whole viewport as a box: where a luma matte lies when the service ignores the luma clip's geometry. */
export function viewportBox(viewport: { width: number; height: number }): Box {
  const { width, height } = viewport;
  return { scaledWidth: width, scaledHeight: height, width, height, x: 0, y: 0 };
}

/** How a video's alpha is treated under the readings: VP8/VP9 side-channel alpha is "WebM", any other "MOV". */
function alphaUnder(info: AssetInfo, readings: RendererReadings): Pick<PlannedVideoClip, 'hasAlpha' | 'decoder'> {
  // Without the alpha decoder ffmpeg's native VP8/VP9 decoder ignores the side channel: the colour as stored.
  if (info.alphaDecoder) return readings.alphaWebm === 'kept' ? { hasAlpha: true, decoder: info.alphaDecoder } : { hasAlpha: false, decoder: null };
  return { hasAlpha: info.hasAlpha && readings.alphaMov === 'kept', decoder: null };
}

interface TimedClip {
  track: number;
  index: number;
  clip: Clip;
  start: number;
  /** null until "end" is resolved */
  length: number | null;
  trim: number;
  info: AssetInfo;
  drawing: ShapeDrawing | undefined;
}

/** Makes a luma clip the mask of the video clip on its track it overlaps most in time. */
function attachMask(luma: TimedClip, clips: PlannedVideoClip[], box: Box, negate: boolean): void {
  const lumaEnd = luma.start + luma.length!;
  let best: PlannedVideoClip | undefined;
  let bestOverlap = EPS;
  for (const v of clips) {
    const overlap = Math.min(lumaEnd, v.start + v.length) - Math.max(luma.start, v.start);
    if (overlap > bestOverlap) {
      best = v;
      bestOverlap = overlap;
    }
  }
  const t = luma.track;
  if (!best) throw new PlanError(`tracks[${t}].clips[${luma.index}]: the luma clip overlaps no video clip on its track`);
  if (best.mask) throw new PlanError(`tracks[${t}].clips[${best.index}]: more than one luma clip masks it (the local renderer supports one)`);
  const sameBox = (Object.keys(box) as (keyof Box)[]).every((k) => box[k] === best.box[k]);
  const sameTime = Math.abs(luma.start - best.start) < EPS && Math.abs(luma.length! - best.length) < EPS;
  const src = (luma.clip.asset as { src: string }).src;
  best.mask = { src, negate, trim: luma.trim, start: luma.start, length: luma.length!, box, alignedWithClip: sameBox && sameTime };
}

export function planRender(edit: Edit, assets: (src: string) => AssetInfo, readings: RendererReadings = DEFAULT_READINGS): RenderPlan {
  const viewport = outputGeometry(edit.output);
  const fpsValue = edit.output.fps ?? 25;
  const timed = edit.timeline.tracks.flatMap((track, t) => timeTrack(track.clips, t, assets, viewport));
  const durationSec = resolveEndLengths(timed);

  const boxOf = (x: TimedClip): Box => {
    const fit = x.clip.fit ?? 'crop';
    const scale = scaleFactor(x.clip.scale as number | undefined, readings.scale, fit, x.info, viewport);
    return clipBox(fit, scale, x.clip.position ?? 'center', (x.clip.offset ?? {}) as { x?: number; y?: number }, x.info, viewport);
  };
  const lumaBoxOf = (x: TimedClip): Box => (readings.lumaGeometry === 'viewport' ? viewportBox(viewport) : boxOf(x));

  const planned: PlannedClip[] = [];
  // Bottom track first: the plan is in drawing order, and track 0 is drawn on top.
  for (let t = edit.timeline.tracks.length - 1; t >= 0; t--) {
    planned.push(...planTrack(t, timed.filter((x) => x.track === t), { boxOf, lumaBoxOf }, readings));
  }

  const background = edit.timeline.background ?? '#000000';
  return {
    ...viewport,
    fps: { value: fpsValue, rational: FPS_RATIONALS[String(fpsValue)] ?? String(fpsValue) },
    durationSec,
    background: `0x${background.slice(-6)}`,
    clips: planned,
    mute: edit.output.mute === true,
  };
}

/** Start and length of each clip of one track; "auto" starts follow the clip before, "end" lengths stay null. */
function timeTrack(clips: Clip[], t: number, assets: (src: string) => AssetInfo, viewport: { width: number; height: number }): TimedClip[] {
  let previousEnd: number | null = 0;
  return clips.map((clip, c) => {
    const asset = clip.asset as { type: string; src: string; trim?: number };
    const drawing = asset.type === 'shape' ? shapeDrawing(clip.asset as Record<string, any>, viewport) : undefined;
    // A shape has no file: its "native size" is its bounding box, and it lasts as long as its clip.
    const info: AssetInfo = drawing
      ? { width: drawing.width, height: drawing.height, durationSec: Infinity, hasAudio: false, alphaDecoder: null, hasAlpha: true }
      : assets(asset.src);
    const trim = asset.trim ?? 0;
    let start: number;
    if (clip.start === 'auto') {
      if (previousEnd === null) throw new PlanError(`tracks[${t}].clips[${c}]: start "auto" follows a clip of length "end"`);
      start = previousEnd;
    } else start = Number(clip.start);
    const length = clipLength(clip, { t, c, trim, info, isShape: drawing !== undefined });
    previousEnd = length === null ? null : start + length;
    return { track: t, index: c, clip, start, length, trim, info, drawing };
  });
}

/** A clip's length in seconds; null for "end" (known only once the whole timeline is). */
function clipLength(clip: Clip, x: { t: number; c: number; trim: number; info: AssetInfo; isShape: boolean }): number | null {
  if (clip.length === 'auto' && x.isShape) {
    throw new PlanError(`tracks[${x.t}].clips[${x.c}]: length "auto" of a shape asset is not supported by the local renderer`);
  }
  if (clip.length === 'auto') {
    const length = x.info.durationSec - x.trim;
    if (!(length > EPS)) throw new PlanError(`tracks[${x.t}].clips[${x.c}]: trim ${x.trim} s is past the end of the asset (${x.info.durationSec} s)`);
    return length;
  }
  if (clip.length === 'end') return null;
  return Number(clip.length);
}

/** Gives "end" clips their length (up to the last definite end) and returns the timeline's duration. */
function resolveEndLengths(timed: TimedClip[]): number {
  const definiteEnds = timed.filter((x) => x.length !== null).map((x) => x.start + x.length!);
  if (!definiteEnds.length) throw new PlanError('every clip has length "end": the timeline has no end');
  const timelineEnd = Math.max(...definiteEnds);
  for (const x of timed) {
    if (x.length === null) {
      x.length = timelineEnd - x.start;
      if (!(x.length > EPS)) throw new PlanError(`tracks[${x.track}].clips[${x.index}]: starts at or after the end of the timeline`);
    }
  }
  return Math.max(...timed.map((x) => x.start + x.length!));
}

/** One track's shapes, then its videos (each with the luma that masks it, if any). */
function planTrack(
  t: number,
  onTrack: TimedClip[],
  geometry: { boxOf(x: TimedClip): Box; lumaBoxOf(x: TimedClip): Box },
  readings: RendererReadings,
): PlannedClip[] {
  const { boxOf, lumaBoxOf } = geometry;
  // Everything drawn on one track (videos and shapes) must not overlap in time; a luma only masks.
  const drawn = onTrack.filter((x) => x.clip.asset.type !== 'luma').sort((a, b) => a.start - b.start);
  for (let i = 1; i < drawn.length; i++) {
    const prev = drawn[i - 1]!;
    if (drawn[i]!.start < prev.start + prev.length! - EPS) {
      throw new PlanError(`tracks[${t}]: clips ${prev.index} and ${drawn[i]!.index} overlap`);
    }
  }
  const videos = drawn.filter((x) => x.clip.asset.type === 'video');
  const clips = videos.map<PlannedVideoClip>((x) => ({
    kind: 'video',
    track: t,
    index: x.index,
    src: (x.clip.asset as { src: string }).src,
    start: x.start,
    length: x.length!,
    trim: x.trim,
    volume: ((x.clip.asset as { volume?: number }).volume as number | undefined) ?? 1,
    hasAudio: x.info.hasAudio,
    box: boxOf(x),
    ...alphaUnder(x.info, readings),
  }));
  for (const luma of onTrack.filter((x) => x.clip.asset.type === 'luma')) {
    attachMask(luma, clips, lumaBoxOf(luma), readings.luma === 'white-transparent');
  }
  const shapes = drawn
    .filter((x) => x.drawing)
    .map<PlannedShapeClip>((x) => ({ kind: 'shape', track: t, index: x.index, start: x.start, length: x.length!, box: boxOf(x), drawing: x.drawing! }));
  return [...shapes, ...clips];
}
