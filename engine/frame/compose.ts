import { samplingTable } from './preprocess.js';
import type { ShapeMask } from './shape.js';
import { rgbToYuv601 } from './yuv420.js';

/** Steps of the soft threshold's table over p ∈ [0, 1]. */
export const SOFT_LUT_STEPS = 4096;

/**
 * Builds the bubble's RGBA pixels: the crop square of the frame, with alpha = shape × soft-thresholded person
 * probability (bilinear from the model grid) and the optional ring on top. Colour is zeroed where alpha is 0,
 * which makes every alpha codec's file several times smaller at no visible cost.
 *
 * All sampling tables cover the whole frame and are built once; a moving crop only shifts indices.
 */
export class Compositor {
  private readonly colI0: Int32Array;
  private readonly colI1: Int32Array;
  private readonly colW: Float32Array;
  private readonly rowI0: Int32Array;
  private readonly rowI1: Int32Array;
  private readonly rowW: Float32Array;
  private readonly rowTmp: Float32Array;
  /** For mask column k: the first frame column that samples k or later, and the last that samples k or earlier. */
  private readonly firstXFromCol: Int32Array;
  private readonly lastXToCol: Int32Array;
  /** Probability at or below which the soft threshold gives alpha 0. */
  private readonly low: number;
  /** Soft threshold as a lookup table over p ∈ [0,1] in 1/LUT_STEPS steps, giving alpha in 0..1. */
  private readonly lut: Float32Array;
  private static readonly LUT_STEPS = SOFT_LUT_STEPS;
  /** Probability above which the soft threshold is exactly 1. */
  private readonly full: number;
  /** For mask column k: the first frame column whose left sample is after k (colI0 is non-decreasing). */
  private readonly cellEnd: Int32Array;
  /** The shape's alpha in bytes, and per row the span where that is at least 1 (the YUV path's bounds). */
  private readonly shape8: { alpha: Uint8Array; start: Int32Array; end: Int32Array };
  private readonly planes: YuvPlanes;
  /** The map is at frame resolution (no interpolation between rows). */
  private readonly identity: boolean;
  /** The person spans [b0, b1) of the last even and odd bubble rows, for their shared chroma row. */
  private readonly spans = new Int32Array(4);

  constructor(
    private readonly frameWidth: number,
    private readonly frameHeight: number,
    private readonly maskWidth: number,
    private readonly maskHeight: number,
    private readonly shape: ShapeMask,
    softness: Softness = { low: 0.25, high: 0.75 },
  ) {
    [this.colI0, this.colI1, this.colW] = samplingTable(frameWidth, maskWidth);
    [this.rowI0, this.rowI1, this.rowW] = samplingTable(frameHeight, maskHeight);
    this.rowTmp = new Float32Array(maskWidth);
    this.identity = maskWidth === frameWidth && maskHeight === frameHeight;
    this.firstXFromCol = new Int32Array(maskWidth).fill(frameWidth);
    this.lastXToCol = new Int32Array(maskWidth).fill(-1);
    for (let X = frameWidth - 1; X >= 0; X--) this.firstXFromCol[this.colI1[X]] = X;
    for (let k = maskWidth - 2; k >= 0; k--) this.firstXFromCol[k] = Math.min(this.firstXFromCol[k], this.firstXFromCol[k + 1]);
    for (let X = 0; X < frameWidth; X++) this.lastXToCol[this.colI0[X]] = X;
    for (let k = 1; k < maskWidth; k++) this.lastXToCol[k] = Math.max(this.lastXToCol[k], this.lastXToCol[k - 1]);
    ({ lut: this.lut, full: this.full, low: this.low } = softThreshold(softness));
    this.cellEnd = new Int32Array(maskWidth);
    for (let k = 0, X = 0; k < maskWidth; k++) {
      while (X < frameWidth && this.colI0[X] <= k) X++;
      this.cellEnd[k] = X; // a mask column no frame column starts at gets an empty cell
    }
    this.shape8 = shapeByteSpans(shape);
    this.planes = yuvPlanes(frameWidth, frameHeight, shape.side);
  }

