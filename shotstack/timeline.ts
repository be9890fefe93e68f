import { anchorColumn, anchorOffset, anchorRow } from './anchor.js';
import { DEFAULT_ROUNDED_CORNER, buildRingClip, ringProblems, type BubbleRing, type BubbleShape } from './bubble-ring.js';
import { outputPixelSize } from './output-size.js';
import type { RendererReadings, ScaleBase } from './readings.js';
import type { Clip, Edit, Track } from './types.js';

/**
 * The bubble timeline builder: a pure function from (background video, speaker bubble, options) to a Shotstack
 * Edit. No I/O, no clock, no randomness — the same input always gives the same Edit, so it is tested by value.
 *
 * Layout (tracks[0] is the TOP layer in Shotstack):
 *   tracks[0] = the bubble: a luma pair (the `luma` clip masks the colour clip on the same track — Shotstack's
 *               documented masking route) or one alpha video (MOV qtrle / WebM VP9α; undocumented, an option);
 *   tracks[1] = (only with `ring`) a shape asset drawing a ring around the bubble (see bubble-ring.ts);
 *   last      = the background, fit `crop` (fills the frame, keeps its aspect, crops the overflow).
 *
 * Geometry: the output size is emitted as an explicit `size` (see output-size.ts), so the pixel maths below is
 * exactly what the renderer uses. `offset` is a fraction of the viewport (x of the width, y of the height, +y =
 * up); the margin is given as a fraction of the output WIDTH and converted per axis, so it is the same number of
 * pixels on both axes.
 *
 * Readings: where Shotstack's docs leave the meaning of an Edit open, the builder takes the renderer's measured
 * behaviour as input (`options.readings`, shotstack/readings.ts) instead of assuming one:
 *   scale          what `scale` multiplies — the square after fit `contain` (side min(W, H)), the output width or
 *                  its height; the bubble's scale is side / that;
 *   luma           a white-transparent renderer gets the inverted matte;
 *   luma-geometry  a renderer that stretches every luma clip over the viewport gets a viewport-size matte (the
 *                  disc drawn at the bubble's pixel place on a black W×H canvas) in a luma clip with neutral
 *                  geometry (a W×H asset at fit crop, centre, scale 1 covers the viewport exactly under every
 *                  reading), while the colour clip keeps its placement;
 *   alpha-mov/webm an alpha overlay the renderer would flatten is refused (RangeError naming the reading).
 * Each matte form is a separate source (`overlay.*MatteSrc`); `matteVariantFor` says which one the readings need.
 *
 * A background shorter than the output is LOOPED by repeating its clip back to back (the last repetition cut
 * to fit); its audio loops with it. We loop rather than freeze: a frozen frame reads as a broken video, and
 * repetition needs nothing Shotstack might not support. When the bubble is shorter than the output (duration
 * rule `background`), the bubble simply ends and the background plays on.
 *
 * Audio: the speaker's voice comes from the overlay clip (the colour clip or the alpha video) at volume 1; the
 * background plays at `backgroundVolume` when `backgroundAudio` is on and it has audio, else at volume 0
 * (Shotstack's default volume is 1, so "off" must be explicit).
 */

export type BubblePosition =
  | 'topLeft'
  | 'top'
  | 'topRight'
  | 'left'
  | 'center'
  | 'right'
  | 'bottomLeft'
  | 'bottom'
  | 'bottomRight';

export const BUBBLE_POSITIONS: readonly BubblePosition[] = [
  'topLeft',
  'top',
  'topRight',
  'left',
  'center',
  'right',
  'bottomLeft',
  'bottom',
  'bottomRight',
];

export type BubbleAspect = '9:16' | '16:9' | '1:1' | '4:5';
export type BubbleResolution = 'sd' | 'hd' | '1080';
export type DurationRule = 'bubble' | 'background' | 'shorter';

