import { pixelAt, type Rgb, type RgbFrame } from '../probe-media.js';
import type { Spot } from './probes.js';

/**
 * Reading a probe frame: what colour a point shows and how large a red square is. Pure functions of the pixels.
 */
export type Seen = 'red' | 'blue' | 'other';

/** How far a channel must lead the other two for a pixel to count as that colour. */
const DOMINANCE = 80;

/**
 * Red or blue by a dominant channel rather than by absolute levels: a semi-transparent watermark (the sandbox
 * stamps one on every render) lifts all three channels alike and leaves the answer unchanged, while a blend of
 * red and blue (an edge, a half-applied matte) reads as `other`.
 */
export function seenColour([r, g, b]: Rgb): Seen {
  if (r - Math.max(g, b) >= DOMINANCE) return 'red';
  if (b - Math.max(r, g) >= DOMINANCE) return 'blue';
  return 'other';
}

const median = (values: number[]) => values.sort((a, b) => a - b)[values.length >> 1]!;

/** The per-channel median of the 3×3 pixels round (x, y): one compression speck does not decide a sample. */
export function sampleAt(frame: RgbFrame, x: number, y: number): Rgb {
  const px: Rgb[] = [];
  for (let dy = -1; dy <= 1; dy++) {
    for (let dx = -1; dx <= 1; dx++) {
      px.push(pixelAt(frame, clamp(Math.round(x) + dx, 0, frame.width - 1), clamp(Math.round(y) + dy, 0, frame.height - 1)));
    }
  }
  return [0, 1, 2].map((c) => median(px.map((p) => p[c]!))) as Rgb;
}

function clamp(n: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, n));
}

export interface Sample {
  /** Pixel coordinates, rounded. */
  at: [number, number];
  rgb: Rgb;
  seen: Seen;
}

export function sample(frame: RgbFrame, x: number, y: number): Sample {
  const rgb = sampleAt(frame, x, y);
  return { at: [Math.round(x), Math.round(y)], rgb, seen: seenColour(rgb) };
}

/** A spot (fractions of the frame) in pixels; pixel centres lie at +0.5, hence the −0.5. */
export function spotPx(frame: { width: number; height: number }, spot: Spot): [number, number] {
  return [spot.x * frame.width - 0.5, spot.y * frame.height - 0.5];
}

export interface MeasuredSquare {
  width: number;
  height: number;
  centre: [number, number];
}

/** Steps from (x, y) by (dx, dy) while the next pixel is red; returns how many steps were taken. */
function redRun(frame: RgbFrame, x: number, y: number, dx: number, dy: number): number {
  let n = 0;
  for (;;) {
    const nx = x + dx * (n + 1);
    const ny = y + dy * (n + 1);
    if (nx < 0 || ny < 0 || nx >= frame.width || ny >= frame.height) return n;
    if (seenColour(pixelAt(frame, nx, ny)) !== 'red') return n;
    n++;
  }
}

/**
 * The red square round (x, y): scans its row and column outwards until the colour changes. Null when (x, y)
 * itself is not red. Edge pixels blended half-way count as outside, so a side may read a pixel or two short.
 */
export function measureRedSquare(frame: RgbFrame, x: number, y: number): MeasuredSquare | null {
  const cx = Math.round(x);
  const cy = Math.round(y);
  if (seenColour(sampleAt(frame, cx, cy)) !== 'red' || seenColour(pixelAt(frame, cx, cy)) !== 'red') return null;
  const left = redRun(frame, cx, cy, -1, 0);
  const right = redRun(frame, cx, cy, 1, 0);
  const up = redRun(frame, cx, cy, 0, -1);
  const down = redRun(frame, cx, cy, 0, 1);
  return {
    width: left + right + 1,
    height: up + down + 1,
    centre: [cx + (right - left) / 2, cy + (down - up) / 2],
  };
}

/** How far a measured length may be from a prediction: a few pixels of edge blending, or 8 %. */
export function tolerance(expected: number): number {
  return Math.max(3, 0.08 * expected);
}

export function near(measured: number, expected: number): boolean {
  return Math.abs(measured - expected) <= tolerance(expected);
}

export function describe(s: Sample): string {
  return `(${s.at[0]}, ${s.at[1]}) rgb(${s.rgb.join(', ')})`;
}
