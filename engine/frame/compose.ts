import { samplingTable } from './preprocess.js';
import type { ShapeMask } from './shape.js';

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
  private static readonly LUT_STEPS = 4096;

  constructor(
    private readonly frameWidth: number,
    private readonly frameHeight: number,
    private readonly maskWidth: number,
    private readonly maskHeight: number,
    private readonly shape: ShapeMask,
    softness = { low: 0.25, high: 0.75 },
  ) {
    [this.colI0, this.colI1, this.colW] = samplingTable(frameWidth, maskWidth);
    [this.rowI0, this.rowI1, this.rowW] = samplingTable(frameHeight, maskHeight);
    this.rowTmp = new Float32Array(maskWidth);
    this.low = softness.low;
    this.firstXFromCol = new Int32Array(maskWidth).fill(frameWidth);
    this.lastXToCol = new Int32Array(maskWidth).fill(-1);
    for (let X = frameWidth - 1; X >= 0; X--) this.firstXFromCol[this.colI1[X]] = X;
    for (let k = maskWidth - 2; k >= 0; k--) this.firstXFromCol[k] = Math.min(this.firstXFromCol[k], this.firstXFromCol[k + 1]);
    for (let X = 0; X < frameWidth; X++) this.lastXToCol[this.colI0[X]] = X;
    for (let k = 1; k < maskWidth; k++) this.lastXToCol[k] = Math.max(this.lastXToCol[k], this.lastXToCol[k - 1]);
    const n = Compositor.LUT_STEPS;
    this.lut = new Float32Array(n + 1);
    for (let i = 0; i <= n; i++) {
      const t = (i / n - softness.low) / (softness.high - softness.low);
      const c = t < 0 ? 0 : t > 1 ? 1 : t;
      this.lut[i] = c * c * (3 - 2 * c); // smoothstep: no visible kink at the ends of the ramp
    }
  }

  /** Interpolates mask row for frame row Y into rowTmp (only the columns [k0, k1] are needed). */
  private maskRow(mask: Float32Array, Y: number, k0: number, k1: number): Float32Array {
    const mw = this.maskWidth;
    const a = this.rowI0[Y] * mw;
    const b = this.rowI1[Y] * mw;
    const w = this.rowW[Y];
    const t = this.rowTmp;
    for (let k = k0; k <= k1; k++) t[k] = mask[a + k] + (mask[b + k] - mask[a + k]) * w;
    return t;
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
    const lut = this.lut;
    const steps = Compositor.LUT_STEPS;
    const colI0 = this.colI0;
    const colI1 = this.colI1;
    const colW = this.colW;
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
        const X = x0 + i;
        const c0 = colI0[X];
        const p = row[c0] + (row[colI1[X]] - row[c0]) * colW[X];
        const a = shapeAlpha[srow + i] * lut[p <= 0 ? 0 : p >= 1 ? steps : (p * steps) | 0];
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
    const { side, alpha: shapeAlpha, ring, spanStart, spanEnd } = this.shape;
    if ((x0 | y0 | side) & 1) throw new Error('composeYuv needs even crop offsets and side');
    const W = this.frameWidth;
    const H = this.frameHeight;
    const cw = W >> 1;
    const cs = side >> 1;
    const lut = this.lut;
    const steps = Compositor.LUT_STEPS;
    const colI0 = this.colI0;
    const colI1 = this.colI1;
    const colW = this.colW;
    const k0 = colI0[x0];
    const k1 = colI1[x0 + side - 1];
    const uSrc = W * H;
    const vSrc = uSrc + cw * (H >> 1);
    const yOut = 0;
    const uOut = side * side;
    const vOut = uOut + cs * cs;
    const aOut = vOut + cs * cs;
    const [ry, ru, rv] = ring ? this.ringYuv() : [16, 128, 128];
    const rw = ring ? (this.ringW ??= new Float32Array(2 * side)) : null;
    for (let j = 0; j < side; j++) {
      const srow = j * side;
      const yo = yOut + srow;
      const ao = aOut + srow;
      const Y = y0 + j;
      const ys = Y * W + x0;
      const a0 = spanStart[j];
      const a1 = spanEnd[j];
      // Start from the source luma row, transparent; visible pixels get alpha below, hidden ones are blackened.
      out.fill(0, ao, ao + side);
      if (rw) rw.fill(-1, (j & 1) * side, (j & 1) * side + side);
      let b0 = a0;
      let b1 = a1;
      let row: Float32Array | null = null;
      if (a1 > a0) {
        row = this.maskRow(mask, Y, k0, k1);
        if (!ring) {
          [b0, b1] = this.personSpan(row, k0, k1, a0, a1, x0);
        }
      }
      if (b1 <= b0 || !row) {
        out.fill(16, yo, yo + side);
      } else {
        out.fill(16, yo, yo + b0);
        out.fill(16, yo + b1, yo + side);
        out.set(yuv.subarray(ys + b0, ys + b1), yo + b0);
        const rwo = (j & 1) * side;
        for (let i = b0; i < b1; i++) {
          const X = x0 + i;
          const c0 = colI0[X];
          const p = row[c0] + (row[colI1[X]] - row[c0]) * colW[X];
          const a = shapeAlpha[srow + i] * lut[p <= 0 ? 0 : p >= 1 ? steps : (p * steps) | 0];
          if (ring) {
            const rc = ring[srow + i];
            const A = rc + (1 - rc) * a;
            if (A * 255 < 0.5) {
              out[yo + i] = 16;
              continue;
            }
            const wr = rc / A;
            rw![rwo + i] = wr;
            out[yo + i] = (out[yo + i] * (1 - wr) + ry * wr + 0.5) | 0;
            out[ao + i] = (A * 255 + 0.5) | 0;
            continue;
          }
          const a8 = (a * 255 + 0.5) | 0;
          if (a8 === 0) out[yo + i] = 16;
          else out[ao + i] = a8;
        }
      }
      if ((j & 1) === 0) continue;
      // Chroma row for luma rows j-1, j.
      const cj = j >> 1;
      const us = uSrc + ((Y >> 1) * cw) + (x0 >> 1);
      const vs = vSrc + ((Y >> 1) * cw) + (x0 >> 1);
      const uo = uOut + cj * cs;
      const vo = vOut + cj * cs;
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
        if (!rw) {
          out[uo + ci] = yuv[us + ci];
          out[vo + ci] = yuv[vs + ci];
          continue;
        }
        let sw = 0;
        // Unrolled: this runs per chroma sample, so no array per sample.
        sw += Math.max(0, rw[i]) + Math.max(0, rw[i + 1]) + Math.max(0, rw[side + i]) + Math.max(0, rw[side + i + 1]);
        const wr = sw / vis;
        out[uo + ci] = (yuv[us + ci] * (1 - wr) + ru * wr + 0.5) | 0;
        out[vo + ci] = (yuv[vs + ci] * (1 - wr) + rv * wr + 0.5) | 0;
      }
    }
  }

  /** Writes the whole frame's person alpha (soft-thresholded, no shape) as 8-bit grey. */
  fullMask(mask: Float32Array, out: Uint8Array): void {
    const W = this.frameWidth;
    const lut = this.lut;
    const steps = Compositor.LUT_STEPS;
    const k1 = this.maskWidth - 1;
    let o = 0;
    for (let Y = 0; Y < this.frameHeight; Y++) {
      const row = this.maskRow(mask, Y, 0, k1);
      for (let X = 0; X < W; X++, o++) {
        const c0 = this.colI0[X];
        const p = row[c0] + (row[this.colI1[X]] - row[c0]) * this.colW[X];
        out[o] = lut[p <= 0 ? 0 : p >= 1 ? steps : (p * steps) | 0] * 255 + 0.5;
      }
    }
  }
}

/** 8-bit RGB → BT.601 limited-range Y'CbCr (what ffmpeg's swscale uses by default for yuv420p). */
export function rgbToYuv601(r: number, g: number, b: number): [number, number, number] {
  const y = 16 + (65.481 * r + 128.553 * g + 24.966 * b) / 255;
  const u = 128 + (-37.797 * r - 74.203 * g + 112.0 * b) / 255;
  const v = 128 + (112.0 * r - 93.786 * g - 18.214 * b) / 255;
  const c = (x: number) => Math.min(255, Math.max(0, Math.round(x)));
  return [c(y), c(u), c(v)];
}
