import type { EdgeRefineParams, Region } from './edges.js';
import { samplingTable } from './preprocess.js';

/** The channels of the coarse grid: guidance means, the map's mean, and the second moments the fit needs. */
const CHANNELS = ['y', 'u', 'v', 'p', 'yy', 'yu', 'yv', 'uu', 'uv', 'vv', 'yp', 'up', 'vp'] as const;
type Channels = Record<(typeof CHANNELS)[number], Float32Array>;

function channels(n: number): Channels {
  return Object.fromEntries(CHANNELS.map((c) => [c, new Float32Array(n)])) as Channels;
}

/**
 * The coarse half of the fast guided filter: on a grid of `cell`-pixel cells it fits, per cell, the linear model
 * q = a·[Y,U,V] + b of the person map against the frame's colour (least squares over a (2·radius)² window,
 * regularised by eps), box-averages the coefficients, and bounds q per cell so that the evaluator can skip the
 * cells where the result is certain. Only the cells a region needs are computed (see setWorkRect).
 */
export class GuidedFit {
  readonly gw: number;
  readonly gh: number;
  /** Box-averaged coefficients per cell: aY, aU, aV (per unit of 0..1 guidance) and b. */
  readonly coef: [Float32Array, Float32Array, Float32Array, Float32Array];
  /** Per cell: the least and most q can be over the colours of its 3×3 neighbourhood (see cellBounds). */
  readonly lo: Float32Array;
  readonly hi: Float32Array;
  /** Per cell: 1 where the model's map moved less than `stillMapChange` in its 3×3 neighbourhood since the last fit. */
  readonly mapStill: Uint8Array;
  /** The coarse map of the last fit, and how much it changed since, per cell. */
  private readonly prevP: Float32Array;
  private readonly change: Float32Array;
  private hasPrev = false;
  private readonly grid: Channels;
  private readonly boxed: Channels;
  private readonly raw: Float32Array[];
  private readonly tmp: Float32Array;
  /** Per cell: min and max of Y, U, V (0..1) over its pixels; then over its 3×3 neighbourhood. */
  private readonly range: Float32Array[];
  private readonly rangeN: Float32Array[];
  /** Per coarse row / column: where its centre samples the model grid. */
  private readonly pRow: [Int32Array, Int32Array, Float32Array];
  private readonly pCol: [Int32Array, Int32Array, Float32Array];
  /** The coarse cells this frame computes: columns [i0, i1), rows [j0, j1). */
  private readonly work = { i0: 0, i1: 0, j0: 0, j1: 0 };

  constructor(
    private readonly frameWidth: number,
    private readonly frameHeight: number,
    private readonly maskWidth: number,
    maskHeight: number,
    private readonly params: EdgeRefineParams,
  ) {
    this.gw = Math.ceil(frameWidth / params.cell);
    this.gh = Math.ceil(frameHeight / params.cell);
    const n = this.gw * this.gh;
    const planes = (k: number) => Array.from({ length: k }, () => new Float32Array(n));
    this.grid = channels(n);
    this.boxed = channels(n);
    this.raw = planes(4);
    this.coef = planes(4) as GuidedFit['coef'];
    this.tmp = new Float32Array(n);
    this.range = planes(6);
    this.rangeN = planes(6);
    this.lo = new Float32Array(n);
    this.hi = new Float32Array(n);
    this.mapStill = new Uint8Array(n);
    this.prevP = new Float32Array(n);
    this.change = new Float32Array(n);
    this.pRow = samplingTable(this.gh, maskHeight);
    this.pCol = samplingTable(this.gw, maskWidth);
  }

  /** Fits the coefficients (and their bounds) for the cells `region` of this yuv420p frame needs. */
  run(yuv: Uint8Array, prob: Float32Array, region: Region): void {
    const R = Math.max(1, Math.round(this.params.radius / this.params.cell));
    this.setWorkRect(region, R);
    this.coarseGuidance(yuv);
    this.coarseMap(prob);
    this.markStill();
    this.moments();
    for (const c of CHANNELS) this.box(this.grid[c], this.boxed[c], R);
    this.fit();
    for (let c = 0; c < 4; c++) this.box(this.raw[c], this.coef[c], R);
    this.cellBounds();
  }