/** Frame rates Shotstack accepts (`output.fps`). */
export const SHOTSTACK_FPS = [12, 15, 23.976, 24, 25, 29.97, 30, 48, 50, 59.94, 60] as const;

/** The forms a luma matte can take; which one a renderer needs follows from its readings (`matteVariantFor`). */
export type MatteVariant = 'square' | 'square-inverted' | 'viewport' | 'viewport-inverted';

/** The luma overlay field that carries each matte form. */
export const MATTE_SOURCE_FIELD = {
  square: 'matteSrc',
  'square-inverted': 'invertedMatteSrc',
  viewport: 'viewportMatteSrc',
  'viewport-inverted': 'invertedViewportMatteSrc',
} as const satisfies Record<MatteVariant, string>;

/**
 * The bubble. A luma overlay names its matte forms; only the one the readings need is required (`matteVariantFor`);
 * make it from the engine's with `prepareMatte()` (shotstack/matte.ts) before ingesting.
 */
export type BubbleOverlay =
  | {
      kind: 'luma';
      /** The bubble square (H.264, black where transparent), carrying the speaker's voice. */
      colorSrc: string;
      /** The engine's matte: identical size/timing to the colour square, white = visible. */
      matteSrc?: string;
      /** The same, inverted (white = transparent): readings luma=white-transparent. */
      invertedMatteSrc?: string;
      /** The disc at the bubble's place on a black viewport-size canvas: luma-geometry=viewport. */
      viewportMatteSrc?: string;
      /** The viewport matte inverted: luma=white-transparent with luma-geometry=viewport. */
      invertedViewportMatteSrc?: string;
    }
  | {
      kind: 'alpha';
      /** MOV qtrle (argb) or WebM VP9 with alpha, square, with the voice. */
      src: string;
      /** Which of the two; unset = either, so both alpha readings must be `kept`. */
      format?: 'mov' | 'webm';
    };

export interface BubbleEditOptions {
  position: BubblePosition;
  /** Bubble side as a fraction of the output width, e.g. 0.35. */
  size: number;
  /** Gap between the bubble and the frame edges, as a fraction of the output width (same pixels on both axes). */
  margin: number;
  aspect: BubbleAspect;
  resolution: BubbleResolution;
  fps: number;
  duration: DurationRule;
  backgroundAudio: boolean;
  /** 0..1 */
  backgroundVolume: number;
  /** How the renderer reads the Edit where Shotstack's docs are open (calibrated, forced or emulated). */
  readings: RendererReadings;
  /** A ring drawn around the bubble by Shotstack (shape asset on a track under the bubble); unset = none. */
  ring?: BubbleRing;
  /** The bubble's cut, as the engine made it; only the ring uses it. Default `circle`. */
  shape?: BubbleShape;
  /** Corner radius of a `rounded` bubble, fraction of its side (the engine's `cornerRadius`). Default 0.18. */
  cornerRadius?: number;
}

/** What the bubble's place depends on (the layout choices, not the renderer's readings). */
export type BubbleGeometryOptions = Pick<BubbleEditOptions, 'position' | 'size' | 'margin' | 'aspect' | 'resolution'>;

export interface BubbleEditInput {
  background: { src: string; durationSec: number; hasAudio: boolean };
  overlay: BubbleOverlay;
  overlayDurationSec: number;
  options: BubbleEditOptions;
}

/** Seconds rounded to the millisecond, so float noise never reaches the JSON (or overlaps clips). */
function ms(sec: number): number {
  return Math.round(sec * 1000) / 1000;
}

function round(n: number, digits = 6): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

export function outputDuration(input: Pick<BubbleEditInput, 'background' | 'overlayDurationSec' | 'options'>): number {
  const bg = input.background.durationSec;
  const bubble = input.overlayDurationSec;
  switch (input.options.duration) {
    case 'bubble':
      return ms(bubble);
    case 'background':
      return ms(bg);
    case 'shorter':
      return ms(Math.min(bg, bubble));
  }
}