  /** Interpolates mask row for frame row Y into rowTmp (only the columns [k0, k1] are needed). */
  private maskRow(mask: Float32Array, Y: number, k0: number, k1: number): Float32Array {
    const mw = this.maskWidth;
    if (this.identity) {
      // A frame-resolution map (the edge refiner's): the row as it is, one block copy.
      this.rowTmp.set(mask.subarray(Y * mw + k0, Y * mw + k1 + 1), k0);
      return this.rowTmp;
    }
    const a = this.rowI0[Y] * mw;
    const b = this.rowI1[Y] * mw;
    const w = this.rowW[Y];
    const t = this.rowTmp;
    for (let k = k0; k <= k1; k++) t[k] = mask[a + k] + (mask[b + k] - mask[a + k]) * w;
    return t;
  }

  /** The soft threshold (0..1) of an interpolated mask row at frame column X: the one per-pixel formula. */
  private softAlpha(row: Float32Array, X: number): number {
    const c0 = this.colI0[X];
    const p = row[c0] + (row[this.colI1[X]] - row[c0]) * this.colW[X];
    return this.lut[p <= 0 ? 0 : p >= 1 ? Compositor.LUT_STEPS : (p * Compositor.LUT_STEPS) | 0];
  }

  /**
   * The frame columns [from, to] that can get alpha > 0 from this interpolated row: outside them both mask samples are
   * at or below the threshold, so the bubble's pixels there are cleared without any per-pixel work. A talking head
   * fills only the middle of most rows, so this skips a large share of the bubble. `from > to` when none can.
   */
  private visibleColumns(row: Float32Array, k0: number, k1: number): [number, number] {
    const low = this.low;
    let kMin = k0;
    while (kMin <= k1 && row[kMin] <= low) kMin++;
    if (kMin > k1) return [1, 0];
    let kMax = k1;
    while (row[kMax] <= low) kMax--;
    return [this.firstXFromCol[kMin], this.lastXToCol[kMax]];
  }

  /**
   * The bubble columns [b0, b1) of one row that can get alpha > 0 without a ring: the shape's span [a0, a1) narrowed
   * to where the person can be (visibleColumns), as crop offsets. Empty when b1 <= b0.
   */
  private personSpan(row: Float32Array, k0: number, k1: number, a0: number, a1: number, x0: number): [number, number] {
    const [from, to] = this.visibleColumns(row, k0, k1);
    return [Math.max(a0, from - x0), Math.min(a1, to - x0 + 1)];
  }

  /** Writes side×side RGBA for the crop whose top-left corner is (x0, y0). */
  compose(rgb: Uint8Array, mask: Float32Array, x0: number, y0: number, out: Uint8Array): void {
    const { side, alpha: shapeAlpha, ring, ringRgb, spanStart, spanEnd } = this.shape;
    const W = this.frameWidth;
    const colI0 = this.colI0;
    const colI1 = this.colI1;
    // Little-endian RGBA as one 32-bit word per pixel: one store instead of four.
    const out32 = new Uint32Array(out.buffer, out.byteOffset, side * side);
    const k0 = colI0[x0];
    const k1 = colI1[x0 + side - 1];
    const [rr, rg, rb] = ringRgb;
    for (let j = 0; j < side; j++) {
      const srow = j * side;
      const a0 = spanStart[j];
      const a1 = spanEnd[j];
      out32.fill(0, srow, srow + a0);
      out32.fill(0, srow + a1, srow + side);
      if (a1 <= a0) continue;
      const Y = y0 + j;
      const row = this.maskRow(mask, Y, k0, k1);
      // Without a ring, pixels where the person cannot be are plain zeros: clear them in bulk.
      let b0 = a0;
      let b1 = a1;
      if (!ring) {
        [b0, b1] = this.personSpan(row, k0, k1, a0, a1, x0);
        if (b1 <= b0) {
          out32.fill(0, srow + a0, srow + a1);
          continue;
        }
        out32.fill(0, srow + a0, srow + b0);
        out32.fill(0, srow + b1, srow + a1);
      }
      let src = (Y * W + x0 + b0) * 3;
      for (let i = b0; i < b1; i++, src += 3) {
        const a = shapeAlpha[srow + i] * this.softAlpha(row, x0 + i);
        if (ring) {
          const rc = ring[srow + i];
          const A = rc + (1 - rc) * a;
          if (A * 255 < 0.5) {
            out32[srow + i] = 0;
            continue;
          }
          const wp = ((1 - rc) * a) / A;
          const wr = rc / A;
          out32[srow + i] =
            ((rgb[src] * wp + rr * wr + 0.5) & 255) |
            (((rgb[src + 1] * wp + rg * wr + 0.5) & 255) << 8) |
            (((rgb[src + 2] * wp + rb * wr + 0.5) & 255) << 16) |
            (((A * 255 + 0.5) & 255) << 24);
          continue;
        }
        const a8 = (a * 255 + 0.5) | 0;
        out32[srow + i] = a8 === 0 ? 0 : (rgb[src] | (rgb[src + 1] << 8) | (rgb[src + 2] << 16) | (a8 << 24)) >>> 0;
      }
    }
  }

