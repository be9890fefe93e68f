import { GuidedFit } from './guided-fit.js';
import { samplingTable } from './preprocess.js';

/**
 * Edge-aware refinement of the person map: a colour-guided fast guided filter (He & Sun, "Fast Guided Filter", 2015)
 * that re-draws the model's blurry low-resolution edge along the frame's own edges (hair, shoulders against a
 * contrasting wall).
 *
 * The model's map is 256² (or 144×256); bilinear upsampling alone leaves a lumpy halo a few pixels wide. Here every
 * coarse cell (CELL × CELL frame pixels) fits the map locally as a linear function of the frame's colour
 * (q = a·[Y,U,V] + b, least squares over a (2·radius)² window, eps regularising flat areas), and each frame pixel
 * evaluates the smoothly interpolated (a, b) at its own colour, so the refined edge follows colour edges at full
 * resolution. Guidance is the decoded yuv420p frame as it is (Y per pixel, U/V per 2×2): no conversion.
 *
 * Chosen by measurement on every frame of the shared clips with exact ground truth (grey guidance gained about half
 * as much; joint bilateral upsampling was weaker at the boundary and ≈ 3× the cost): see issue 12's note.
 *
 * Temporal: the guidance changes at every H.264 keyframe even on a still scene, so a plain filter makes the edge
 * pop there. The output is held per pixel by a deadband (like MaskSmoother on the model grid): changes smaller than
 * `deadband` are not followed, larger ones pass, in full once they exceed the ramp; where the model's map itself stood
 * still, the colours alone moved, and the hold is `stillDeadband`.
 */
export interface EdgeRefineParams {
  /** Frame pixels per coarse cell (the fast guided filter's subsampling). */
  cell: number;
  /** Window radius in frame pixels. */
  radius: number;
  /** Regularisation: larger keeps the model's map where the colour varies little. */
  eps: number;
  /** Per-pixel change below which the refined map holds still (0 turns the temporal hold off). */
  deadband: number;
  /**
   * The hold where the model's map stood still around a block (its coarse map moved less than `stillMapChange`
   * since the last fit): there a change can only come from the frame's colours — an H.264 keyframe re-quantising a
   * still scene — so it is held more firmly. Where the person moves, the map moves too and `deadband` applies.
   */
  stillDeadband: number;
  stillMapChange: number;
  /** Frames per coarse fit (1 = every frame); the evaluation at full resolution runs on every frame. */
  fitEvery: number;
  /** U and V are scaled by this against Y: chroma spans a narrower range, so 1 would regularise it more than luma. */
  chromaWeight: number;
}

/**
 * Chosen on every frame of all seven clips with ground truth (`npm run quality -- --engine fast --frames 1000`),
 * holding the still clip's flicker under 1e-6: eps 1e-4 and chroma weight 1.5 follow the colour edge more closely
 * than 3e-4 and 1 (three shared clips: mean IoU 0.98783 → 0.98803; the other four: 0.9733 → 0.9748, band IoU
 * 0.8658 → 0.8685); alone they made keyframes pop (flicker 1.3e-6), which the still-map hold takes back (4.5e-7).
 * A radius of 48 px gained band IoU on the shared clips (0.852) but lost it on the others (0.854), so 40.
 */
export const EDGE_REFINE_DEFAULTS: Readonly<EdgeRefineParams> = Object.freeze({
  cell: 8,
  radius: 40,
  eps: 1e-4,
  deadband: 0.05,
  stillDeadband: 0.1,
  stillMapChange: 0.02,
  chromaWeight: 1.5,
  fitEvery: 2,
});

/** The soft threshold the refined map is read with (its output is sharper than the model's, so the ramp is narrower). */
export const REFINED_SOFTNESS = Object.freeze({ low: 0.19, high: 0.69, floor: 6 / 255 });

/** A rectangle of frame pixels (the bubble's crop, or the whole frame for the mask output). */
export interface Region {
  x0: number;
  y0: number;
  width: number;
  height: number;
}