export interface BubblePlacement {
  /** Output size in pixels. */
  width: number;
  height: number;
  /** Bubble side in pixels and its top-left corner, as the renderer should place it. */
  side: number;
  x: number;
  y: number;
  /** The clip `offset` that produces it from `position` (the `scale` depends on the readings: `clipScale`). */
  offset: { x: number; y: number };
}

/** Where the bubble lands, in pixels and in Shotstack terms. Exported for tests, previews and viewport mattes. */
export function bubblePlacement(options: BubbleGeometryOptions): BubblePlacement {
  const { width: W, height: H } = outputPixelSize(options.resolution, options.aspect);
  const side = options.size * W;
  const marginPx = options.margin * W;
  const col = anchorColumn(options.position);
  const row = anchorRow(options.position);
  // The margin keeps the bubble off the edges it is anchored to; centred axes have no margin.
  const x = col === 0 ? marginPx : col === 2 ? W - side - marginPx : (W - side) / 2;
  const y = row === 0 ? marginPx : row === 2 ? H - side - marginPx : (H - side) / 2;
  const offset = anchorOffset(options.position, { x, y, width: side, height: side }, { width: W, height: H });
  return {
    width: W,
    height: H,
    side: round(side, 3),
    x: round(x, 3),
    y: round(y, 3),
    offset: { x: round(offset.x), y: round(offset.y) },
  };
}

/**
 * The clip `scale` that makes a square asset `side` pixels wide, for what the renderer multiplies (reading
 * `scale`): the square after fit `contain` (min(W, H)), the output width, or the output height.
 */
export function clipScale(p: Pick<BubblePlacement, 'side' | 'width' | 'height'>, base: ScaleBase): number {
  const reference = { fit: Math.min(p.width, p.height), width: p.width, height: p.height }[base];
  return round(p.side / reference);
}

/** The matte form a renderer with these readings needs. */
export function matteVariantFor(r: Pick<RendererReadings, 'luma' | 'lumaGeometry'>): MatteVariant {
  const inverted = r.luma === 'white-transparent';
  if (r.lumaGeometry === 'viewport') return inverted ? 'viewport-inverted' : 'viewport';
  return inverted ? 'square-inverted' : 'square';
}

/** What the renderer would do wrong with this overlay under these readings (empty when nothing). */
function overlayProblems(overlay: BubbleOverlay, r: RendererReadings): string[] {
  if (overlay.kind === 'luma') {
    const field = MATTE_SOURCE_FIELD[matteVariantFor(r)];
    if (overlay[field]) return [];
    return [`overlay.${field} is required under readings luma=${r.luma}, luma-geometry=${r.lumaGeometry} (see prepareMatte())`];
  }
  const formats = overlay.format ? [overlay.format] : (['mov', 'webm'] as const);
  return formats
    .filter((f) => r[f === 'mov' ? 'alphaMov' : 'alphaWebm'] === 'lost')
    .map((f) => `the renderer loses the alpha of a ${f.toUpperCase()} overlay (reading alpha-${f}=lost): use a luma overlay`);
}

function assertOptions(input: BubbleEditInput, placement: BubblePlacement): void {
  const o = input.options;
  const problems: string[] = [];
  if (!(o.size > 0 && o.size <= 1)) problems.push(`size must be in (0, 1], got ${o.size}`);
  if (!(o.margin >= 0 && o.margin < 0.5)) problems.push(`margin must be in [0, 0.5), got ${o.margin}`);
  if (placement.side + 2 * o.margin * placement.width > Math.min(placement.width, placement.height) + 1e-9) {
    problems.push(`a bubble of size ${o.size} with margin ${o.margin} does not fit a ${placement.width}×${placement.height} frame`);
  }
  if (!(SHOTSTACK_FPS as readonly number[]).includes(o.fps)) problems.push(`fps must be one of ${SHOTSTACK_FPS.join(', ')}, got ${o.fps}`);
  if (!(o.backgroundVolume >= 0 && o.backgroundVolume <= 1)) problems.push(`backgroundVolume must be in [0, 1], got ${o.backgroundVolume}`);
  if (!(input.background.durationSec > 0)) problems.push('background.durationSec must be > 0');
  if (!(input.overlayDurationSec > 0)) problems.push('overlayDurationSec must be > 0');
  problems.push(...overlayProblems(input.overlay, o.readings));
  if (o.ring) problems.push(...ringProblems(o.ring));
  if (o.cornerRadius !== undefined && !(o.cornerRadius >= 0 && o.cornerRadius <= 0.5)) {
    problems.push(`cornerRadius must be in [0, 0.5], got ${o.cornerRadius}`);
  }
  if (problems.length) throw new RangeError(`buildBubbleEdit: ${problems.join('; ')}`);
}