  /** Ring colour in BT.601 limited-range YUV (ffmpeg's default for yuv420p), converted once. */
  private ringYuvCache: [number, number, number] | null = null;
  private ringYuv(): [number, number, number] {
    if (!this.ringYuvCache) {
      const [r, g, b] = this.shape.ringRgb;
      this.ringYuvCache = rgbToYuv601(r, g, b);
    }
    return this.ringYuvCache;
  }
  /** Per-pixel ring weight of the last two rows (-1 where the pixel is fully transparent). */
  private ringW: Float32Array | null = null;

  /**
   * The YUV-native twin of `compose`: reads a planar yuv420p frame (W×H) and writes side×side yuva420p
   * (Y, U, V, A planes) for the crop at (x0, y0), both even. Y and U/V are plane copies; only alpha is computed per
   * pixel (the same soft threshold × shape as `compose`). Where alpha is 0 the colour is black (Y=16, U=V=128,
   * BT.601 limited range), so the luma pair's colour file stays black where transparent; a chroma sample is
   * black when all four of its pixels are transparent. The ring is blended in YUV with its colour converted once.
   */
  composeYuv(yuv: Uint8Array, mask: Float32Array, x0: number, y0: number, out: Uint8Array): void {
    const { side, ring } = this.shape;
    if ((x0 | y0 | side) & 1) throw new Error('composeYuv needs even crop offsets and side');
    if (ring) {
      this.composeYuvRing(yuv, mask, x0, y0, out);
      return;
    }
    const planes = this.planes;
    const k0 = this.colI0[x0];
    const k1 = this.colI1[x0 + side - 1];
    const { start, end } = this.shape8;
    // Plain Uint8Array views: their fill/set are V8 built-ins (Buffer's own fill is a JS wrapper, called per row here).
    const src = plainBytes(yuv);
    const dst = plainBytes(out);
    // Everything starts transparent and black; rows below overwrite only where the person can be.
    dst.fill(16, planes.yOut, planes.uOut);
    dst.fill(128, planes.uOut, planes.aOut);
    dst.fill(0, planes.aOut, planes.aOut + side * side);
    for (let j = 0; j < side; j++) {
      let b0 = start[j];
      let b1 = end[j];
      if (b1 > b0) {
        const row = this.maskRow(mask, y0 + j, k0, k1);
        const span = this.personSpan(row, k0, k1, b0, b1, x0);
        b0 = span[0];
        b1 = span[1];
        if (b1 > b0) {
          const yo = planes.yOut + j * side;
          const ys = (y0 + j) * this.frameWidth + x0;
          dst.set(src.subarray(ys + b0, ys + b1), yo + b0);
          this.alphaSpan(row, j, b0, b1, x0, dst, planes.aOut + j * side, yo);
        }
      }
      this.spans[(j & 1) * 2] = b0;
      this.spans[(j & 1) * 2 + 1] = b1;
      if (j & 1) this.chromaRow(src, dst, j, x0, y0);
    }
  }