export class EdgeRefiner {
  private readonly fit: GuidedFit;
  /** Per frame row / column: which coarse cells it interpolates between. */
  private readonly fRow: [Int32Array, Int32Array, Float32Array];
  private readonly fCol: [Int32Array, Int32Array, Float32Array];
  /** The refined map at frame resolution; also the temporal state (valid inside `held`). */
  readonly out: Float32Array;
  private held: Region | null = null;
  /** The region of the last coarse fit, and frames since. */
  private fitted: Region | null = null;
  private sinceFit = 0;
  /** Frame columns [runStart[k], runStart[k+1]) interpolate between coarse centres k and k+1 (fCol's k0 is k). */
  private readonly runStart: Int32Array;
  /** Frame rows [rowStart[j], rowStart[j+1]) interpolate between coarse rows j and j+1. */
  private readonly rowStart: Int32Array;
  /** Per block column of the current block row: 0 or 1 when certain, -1 when evaluated per pixel. */
  private readonly blockCertain: Int8Array;
  /** Per block column of the current block row: 1 where the model's map stood still (the larger hold applies). */
  private readonly blockStill: Uint8Array;

  constructor(
    private readonly frameWidth: number,
    private readonly frameHeight: number,
    maskWidth: number,
    maskHeight: number,
    private readonly params: EdgeRefineParams = EDGE_REFINE_DEFAULTS,
  ) {
    this.fit = new GuidedFit(frameWidth, frameHeight, maskWidth, maskHeight, params);
    const { gw, gh } = this.fit;
    this.fRow = samplingTable(frameHeight, gh);
    this.fCol = samplingTable(frameWidth, gw);
    this.out = new Float32Array(frameWidth * frameHeight);
    this.runStart = spanStarts(this.fCol[0], gw, frameWidth);
    this.rowStart = spanStarts(this.fRow[0], gh, frameHeight);
    this.blockCertain = new Int8Array(gw);
    this.blockStill = new Uint8Array(gw);
  }

  /**
   * The refined map for `region` of a planar yuv420p frame, from the model's map (maskWidth × maskHeight). Returns
   * `out` (frame resolution); only `region` is written.
   */
  refine(yuv: Uint8Array, prob: Float32Array, region: Region): Float32Array {
    if (this.needsFit(region)) {
      this.fit.run(yuv, prob, region);
      this.fitted = region;
      this.sinceFit = 0;
    }
    this.sinceFit++;
    this.evaluate(yuv, region);
    this.held = region;
    return this.out;
  }

  /**
   * The coarse fit is the larger half of the cost and changes slowly (the model's map is smoothed over time too), so
   * it is redone every `fitEvery` frames, and whenever the region moved by more than a cell (the fit covers a
   * margin of 2R+1 cells around its region, of which one cell is spare). Every frame is still evaluated at its own
   * colours.
   */
  private needsFit(region: Region): boolean {
    const f = this.fitted;
    if (!f || this.sinceFit >= this.params.fitEvery) return true;
    const S = this.params.cell;
    const moved = Math.max(Math.abs(region.x0 - f.x0), Math.abs(region.y0 - f.y0), Math.abs(region.width - f.width), Math.abs(region.height - f.height));
    return moved > S;
  }

  /**
   * q = a·I + b for every pixel of the region, held by the temporal deadband. The region is walked in blocks between
   * four coarse centres (coefficients are bilinear inside one): a block whose q is certain either way — most of a
   * frame, far from the person's edge, where a ≈ 0 and b ≈ 0 or 1 — is filled, not evaluated.
   */
  private evaluate(yuv: Uint8Array, region: Region): void {
    const x1 = region.x0 + region.width;
    const y1 = region.y0 + region.height;
    const kFirst = this.fCol[0][region.x0];
    const kLast = this.fCol[0][x1 - 1];
    const { gw, gh, lo, hi } = this.fit;
    const certain = this.blockCertain;
    const { low, high } = REFINED_SOFTNESS;
    for (let j = this.fRow[0][region.y0]; j <= this.fRow[0][y1 - 1]; j++) {
      const up = j * gw;
      const down = Math.min(j + 1, gh - 1) * gw;
      for (let k = kFirst; k <= kLast; k++) {
        const k1 = k + 1 < gw ? k + 1 : k;
        const most = Math.max(hi[up + k], hi[up + k1], hi[down + k], hi[down + k1]);
        const least = Math.min(lo[up + k], lo[up + k1], lo[down + k], lo[down + k1]);
        certain[k] = most <= low ? 0 : least >= high ? 1 : -1;
        const st = this.fit.mapStill;
        this.blockStill[k] = st[up + k] & st[up + k1] & st[down + k] & st[down + k1];
      }
      const rows1 = Math.min(y1, this.rowStart[j + 1]);
      for (let Y = Math.max(region.y0, this.rowStart[j]); Y < rows1; Y++) this.evaluateRow(yuv, Y, region.x0, x1, kFirst, kLast);
    }
  }