  /**
   * The coarse cells the region needs: its own, plus the two box means' reach (2R) and one for interpolation. Cells
   * at the rectangle's border see a shrunk window, which only changes cells the region does not read.
   */
  private setWorkRect(region: Region, R: number): void {
    const S = this.params.cell;
    const M = 2 * R + 1;
    const w = this.work;
    w.i0 = Math.max(0, Math.floor(region.x0 / S) - M);
    w.j0 = Math.max(0, Math.floor(region.y0 / S) - M);
    w.i1 = Math.min(this.gw, Math.ceil((region.x0 + region.width) / S) + M);
    w.j1 = Math.min(this.gh, Math.ceil((region.y0 + region.height) / S) + M);
  }

  /**
   * Mean Y over each cell and mean U, V over its chroma block, scaled to 0..1; and each channel's range per cell.
   * Every other pixel of every other row: the fit needs local means, not every sample, and this is the one step
   * that reads the whole frame (a lone outlier pixel missed by the range only matters where a ≉ 0, and there the
   * cell's other pixels already widen it).
   */
  private coarseGuidance(yuv: Uint8Array): void {
    const { frameWidth: W, frameHeight: H } = this;
    const S = this.params.cell;
    const cw = W >> 1;
    const uBase = W * H;
    const vBase = uBase + cw * (H >> 1);
    this.planeStats(yuv, 0, W, H, S, 0);
    this.planeStats(yuv, uBase, cw, H >> 1, S >> 1, 1);
    this.planeStats(yuv, vBase, cw, H >> 1, S >> 1, 2);
  }

  /**
   * Mean, min and max (0..1) of plane `plane` (0 Y, 1 U, 2 V; stride × rows at `base`) over each work cell of `side`
   * plane pixels.
   */
  private planeStats(yuv: Uint8Array, base: number, stride: number, rows: number, side: number, plane: 0 | 1 | 2): void {
    const { gw } = this;
    const { i0, i1, j0, j1 } = this.work;
    const ch = plane;
    const mean = plane === 0 ? this.grid.y : plane === 1 ? this.grid.u : this.grid.v;
    const mins = this.range[2 * ch];
    const maxs = this.range[2 * ch + 1];
    const step = side > 1 ? 2 : 1;
    const scale = (plane === 0 ? 1 : this.params.chromaWeight) / 255;
    for (let j = j0; j < j1; j++) {
      const ya = j * side;
      const yb = Math.min(rows, ya + side);
      for (let i = i0; i < i1; i++) {
        const xa = i * side;
        const xb = Math.min(stride, xa + side);
        let sum = 0;
        let n = 0;
        let min = 255;
        let max = 0;
        for (let y = ya; y < yb; y += step) {
          for (let o = base + y * stride + xa, e = base + y * stride + xb; o < e; o += step) {
            const v = yuv[o];
            sum += v;
            n++;
            min = v < min ? v : min;
            max = v > max ? v : max;
          }
        }
        const k = j * gw + i;
        mean[k] = (sum * scale) / n;
        mins[k] = min * scale;
        maxs[k] = max * scale;
      }
    }
  }

  /** The model's map sampled (bilinear) at each coarse cell's centre. */
  private coarseMap(prob: Float32Array): void {
    const gw = this.gw;
    const gp = this.grid.p;
    const [ri0, ri1, rw] = this.pRow;
    const [ci0, ci1, cwt] = this.pCol;
    const maskWidth = this.maskWidth;
    const { i0, i1, j0, j1 } = this.work;
    for (let j = j0; j < j1; j++) {
      const a = ri0[j] * maskWidth;
      const b = ri1[j] * maskWidth;
      const w = rw[j];
      for (let i = i0; i < i1; i++) {
        const top = prob[a + ci0[i]] + (prob[a + ci1[i]] - prob[a + ci0[i]]) * cwt[i];
        const bot = prob[b + ci0[i]] + (prob[b + ci1[i]] - prob[b + ci0[i]]) * cwt[i];
        gp[j * gw + i] = top + (bot - top) * w;
      }
    }
  }