  /**
   * Alpha for bubble columns [b0, b1) of row j: runs of mask cells where the person is certain (both interpolation
   * ends above the ramp) take the shape's alpha as it is, in one copy; only cells on the person's edge are
   * computed per pixel, and their luma is blackened where alpha comes out 0. Same bytes as the per-pixel formula:
   * in a certain cell the soft threshold is exactly 1, and the shape's alpha is at least 1/255 inside its span.
   */
  private alphaSpan(row: Float32Array, j: number, b0: number, b1: number, x0: number, out: Uint8Array, ao: number, yo: number): void {
    const { colI0, full, cellEnd } = this;
    const shapeAlpha = this.shape.alpha;
    const shape8 = this.shape8.alpha;
    const srow = j * this.shape.side;
    const last = this.maskWidth - 1;
    const kLast = colI0[x0 + b1 - 1];
    let i = b0;
    for (let k = colI0[x0 + b0]; i < b1; k++) {
      // Cell k spans mask columns k and k+1 (k alone at the last column).
      if (row[k] > full && row[k < last ? k + 1 : k] > full) {
        // A run of certain cells: cell k+1 is certain when column k+2 is too (k+1 already is).
        while (k < kLast && k + 2 <= last && row[k + 2] > full) k++;
        const end = Math.min(b1, cellEnd[k] - x0);
        out.set(shape8.subarray(srow + i, srow + end), ao + i);
        i = end;
        continue;
      }
      const end = Math.min(b1, cellEnd[k] - x0);
      for (; i < end; i++) {
        const a = shapeAlpha[srow + i] * this.softAlpha(row, x0 + i);
        const a8 = (a * 255 + 0.5) | 0;
        if (a8 === 0) out[yo + i] = 16;
        else out[ao + i] = a8;
      }
    }
  }

  /**
   * Chroma for luma rows j-1 and j (no ring): the source's U/V where any of the sample's four pixels is visible,
   * neutral elsewhere. Only the union of the two rows' person spans is inspected; two alpha bytes at a time.
   */
  private chromaRow(yuv: Uint8Array, out: Uint8Array, j: number, x0: number, y0: number): void {
    const planes = this.planes;
    const cs = this.shape.side >> 1;
    const cj = j >> 1;
    const uo = planes.uOut + cj * cs;
    const vo = planes.vOut + cj * cs;
    const [p0, p1, q0, q1] = this.spans;
    const lo = Math.min(p1 > p0 ? p0 : cs * 2, q1 > q0 ? q0 : cs * 2) >> 1;
    const hi = (Math.max(p1 > p0 ? p1 : 0, q1 > q0 ? q1 : 0) + 1) >> 1;
    if (hi <= lo) return;
    const cw = this.frameWidth >> 1;
    const cSrc = ((y0 + j) >> 1) * cw + (x0 >> 1);
    const us = planes.uSrc + cSrc;
    const vs = planes.vSrc + cSrc;
    const a16 = this.alphaPairs(out);
    const r0 = (j - 1) * cs;
    const r1 = j * cs;
    for (let ci = lo; ci < hi; ci++) {
      if ((a16[r0 + ci] | a16[r1 + ci]) === 0) continue;
      out[uo + ci] = yuv[us + ci];
      out[vo + ci] = yuv[vs + ci];
    }
  }

  /** The output's alpha plane seen as 16-bit pairs (one view per output buffer: the encoder reuses a few). */
  private readonly pairViews = new WeakMap<ArrayBufferLike, Uint16Array>();
  private alphaPairs(out: Uint8Array): Uint16Array {
    let v = this.pairViews.get(out.buffer);
    if (!v || v.byteOffset !== out.byteOffset + this.planes.aOut) {
      v = new Uint16Array(out.buffer, out.byteOffset + this.planes.aOut, (this.shape.side * this.shape.side) >> 1);
      this.pairViews.set(out.buffer, v);
    }
    return v;
  }