/**
 * A viewport-size matte fills the frame at fit crop, centre, scale 1 whichever geometry and scale base the
 * renderer uses, so the disc drawn in it lands where it was drawn.
 */
const VIEWPORT_LUMA_GEOMETRY = { fit: 'crop', position: 'center' } as const satisfies Partial<Clip>;

function lumaClip(
  overlay: Extract<BubbleOverlay, { kind: 'luma' }>,
  readings: RendererReadings,
  length: number,
  bubbleGeometry: Partial<Clip>,
): Clip {
  const variant = matteVariantFor(readings);
  const geometry = readings.lumaGeometry === 'viewport' ? VIEWPORT_LUMA_GEOMETRY : bubbleGeometry;
  return { asset: { type: 'luma', src: overlay[MATTE_SOURCE_FIELD[variant]]! }, start: 0, length, ...geometry };
}

export function buildBubbleEdit(input: BubbleEditInput): Edit {
  const { options } = input;
  const placement = bubblePlacement(options);
  assertOptions(input, placement);
  const total = outputDuration(input);
  const bubbleLength = ms(Math.min(input.overlayDurationSec, total));

  const bubbleGeometry = {
    fit: 'contain',
    scale: clipScale(placement, options.readings.scale),
    position: options.position,
    ...(options.position === 'center' ? {} : { offset: placement.offset }),
  } as const satisfies Partial<Clip>;

  const bubbleClips: Clip[] =
    input.overlay.kind === 'luma'
      ? [
          lumaClip(input.overlay, options.readings, bubbleLength, bubbleGeometry),
          { asset: { type: 'video', src: input.overlay.colorSrc, volume: 1 }, start: 0, length: bubbleLength, ...bubbleGeometry },
        ]
      : [{ asset: { type: 'video', src: input.overlay.src, volume: 1 }, start: 0, length: bubbleLength, ...bubbleGeometry }];

  const bgVolume = options.backgroundAudio && input.background.hasAudio ? options.backgroundVolume : 0;
  const bgLength = ms(input.background.durationSec);
  const backgroundClips: Clip[] = [];
  for (let start = 0; start < total - 0.0005; start = ms(start + bgLength)) {
    backgroundClips.push({
      asset: { type: 'video', src: input.background.src, volume: bgVolume },
      start,
      length: ms(Math.min(bgLength, total - start)),
      fit: 'crop',
    });
  }

  // The ring lies under the bubble: the bubble's soft edge fades into it (see RING_TUCK_PX).
  const ringTracks: Track[] = options.ring
    ? [{
        clips: [buildRingClip(options.ring, {
          shape: options.shape ?? 'circle',
          cornerRadius: options.cornerRadius ?? DEFAULT_ROUNDED_CORNER,
          position: options.position,
          placement,
          length: bubbleLength,
        })],
      }]
    : [];
  const tracks: Track[] = [{ clips: bubbleClips }, ...ringTracks, { clips: backgroundClips }];
  return {
    timeline: { background: '#000000', tracks },
    output: {
      format: 'mp4',
      size: { width: placement.width, height: placement.height },
      fps: options.fps as NonNullable<Edit['output']['fps']>,
    },
  };
}
