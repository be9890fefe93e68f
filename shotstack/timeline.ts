import { anchorColumn, anchorOffset, anchorRow } from './anchor.js';
import { DEFAULT_ROUNDED_CORNER, buildRingClip, ringProblems, type BubbleRing, type BubbleShape } from './bubble-ring.js';
import { outputPixelSize } from './output-size.js';
import type { Clip, Edit, LumaPolarity, Track } from './types.js';

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
 * exactly what the renderer uses. The bubble asset is a square; with fit `contain` Shotstack first fits it to
 * the viewport (its side becomes min(W, H)) and then multiplies by `scale`, so scale = side / min(W, H).
 * `offset` is a fraction of the viewport (x of the width, y of the height, +y = up); the margin is given as a
 * fraction of the output WIDTH and converted per axis, so it is the same number of pixels on both axes.
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

export type BubbleOverlay =
  | {
      kind: 'luma';
      /** The bubble square (H.264, black where transparent), carrying the speaker's voice. */
      colorSrc: string;
      /** Greyscale matte of identical size/timing, white = visible (the engine's convention). */
      matteSrc: string;
      /**
       * The same matte inverted (white = transparent). Required only when `lumaPolarity` is
       * `white-transparent`; make it with `invertMatte()` (shotstack/matte.ts) before ingesting.
       */
      invertedMatteSrc?: string;
    }
  | { kind: 'alpha'; /** MOV qtrle (argb) or WebM VP9 with alpha, square, with the voice. */ src: string };

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
  lumaPolarity: LumaPolarity;
  /** A ring drawn around the bubble by Shotstack (shape asset on a track under the bubble); unset = none. */
  ring?: BubbleRing;
  /** The bubble's cut, as the engine made it; only the ring uses it. Default `circle`. */
  shape?: BubbleShape;
  /** Corner radius of a `rounded` bubble, fraction of its side (the engine's `cornerRadius`). Default 0.18. */
  cornerRadius?: number;
}

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
  /** The Shotstack clip properties that produce it. */
  scale: number;
  offset: { x: number; y: number };
}

/** Where the bubble lands, in pixels and in Shotstack terms. Exported for tests and previews. */
export function bubblePlacement(options: BubbleEditOptions): BubblePlacement {
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
    scale: round(side / Math.min(W, H)),
    offset: { x: round(offset.x), y: round(offset.y) },
  };
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
  if (input.overlay.kind === 'luma' && o.lumaPolarity === 'white-transparent' && !input.overlay.invertedMatteSrc) {
    problems.push('lumaPolarity is white-transparent: overlay.invertedMatteSrc is required (see invertMatte())');
  }
  if (o.ring) problems.push(...ringProblems(o.ring));
  if (o.cornerRadius !== undefined && !(o.cornerRadius >= 0 && o.cornerRadius <= 0.5)) {
    problems.push(`cornerRadius must be in [0, 0.5], got ${o.cornerRadius}`);
  }
  if (problems.length) throw new RangeError(`buildBubbleEdit: ${problems.join('; ')}`);
}

export function buildBubbleEdit(input: BubbleEditInput): Edit {
  const { options } = input;
  const placement = bubblePlacement(options);
  assertOptions(input, placement);
  const total = outputDuration(input);
  const bubbleLength = ms(Math.min(input.overlayDurationSec, total));

  const bubbleGeometry = {
    fit: 'contain',
    scale: placement.scale,
    position: options.position,
    ...(options.position === 'center' ? {} : { offset: placement.offset }),
  } as const satisfies Partial<Clip>;

  const bubbleClips: Clip[] =
    input.overlay.kind === 'luma'
      ? [
          {
            asset: {
              type: 'luma',
              src: options.lumaPolarity === 'white-transparent' ? input.overlay.invertedMatteSrc! : input.overlay.matteSrc,
            },
            start: 0,
            length: bubbleLength,
            ...bubbleGeometry,
          },
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