  /** One row: runs of certain blocks filled at once (merged), the others evaluated per pixel. */
  private evaluateRow(yuv: Uint8Array, Y: number, x0: number, x1: number, kFirst: number, kLast: number): void {
    const certain = this.blockCertain;
    const o = Y * this.frameWidth;
    for (let k = kFirst; k <= kLast; k++) {
      const from = Math.max(x0, this.runStart[k]);
      const c = certain[k];
      if (c >= 0) {
        while (k < kLast && certain[k + 1] === c) k++;
        this.out.fill(c, o + from, o + Math.min(x1, this.runStart[k + 1]));
        continue;
      }
      this.evaluateRun(yuv, Y, k, from, Math.min(x1, this.runStart[k + 1]));
    }
  }

  /** Frame columns [from, to) of row Y, all between coarse centres k and k+1: q per pixel, then the temporal hold. */
  private evaluateRun(yuv: Uint8Array, Y: number, k: number, from: number, to: number): void {
    const W = this.frameWidth;
    const H = this.frameHeight;
    const cw = W >> 1;
    const uRow = W * H + (Y >> 1) * cw;
    const vRow = uRow + cw * (H >> 1);
    const gw = this.fit.gw;
    const k1 = Math.min(k + 1, gw - 1);
    // The coefficients at this row's two ends of the run: bilinear between the coarse rows around Y.
    const up = this.fRow[0][Y] * gw;
    const down = this.fRow[1][Y] * gw;
    const wy = this.fRow[2][Y];
    const c = this.fit.coef;
    const s = 1 / 255;
    const sc = this.params.chromaWeight / 255;
    const y0 = lerp(c[0], up, down, k, wy) * s;
    const u0 = lerp(c[1], up, down, k, wy) * sc;
    const v0 = lerp(c[2], up, down, k, wy) * sc;
    const b0 = lerp(c[3], up, down, k, wy);
    const dy = lerp(c[0], up, down, k1, wy) * s - y0;
    const du = lerp(c[1], up, down, k1, wy) * sc - u0;
    const dv = lerp(c[2], up, down, k1, wy) * sc - v0;
    const db = lerp(c[3], up, down, k1, wy) - b0;
    const cwt = this.fCol[2];
    const out = this.out;
    const dead = this.blockStill[k] ? this.params.stillDeadband : this.params.deadband;
    const h = this.held;
    const heldRow = dead > 0 && h !== null && Y >= h.y0 && Y < h.y0 + h.height;
    const h0 = heldRow ? h.x0 : 0;
    const h1 = heldRow ? h.x0 + h.width : 0;
    const o = Y * W;
    for (let X = from; X < to; X++) {
      const w = cwt[X];
      const ci = X >> 1;
      const q = (y0 + dy * w) * yuv[o + X] + (u0 + du * w) * yuv[uRow + ci] + (v0 + dv * w) * yuv[vRow + ci] + b0 + db * w;
      if (X < h0 || X >= h1) {
        out[o + X] = q;
        continue;
      }
      const prev = out[o + X];
      const d = q - prev;
      const ad = d < 0 ? -d : d;
      if (ad <= dead) continue;
      // The hold fades as the change grows (ramp over one more deadband), so a real move is followed in full.
      const t = ad >= 2 * dead ? 1 : (ad - dead) / dead;
      const keep = dead * (1 - t);
      out[o + X] = d < 0 ? q + keep : q - keep;
    }
  }
}

/** Coefficient grid `g` at column k, between rows starting at `up` and `down`, weight `w` toward `down`. */
function lerp(g: Float32Array, up: number, down: number, k: number, w: number): number {
  return g[up + k] + (g[down + k] - g[up + k]) * w;
}

/** For a non-decreasing cell index per pixel: the first pixel of each cell's span (`size` past the end). */
function spanStarts(cellOf: Int32Array, cells: number, size: number): Int32Array {
  const start = new Int32Array(cells + 1).fill(size);
  for (let x = size - 1; x >= 0; x--) start[cellOf[x]] = x;
  for (let k = cells - 1; k >= 0; k--) start[k] = Math.min(start[k], start[k + 1]);
  return start;
}
