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
        const [from, to] = this.visibleColumns(row, k0, k1);
        b0 = Math.max(a0, from - x0);
        b1 = Math.min(a1, to - x0 + 1);
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