  /** mapStill: the change of the coarse map since the last fit, spread over each cell's 3×3 neighbourhood. */
  private markStill(): void {
    const { gw, prevP, mapStill, change } = this;
    const p = this.grid.p;
    const { i0, i1, j0, j1 } = this.work;
    const limit = this.params.stillMapChange;
    for (let j = j0; j < j1; j++) {
      for (let k = j * gw + i0, e = j * gw + i1; k < e; k++) {
        const d = p[k] - prevP[k];
        // Cells the last fit did not cover hold an older value there: at worst they are judged as moving.
        change[k] = this.hasPrev ? (d < 0 ? -d : d) : 1;
        prevP[k] = p[k];
      }
    }
    this.separable(change, change, spreadMax3);
    for (let j = j0; j < j1; j++) {
      for (let k = j * gw + i0, e = j * gw + i1; k < e; k++) mapStill[k] = change[k] < limit ? 1 : 0;
    }
    this.hasPrev = true;
  }

  /** Second moments of the coarse guidance and map, per cell. */
  private moments(): void {
    const { y, u, v, p, yy, yu, yv, uu, uv, vv, yp, up, vp } = this.grid;
    const { i0, i1, j0, j1 } = this.work;
    for (let j = j0; j < j1; j++) {
      for (let k = j * this.gw + i0, e = j * this.gw + i1; k < e; k++) {
        const Y = y[k];
        const U = u[k];
        const V = v[k];
        const P = p[k];
        yy[k] = Y * Y;
        yu[k] = Y * U;
        yv[k] = Y * V;
        uu[k] = U * U;
        uv[k] = U * V;
        vv[k] = V * V;
        yp[k] = Y * P;
        up[k] = U * P;
        vp[k] = V * P;
      }
    }
  }

  /** Box mean with radius R (in cells) over the coarse grid, shrinking the window at the borders. */
  private box(src: Float32Array, dst: Float32Array, R: number): void {
    this.separable(src, dst, (a, b, start, step, n) => boxLine(a, b, start, step, n, R));
  }

  /** A 1-D line filter along the work rectangle's rows, then along its columns (through `tmp`): a separable 2-D one. */
  private separable(src: Float32Array, dst: Float32Array, line: LineFilter): void {
    const { gw, tmp } = this;
    const { i0, i1, j0, j1 } = this.work;
    for (let j = j0; j < j1; j++) line(src, tmp, j * gw + i0, 1, i1 - i0);
    for (let i = i0; i < i1; i++) line(tmp, dst, j0 * gw + i, gw, j1 - j0);
  }

  /** Per cell: a = (Σ + eps·I)⁻¹ · cov(I, p), b = mean p − a · mean I. */
  private fit(): void {
    const { y, u, v, p, yy, yu, yv, uu, uv, vv, yp, up, vp } = this.boxed;
    const [aY, aU, aV, bb] = this.raw;
    const eps = this.params.eps;
    const { i0, i1, j0, j1 } = this.work;
    for (let j = j0; j < j1; j++) {
      for (let k = j * this.gw + i0, e = j * this.gw + i1; k < e; k++) {
        const my = y[k];
        const mu = u[k];
        const mv = v[k];
        const mp = p[k];
        // Covariance of the guidance (symmetric 3×3) + eps on the diagonal, and its covariance with the map.
        const s00 = yy[k] - my * my + eps;
        const s01 = yu[k] - my * mu;
        const s02 = yv[k] - my * mv;
        const s11 = uu[k] - mu * mu + eps;
        const s12 = uv[k] - mu * mv;
        const s22 = vv[k] - mv * mv + eps;
        const c0 = yp[k] - my * mp;
        const c1 = up[k] - mu * mp;
        const c2 = vp[k] - mv * mp;
        // Inverse by cofactors (the matrix is symmetric positive definite thanks to eps).
        const i00 = s11 * s22 - s12 * s12;
        const i01 = s02 * s12 - s01 * s22;
        const i02 = s01 * s12 - s02 * s11;
        const i11 = s00 * s22 - s02 * s02;
        const i12 = s01 * s02 - s00 * s12;
        const i22 = s00 * s11 - s01 * s01;
        const inv = 1 / (s00 * i00 + s01 * i01 + s02 * i02);
        const a0 = (i00 * c0 + i01 * c1 + i02 * c2) * inv;
        const a1 = (i01 * c0 + i11 * c1 + i12 * c2) * inv;
        const a2 = (i02 * c0 + i12 * c1 + i22 * c2) * inv;
        aY[k] = a0;
        aU[k] = a1;
        aV[k] = a2;
        bb[k] = mp - a0 * my - a1 * mu - a2 * mv;
      }
    }
  }