  /** `composeYuv` with a ring: every pixel inside the shape is blended with the ring colour in YUV. */
  private composeYuvRing(yuv: Uint8Array, mask: Float32Array, x0: number, y0: number, out: Uint8Array): void {
    const { side, spanStart, spanEnd } = this.shape;
    const ring = this.shape.ring!;
    const W = this.frameWidth;
    const { uSrc, vSrc, yOut, uOut, vOut, aOut } = this.planes;
    const cs = side >> 1;
    const k0 = this.colI0[x0];
    const k1 = this.colI1[x0 + side - 1];
    const [ry, ru, rv] = this.ringYuv();
    const rw = (this.ringW ??= new Float32Array(2 * side));
    for (let j = 0; j < side; j++) {
      const srow = j * side;
      const yo = yOut + srow;
      const ao = aOut + srow;
      const Y = y0 + j;
      const ys = Y * W + x0;
      const a0 = spanStart[j];
      const a1 = spanEnd[j];
      const rwo = (j & 1) * side;
      out.fill(0, ao, ao + side);
      rw.fill(-1, rwo, rwo + side);
      out.fill(16, yo, yo + a0);
      out.fill(16, yo + Math.max(a0, a1), yo + side);
      if (a1 > a0) {
        const row = this.maskRow(mask, Y, k0, k1);
        out.set(yuv.subarray(ys + a0, ys + a1), yo + a0);
        for (let i = a0; i < a1; i++) {
          const rc = ring[srow + i];
          const a = this.shape.alpha[srow + i] * this.softAlpha(row, x0 + i);
          const A = rc + (1 - rc) * a;
          if (A * 255 < 0.5) {
            out[yo + i] = 16;
            continue;
          }
          const wr = rc / A;
          rw[rwo + i] = wr;
          out[yo + i] = (out[yo + i] * (1 - wr) + ry * wr + 0.5) | 0;
          out[ao + i] = (A * 255 + 0.5) | 0;
        }
      }
      if ((j & 1) === 0) continue;
      // Chroma row for luma rows j-1, j: the source's, blended by the visible pixels' mean ring weight.
      const cSrc = (Y >> 1) * (W >> 1) + (x0 >> 1);
      const uo = uOut + (j >> 1) * cs;
      const vo = vOut + (j >> 1) * cs;
      const aPrev = ao - side;
      for (let ci = 0; ci < cs; ci++) {
        const i = ci << 1;
        const vis =
          (out[aPrev + i] ? 1 : 0) + (out[aPrev + i + 1] ? 1 : 0) + (out[ao + i] ? 1 : 0) + (out[ao + i + 1] ? 1 : 0);
        if (vis === 0) {
          out[uo + ci] = 128;
          out[vo + ci] = 128;
          continue;
        }
        // Unrolled: this runs per chroma sample, so no array per sample.
        const sw = Math.max(0, rw[i]) + Math.max(0, rw[i + 1]) + Math.max(0, rw[side + i]) + Math.max(0, rw[side + i + 1]);
        const wr = sw / vis;
        out[uo + ci] = (yuv[uSrc + cSrc + ci] * (1 - wr) + ru * wr + 0.5) | 0;
        out[vo + ci] = (yuv[vSrc + cSrc + ci] * (1 - wr) + rv * wr + 0.5) | 0;
      }
    }
  }

  /**
   * Writes the whole frame's person alpha (soft-thresholded, no shape) as 8-bit grey. Runs of mask cells that are
   * certain either way are filled at once; only cells on the person's edge are computed per pixel.
   */
  fullMask(mask: Float32Array, out: Uint8Array): void {
    const W = this.frameWidth;
    const last = this.maskWidth - 1;
    const { full, low, cellEnd } = this;
    const dst = plainBytes(out);
    for (let Y = 0, o = 0; Y < this.frameHeight; Y++, o += W) {
      const row = this.maskRow(mask, Y, 0, last);
      let X = 0;
      for (let k = 0; X < W; k++) {
        const hi = row[k] > full && row[k < last ? k + 1 : k] > full;
        const none = row[k] < low && row[k < last ? k + 1 : k] < low;
        if (hi || none) {
          // Extend over following cells that are certain the same way (cell k+1 shares column k+1 with cell k).
          while (k < last && (hi ? row[k + 1 < last ? k + 2 : last] > full : row[k + 1 < last ? k + 2 : last] < low)) k++;
          const end = cellEnd[k];
          dst.fill(hi ? 255 : 0, o + X, o + end);
          X = end;
          continue;
        }
        this.rawAlpha(row, X, cellEnd[k], dst, o);
        X = cellEnd[k];
      }
    }
  }

