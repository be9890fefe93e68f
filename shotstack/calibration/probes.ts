import type { Clip, Edit } from '../types.js';

/**
 * The probe timelines of a calibration and where their pixels are read. Three renders of 1 s each, on a blue
 * timeline background, with red squares (a 128 px red video, `fit: contain`, `scale` PROBE_SCALE, `position:
 * center` and an explicit `offset`), built here by hand: calibration measures the raw service, not our builder.
 *
 *   wide  (16:9, 320×180) and tall (9:16, 180×320): three squares along the long axis —
 *     reference  no matte: its measured side gives the scale base (fit/width/height differ between 16:9 and 9:16);
 *     centred    masked by a disc matte (radius MATTE_DISC of its side) at the frame centre;
 *     outer      the same, near the far end of the long axis.
 *   A matte that follows its clip (`clip`) shows a disc in both masked squares (white-visible) or a square with
 *   a disc hole (white-transparent). A matte stretched over the viewport becomes one ellipse round the frame
 *   centre: it covers the whole centred square and misses the outer one, so one square is fully shown and the
 *   other hidden, which way round telling the polarity. Each of the four readings, a matte ignored and a
 *   missing square give a different pattern, so no outcome is mistaken for another.
 *   square (1:1, 240×240): an alpha WebM (VP9) and an alpha MOV (qtrle), each a red square whose alpha is a disc,
 *     and a reference square: every scale base gives the same side at 1:1, a consistency check.
 */
export const PROBE_SECONDS = 1;
export const PROBE_FPS = 12;
/** The frame read from each render: mid-clip, away from the first frame. */
export const SAMPLE_AT_SEC = 0.5;
export const PROBE_SCALE = 0.25;
/** Side of the uploaded square videos (px). */
export const MEDIA_SIDE = 128;
/** Radius of the luma matte's white disc, as a fraction of the matte's side. */
export const MATTE_DISC = 0.25;
/** Radius of the alpha videos' opaque disc, as a fraction of their side. */
export const ALPHA_DISC = 0.35;
/**
 * How far from a square's centre, in sides, the "edge" samples sit: outside the discs (0.25; 0.35 for the alpha
 * probe, whose sample lies on the diagonal, 0.54 away) and inside the square (0.5).
 */
export const EDGE_SAMPLE = 0.38;
export const BACKGROUND = '#0000FF';

export type ProbeName = 'wide' | 'tall' | 'square';
export const PROBE_NAMES: readonly ProbeName[] = ['wide', 'tall', 'square'];

export interface FrameSize {
  width: number;
  height: number;
}

export const PROBE_SIZES: Record<ProbeName, FrameSize> = {
  wide: { width: 320, height: 180 },
  tall: { width: 180, height: 320 },
  square: { width: 240, height: 240 },
};

/** A point as fractions of the frame: x from the left, y from the top. */
export interface Spot {
  x: number;
  y: number;
}

export type LumaSquare = 'reference' | 'centred' | 'outer';

export interface LumaProbeLayout {
  /** Centre of each square. */
  squares: Record<LumaSquare, Spot>;
  /** Unit step from a masked square's centre to its edge sample (along the long axis). */
  edgeStep: Record<Exclude<LumaSquare, 'reference'>, Spot>;
  /** A point no square can reach under any reading. */
  background: Spot;
}

/**
 * Along the long axis: reference at 0.15, centred at 0.5, outer at 0.85. The outer square's edge sample lies on
 * its far side (further outside the stretched ellipse), the centred one's on the reference's side (still well
 * inside it), so under either geometry every sample is several pixels from any edge.
 */
function lumaLayout(longAxis: 'x' | 'y'): LumaProbeLayout {
  const along = (u: number): Spot => (longAxis === 'x' ? { x: u, y: 0.5 } : { x: 0.5, y: u });
  const step = (d: number): Spot => (longAxis === 'x' ? { x: d, y: 0 } : { x: 0, y: d });
  return {
    squares: { reference: along(0.15), centred: along(0.5), outer: along(0.85) },
    edgeStep: { centred: step(-1), outer: step(1) },
    background: longAxis === 'x' ? { x: 0.5, y: 0.08 } : { x: 0.08, y: 0.5 },
  };
}