  /**
   * Per cell: the least and most q can be with this cell's (a, b) over the colour range of its 3×3 neighbourhood —
   * every pixel a block next to this cell's centre holds. Guidance is in 0..1, so q stays within b ± the
   * coefficients times that range.
   */
  private cellBounds(): void {
    const { gw } = this;
    const { i0, i1, j0, j1 } = this.work;
    // Each channel's min and max over the 3×3 neighbourhood.
    for (let c = 0; c < 6; c++) this.separable(this.range[c], this.rangeN[c], (c & 1) === 1 ? spreadMax3 : spreadMin3);
    const [aY, aU, aV, bb] = this.coef;
    const [yMin, yMax, uMin, uMax, vMin, vMax] = this.rangeN;
    const { lo, hi } = this;
    for (let j = j0; j < j1; j++) {
      for (let k = j * gw + i0, e = j * gw + i1; k < e; k++) {
        const ay = aY[k];
        const au = aU[k];
        const av = aV[k];
        lo[k] = bb[k] + (ay > 0 ? ay * yMin[k] : ay * yMax[k]) + (au > 0 ? au * uMin[k] : au * uMax[k]) + (av > 0 ? av * vMin[k] : av * vMax[k]);
        hi[k] = bb[k] + (ay > 0 ? ay * yMax[k] : ay * yMin[k]) + (au > 0 ? au * uMax[k] : au * uMin[k]) + (av > 0 ? av * vMax[k] : av * vMin[k]);
      }
    }
  }
}

/** A filter over one line of the coarse grid: n cells from `start`, `step` apart, src → dst. */
type LineFilter = (src: Float32Array, dst: Float32Array, start: number, step: number, n: number) => void;

/** One line of a 3-wide running max, shrinking at the ends: the neighbourhood range of each cell. */
function spreadMax3(src: Float32Array, dst: Float32Array, start: number, step: number, n: number): void {
  for (let i = 0, o = start; i < n; i++, o += step) {
    const a = src[i > 0 ? o - step : o];
    const b = src[o];
    const c = src[i < n - 1 ? o + step : o];
    const m = a > b ? a : b;
    dst[o] = m > c ? m : c;
  }
}

/** The same as a running min. */
function spreadMin3(src: Float32Array, dst: Float32Array, start: number, step: number, n: number): void {
  for (let i = 0, o = start; i < n; i++, o += step) {
    const a = src[i > 0 ? o - step : o];
    const b = src[o];
    const c = src[i < n - 1 ? o + step : o];
    const m = a < b ? a : b;
    dst[o] = m < c ? m : c;
  }
}

/**
 * One line of a box mean: dst[i] = mean of src over [i−R, i+R] ∩ [0, n), by a running sum. The window is whole in
 * the middle (one multiply), shrunk only within R of the ends.
 */
function boxLine(src: Float32Array, dst: Float32Array, start: number, step: number, n: number, R: number): void {
  let sum = 0;
  for (let i = 0; i <= Math.min(n - 1, R); i++) sum += src[start + i * step];
  const inv = 1 / (2 * R + 1);
  for (let i = 0, o = start; i < n; i++, o += step) {
    const lo = i - R;
    const hi = i + R;
    dst[o] = lo >= 0 && hi < n ? sum * inv : sum / (Math.min(n - 1, hi) - Math.max(0, lo) + 1);
    if (hi + 1 < n) sum += src[o + (R + 1) * step];
    if (lo >= 0) sum -= src[o - R * step];
  }
}
