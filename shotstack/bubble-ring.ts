import { anchorOffset } from './anchor.js';
import type { BubblePlacement, BubblePosition } from './timeline.js';
import type { Clip } from './types.js';

/**
 * The optional ring around the bubble, drawn by Shotstack itself with a `shape` asset (stroke only, transparent
 * fill) on a track just below the bubble. The schema (`ShapeAsset` in @shotstack/schemas) offers `circle` with
 * a `radius`, `rectangle` with `width`/`height`/`cornerRadius` (all integers), a `stroke` {color, width} and a
 * `fill` {color, opacity}, inside a bounding box `width`×`height`; the clip's `position`/`offset` place that box
 * like any asset. So every bubble cut has an exact counterpart: circle → circle, rect → rectangle,
 * rounded → rectangle with the bubble's corner radius.
 *
 * Assumptions the real service has not been checked against (no sandbox key in the sessions that wrote this):
 * - the stroke is centred on the outline (as in SVG, canvas and PixiJS);
 * - the shape is drawn centred in its bounding box, and `fit: "none"` shows that box at its pixel size.
 * Shotstack's guide marks the shape asset "deprecated in a future release" in favour of the SVG asset; the
 * shape asset is still in the schema (1.18) and is the simpler one to check, so it is used here.
 *
 * No shadow: a shadow needs a soft edge, and the shape asset has none; the clip-level `filter: "blur"` has no
 * documented radius, so neither its look on Shotstack nor a matching local rendering can be pinned down. A hard
 * semi-transparent offset disc would read as a second, misplaced bubble rather than as depth.
 */
export type BubbleShape = 'circle' | 'rounded' | 'rect';

export interface BubbleRing {
  /** #RRGGBB */
  color: string;
  /** Ring thickness outside the bubble edge, in output pixels. */
  widthPx: number;
}

/** The engine's default corner radius for `rounded`, as a fraction of the side (engine/options.ts). */
export const DEFAULT_ROUNDED_CORNER = 0.18;
export const MAX_RING_WIDTH_PX = 64;

/**
 * How far the ring reaches UNDER the bubble, px. The engine feathers the bubble's edge inwards (6 px by
 * default), so a ring that started exactly at the edge would show a thin line of background through the soft
 * edge; starting it this far inside makes the soft edge fade into the ring instead. The bubble covers that part.
 */
export const RING_TUCK_PX = 6;

/** Pixels of transparent margin inside the shape's bounding box, so the anti-aliased edge is never clipped. */
const BOX_SLACK_PX = 2;

const HEX_COLOUR = /^#[0-9a-fA-F]{6}$/;

export function ringProblems(ring: BubbleRing): string[] {
  const problems: string[] = [];
  if (!HEX_COLOUR.test(ring.color)) problems.push(`ring.color must be #RRGGBB, got ${JSON.stringify(ring.color)}`);
  if (!(Number.isFinite(ring.widthPx) && ring.widthPx > 0 && ring.widthPx <= MAX_RING_WIDTH_PX)) {
    problems.push(`ring.widthPx must be in (0, ${MAX_RING_WIDTH_PX}], got ${ring.widthPx}`);
  }
  return problems;
}

function evenCeil(n: number): number {
  return Math.ceil(n / 2) * 2;
}

function round6(n: number): number {
  return Math.round(n * 1e6) / 1e6;
}

/** Where the ring's outline runs and how wide its stroke is (before the integer rounding the schema asks for). */
export function ringStroke(ring: BubbleRing, side: number): { outlineSide: number; strokeWidth: number } {
  // The stroke spans [edge - tuck, edge + widthPx]; centred on the outline, so the outline is offset from the
  // bubble edge by half the difference (negative for a ring thinner than the tuck: still correct).
  const outset = (ring.widthPx - RING_TUCK_PX) / 2;
  return { outlineSide: side + 2 * outset, strokeWidth: ring.widthPx + RING_TUCK_PX };
}

export function buildRingClip(
  ring: BubbleRing,
  bubble: { shape: BubbleShape; cornerRadius: number; position: BubblePosition; placement: BubblePlacement; length: number },
): Clip {
  const { placement: p } = bubble;
  const { outlineSide, strokeWidth } = ringStroke(ring, p.side);
  const outset = (outlineSide - p.side) / 2;
  const boxSide = evenCeil(p.side + 2 * ring.widthPx + 2 * BOX_SLACK_PX);
  // The box is centred on the bubble's centre; the shape is drawn centred in it.
  const box = { x: p.x + p.side / 2 - boxSide / 2, y: p.y + p.side / 2 - boxSide / 2, width: boxSide, height: boxSide };
  const offset = anchorOffset(bubble.position, box, p);
  const style = {
    width: boxSide,
    height: boxSide,
    // Transparent fill, said explicitly: Shotstack does not document a default fill.
    fill: { color: ring.color, opacity: 0 },
    stroke: { color: ring.color, width: strokeWidth },
  };
  const asset: Clip['asset'] =
    bubble.shape === 'circle'
      ? { type: 'shape', shape: 'circle', ...style, circle: { radius: Math.round(outlineSide / 2) } }
      : {
          type: 'shape',
          shape: 'rectangle',
          ...style,
          rectangle: {
            width: Math.round(outlineSide),
            height: Math.round(outlineSide),
            // An outline offset by d from a rounded square of corner radius R has corner radius R + d.
            ...(bubble.shape === 'rounded'
              ? { cornerRadius: Math.max(0, Math.round(bubble.cornerRadius * p.side + outset)) }
              : {}),
          },
        };
  return {
    asset,
    start: 0,
    length: bubble.length,
    fit: 'none',
    position: bubble.position,
    ...(bubble.position === 'center' ? {} : { offset: { x: round6(offset.x), y: round6(offset.y) } }),
  };
}