export const LUMA_LAYOUT: Record<'wide' | 'tall', LumaProbeLayout> = { wide: lumaLayout('x'), tall: lumaLayout('y') };

export type AlphaSquare = 'webm' | 'mov' | 'reference';

export const ALPHA_LAYOUT = {
  squares: { webm: { x: 0.25, y: 0.3 }, mov: { x: 0.75, y: 0.3 }, reference: { x: 0.5, y: 0.75 } } satisfies Record<AlphaSquare, Spot>,
  /** Unit step from an alpha square's centre to its corner sample (towards the top-left corner). */
  cornerStep: { x: -1, y: -1 } satisfies Spot,
  background: { x: 0.5, y: 0.3 } satisfies Spot,
};

/** The uploaded sources a calibration's Edits name. */
export interface ProbeSources {
  /** A red square video. */
  red: string;
  /** A white disc (radius MATTE_DISC) on black, same size as `red`. */
  matte: string;
  /** Red squares whose alpha is a disc (radius ALPHA_DISC). */
  webm: string;
  mov: string;
}

/** The side every reading agrees a square has at 1:1, and what each scale base predicts elsewhere. */
export function expectedSide(base: 'fit' | 'width' | 'height', size: FrameSize): number {
  const along = base === 'width' ? size.width : base === 'height' ? size.height : Math.min(size.width, size.height);
  return PROBE_SCALE * along;
}

const round3 = (n: number) => Math.round(n * 1000) / 1000;

/** A clip placing a square asset centred on `spot` (Shotstack's offset: fractions of the viewport, +y up). */
function squareClip(asset: Clip['asset'], spot: Spot): Clip {
  return {
    asset,
    start: 0,
    length: PROBE_SECONDS,
    fit: 'contain',
    scale: PROBE_SCALE,
    position: 'center',
    offset: { x: round3(spot.x - 0.5), y: round3(0.5 - spot.y) },
  };
}

function maskedTrack(src: ProbeSources, spot: Spot) {
  return { clips: [squareClip({ type: 'luma', src: src.matte }, spot), squareClip({ type: 'video', src: src.red, volume: 0 }, spot)] };
}

function probeEdit(size: FrameSize, tracks: Edit['timeline']['tracks']): Edit {
  return {
    timeline: { background: BACKGROUND, tracks },
    output: { format: 'mp4', size: { ...size }, fps: PROBE_FPS, mute: true },
  };
}

export function lumaProbeEdit(name: 'wide' | 'tall', src: ProbeSources): Edit {
  const { squares } = LUMA_LAYOUT[name];
  return probeEdit(PROBE_SIZES[name], [
    maskedTrack(src, squares.centred),
    maskedTrack(src, squares.outer),
    { clips: [squareClip({ type: 'video', src: src.red, volume: 0 }, squares.reference)] },
  ]);
}

export function alphaProbeEdit(src: ProbeSources): Edit {
  const { squares } = ALPHA_LAYOUT;
  return probeEdit(PROBE_SIZES.square, [
    { clips: [squareClip({ type: 'video', src: src.webm, volume: 0 }, squares.webm)] },
    { clips: [squareClip({ type: 'video', src: src.mov, volume: 0 }, squares.mov)] },
    { clips: [squareClip({ type: 'video', src: src.red, volume: 0 }, squares.reference)] },
  ]);
}

export function probeEdits(src: ProbeSources): Record<ProbeName, Edit> {
  return { wide: lumaProbeEdit('wide', src), tall: lumaProbeEdit('tall', src), square: alphaProbeEdit(src) };
}

/** What one calibration costs on the service (sandbox renders are rate-limited; production ones are billed). */
export const PROBE_COST = {
  renders: PROBE_NAMES.length,
  outputSeconds: PROBE_NAMES.length * PROBE_SECONDS,
  uploads: 4,
} as const;
