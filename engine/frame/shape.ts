import type { ShapeName } from '../types.js';

/**
 * The bubble's shape as a per-pixel coverage map over the crop square (computed once per video):
 * `alpha` is the shape with a soft (feathered) edge, `ring` the optional border's coverage.
 * Signed distances keep every shape on one formula, with the edge anti-aliased even when feather is 0.
 */
export interface ShapeMask {
  side: number;
  /** Per row, the first and one-past-last column with non-zero alpha: compositing skips the rest. */
  spanStart: Int32Array;
  spanEnd: Int32Array;
  alpha: Float32Array;
  ring: Float32Array | null;
  ringRgb: [number, number, number];
}

export function buildShapeMask(
  side: number,
  shape: ShapeName,
  featherPx: number,
  cornerRadius: number,
  border: { widthPx: number; color: string } | null,
): ShapeMask {
  const alpha = new Float32Array(side * side);
  const ring = border && border.widthPx > 0 ? new Float32Array(side * side) : null;
  const h = side / 2;
  const radius = shape === 'circle' ? h : shape === 'rounded' ? Math.min(cornerRadius, 0.5) * side : 0;
  const feather = Math.max(featherPx, 1);
  for (let y = 0; y < side; y++) {
    for (let x = 0; x < side; x++) {
      const px = Math.abs(x + 0.5 - h);
      const py = Math.abs(y + 0.5 - h);
      // Signed distance to a rounded square of half-size h and corner radius r (a circle when r = h).
      const qx = px - (h - radius);
      const qy = py - (h - radius);
      const ox = Math.max(qx, 0);
      const oy = Math.max(qy, 0);
      // Not Math.hypot: V8 runs it as a generic builtin, ≈ 5× the time of this over the side² pixels of each render.
      const outside = Math.sqrt(ox * ox + oy * oy);
      const inside = Math.min(Math.max(qx, qy), 0);
      const dist = outside + inside - radius; // < 0 inside
      const a = clamp01(-dist / feather);
      alpha[y * side + x] = a;
      if (ring && border) ring[y * side + x] = a * (1 - clamp01(-dist - border.widthPx));
    }
  }
  const spanStart = new Int32Array(side);
  const spanEnd = new Int32Array(side);
  for (let y = 0; y < side; y++) {
    let a = 0;
    while (a < side && alpha[y * side + a] === 0) a++;
    let b = side;
    while (b > a && alpha[y * side + b - 1] === 0) b--;
    spanStart[y] = a;
    spanEnd[y] = b;
  }
  return { side, alpha, ring, ringRgb: border ? hexToRgb(border.color) : [0, 0, 0], spanStart, spanEnd };
}

export function hexToRgb(hex: string): [number, number, number] {
  const v = parseInt(hex.replace('#', ''), 16);
  return [(v >> 16) & 255, (v >> 8) & 255, v & 255];
}

function clamp01(v: number): number {
  return v < 0 ? 0 : v > 1 ? 1 : v;
}