  /** Soft-thresholded alpha (no shape) of frame columns [from, to) from an interpolated mask row, as bytes at `o`. */
  private rawAlpha(row: Float32Array, from: number, to: number, out: Uint8Array, o: number): void {
    for (let X = from; X < to; X++) out[o + X] = this.softAlpha(row, X) * 255 + 0.5;
  }

}

/**
 * The soft threshold as a table (alpha 0..1 at p = i / SOFT_LUT_STEPS, read at ⌊p · steps⌋), with `full`, the p
 * from which it is exactly 1, and `low`, the p up to which it is exactly 0.
 */
export function softThreshold(softness: Softness): { lut: Float32Array; full: number; low: number } {
  const n = SOFT_LUT_STEPS;
  const lut = new Float32Array(n + 1);
  for (let i = 0; i <= n; i++) {
    const t = (i / n - softness.low) / (softness.high - softness.low);
    const c = t < 0 ? 0 : t > 1 ? 1 : t;
    const a = c * c * (3 - 2 * c); // smoothstep: no visible kink at the ends of the ramp
    lut[i] = a < (softness.floor ?? 0) ? 0 : a;
  }
  // With a floor, alpha is 0 a little above `low`: the bulk clears (visibleColumns) use where it really starts.
  let zero = 0;
  while (zero < n && lut[zero + 1] === 0) zero++;
  return { lut, full: lut.indexOf(1) / n, low: Math.max(softness.low, zero / n) };
}

/**
 * The soft threshold: alpha rises (smoothstep) from 0 at p = low to 1 at p = high; alphas under `floor` are 0, so a
 * wide faint toe (a refined map's low-confidence zones) leaves no invisible-but-coloured fringe in the files.
 */
export interface Softness {
  low: number;
  high: number;
  floor?: number;
}

// The ring colour's conversion lives with the frame's (yuv420.ts); re-exported for the compositor's tests.
export { rgbToYuv601 };

/** The same bytes as a plain Uint8Array (a Buffer is a subclass whose fill/subarray run through JS wrappers). */
function plainBytes(b: Uint8Array): Uint8Array {
  return b.constructor === Uint8Array ? b : new Uint8Array(b.buffer, b.byteOffset, b.length);
}

/** Offsets of the planes in a W×H yuv420p frame (source) and a side×side yuva420p bubble (output). */
interface YuvPlanes {
  uSrc: number;
  vSrc: number;
  yOut: number;
  uOut: number;
  vOut: number;
  aOut: number;
}

function yuvPlanes(W: number, H: number, side: number): YuvPlanes {
  const uSrc = W * H;
  const uOut = side * side;
  const cs = side >> 1;
  return { uSrc, vSrc: uSrc + (W >> 1) * (H >> 1), yOut: 0, uOut, vOut: uOut + cs * cs, aOut: uOut + 2 * cs * cs };
}

/** The shape's alpha rounded to bytes as the compositor rounds it. */
export function shapeBytes(alpha: Float32Array): Uint8Array {
  const bytes = new Uint8Array(alpha.length);
  for (let i = 0; i < alpha.length; i++) bytes[i] = (alpha[i] * 255 + 0.5) | 0;
  return bytes;
}

/** The shape's alpha in bytes, and each row's span of non-zero bytes. */
function shapeByteSpans(shape: ShapeMask): { alpha: Uint8Array; start: Int32Array; end: Int32Array } {
  const { side } = shape;
  const alpha = shapeBytes(shape.alpha);
  const start = new Int32Array(side);
  const end = new Int32Array(side);
  for (let y = 0; y < side; y++) {
    let a = 0;
    while (a < side && alpha[y * side + a] === 0) a++;
    let b = side;
    while (b > a && alpha[y * side + b - 1] === 0) b--;
    start[y] = a;
    end[y] = b;
  }
  return { alpha, start, end };
}
