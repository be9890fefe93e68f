// AssemblyScript: the coarse half of the fast guided filter (the JS side, engine/frame/guided-fit.ts, lays out the
// memory and says which cells to fit). Per cell of `cell` frame pixels it fits the person map as a linear function
// of the frame's colour, q = a·[Y,U,V] + b, by least squares over a (2R+1)-cell window regularised by eps,
// box-averages the coefficients, and bounds q per cell over the colours of its 3×3 neighbourhood so that the
// evaluator (refine.ts) can fill the blocks where q is certain. Sums and the 3×3 solve run in f64 like V8 did
// before this moved here; the planes are f32.

import { W, pY, pU, pV } from './frame';

// The float planes, each `n` cells (gw × gh) at base + plane · n · 4 (see PLANES in engine/frame/guided-fit.ts).
const GY: i32 = 0; // guidance means Y, U, V, the map's mean P, then the second moments (13 planes)
const GP: i32 = 3;
const BOXED: i32 = 13; // the same 13, box-averaged
const RAW: i32 = 26; // aY, aU, aV, b before their own box mean
const COEF: i32 = 30; // aY, aU, aV, b as the evaluator reads them
const TMP: i32 = 34;
const RANGE: i32 = 35; // yMin, yMax, uMin, uMax, vMin, vMax per cell
const RANGE_N: i32 = 41; // the same over the 3×3 neighbourhood
const LO: i32 = 47;
const HI: i32 = 48;
const PREV_P: i32 = 49;
const CHANGE: i32 = 50;

// The frame (its width and planes) is where frame.ts says; its height is the fit's own.
let H: i32 = 0;
let gw: i32 = 0;
let gh: i32 = 0;
let n: i32 = 0;
let cell: i32 = 0;
let maskW: i32 = 0;
let base: usize = 0;
let pProb: usize = 0;
let pStill: usize = 0;
let pRow0: usize = 0;
let pRow1: usize = 0;
let pRowW: usize = 0;
let pCol0: usize = 0;
let pCol1: usize = 0;
let pColW: usize = 0;
// The work rectangle of this fit: cell columns [i0, i1), rows [j0, j1).
let i0: i32 = 0;
let i1: i32 = 0;
let j0: i32 = 0;
let j1: i32 = 0;

export function setFitLayout(frameH: i32, cellsW: i32, cellsH: i32, cellSide: i32, maskWidth: i32, planes: usize, prob: usize, still: usize): void {
  H = frameH;
  gw = cellsW;
  gh = cellsH;
  n = cellsW * cellsH;
  cell = cellSide;
  maskW = maskWidth;
  base = planes;
  pProb = prob;
  pStill = still;
}

/** Per coarse row / column: the model-grid samples its centre interpolates between, and the weight. */
export function setFitTables(row0: usize, row1: usize, rowW: usize, col0: usize, col1: usize, colW: usize): void {
  pRow0 = row0;
  pRow1 = row1;
  pRowW = rowW;
  pCol0 = col0;
  pCol1 = col1;
  pColW = colW;
}

@inline function plane(p: i32): usize {
  return base + (<usize>(p * n) << 2);
}
@inline function at(p: usize, k: i32): usize {
  return p + (<usize>k << 2);
}

/**
 * Fits the cells [ci0, ci1) × [cj0, cj1) of the frame in memory against the model's map (prob). `hasPrev`: the last
 * fit's map is in PREV_P (else every cell counts as moving).
 */
export function fit(ci0: i32, ci1: i32, cj0: i32, cj1: i32, R: i32, eps: f64, chromaWeight: f64, stillMapChange: f64, hasPrev: bool): void {
  i0 = ci0;
  i1 = ci1;
  j0 = cj0;
  j1 = cj1;
  const cw = W >> 1;
  planeStats(pY, W, H, cell, 0, 1.0 / 255.0);
  planeStats(pU, cw, H >> 1, cell >> 1, 1, chromaWeight / 255.0);
  planeStats(pV, cw, H >> 1, cell >> 1, 2, chromaWeight / 255.0);
  coarseMap();
  markStill(stillMapChange, hasPrev);
  moments();
  for (let c = 0; c < 13; c++) box(plane(GY + c), plane(BOXED + c), R);
  solve(eps);
  for (let c = 0; c < 4; c++) box(plane(RAW + c), plane(COEF + c), R);
  cellBounds();
}

/**
 * Mean, min and max of one plane (scaled) over each work cell of `side` plane pixels, every other pixel of every
 * other row (the fit needs local means, not every sample).
 */
function planeStats(p: usize, stride: i32, rows: i32, side: i32, ch: i32, scale: f64): void {
  const mean = plane(GY + ch);
  const mins = plane(RANGE + 2 * ch);
  const maxs = plane(RANGE + 2 * ch + 1);
  const step = side > 1 ? 2 : 1;
  for (let j = j0; j < j1; j++) {
    const ya = j * side;
    const yb = min(rows, ya + side);
    for (let i = i0; i < i1; i++) {
      const xa = i * side;
      const xb = min(stride, xa + side);
      let sum: i32 = 0;
      let count: i32 = 0;
      let lo: i32 = 255;
      let hi: i32 = 0;
      for (let y = ya; y < yb; y += step) {
        const row = p + <usize>(y * stride);
        for (let x = xa; x < xb; x += step) {
          const v = <i32>load<u8>(row + x);
          sum += v;
          count++;
          lo = min(lo, v);
          hi = max(hi, v);
        }
      }
      const k = j * gw + i;
      store<f32>(at(mean, k), <f32>((<f64>sum * scale) / <f64>count));
      store<f32>(at(mins, k), <f32>(<f64>lo * scale));
      store<f32>(at(maxs, k), <f32>(<f64>hi * scale));
    }
  }
}

/** The model's map sampled (bilinear) at each work cell's centre. */
function coarseMap(): void {
  const gp = plane(GP);
  for (let j = j0; j < j1; j++) {
    const a = pProb + (<usize>(load<i32>(at(pRow0, j)) * maskW) << 2);
    const b = pProb + (<usize>(load<i32>(at(pRow1, j)) * maskW) << 2);
    const w = <f64>load<f32>(at(pRowW, j));
    for (let i = i0; i < i1; i++) {
      const c0 = load<i32>(at(pCol0, i));
      const c1 = load<i32>(at(pCol1, i));
      const cw = <f64>load<f32>(at(pColW, i));
      const a0 = <f64>load<f32>(at(a, c0));
      const b0 = <f64>load<f32>(at(b, c0));
      const top = a0 + (<f64>load<f32>(at(a, c1)) - a0) * cw;
      const bot = b0 + (<f64>load<f32>(at(b, c1)) - b0) * cw;
      store<f32>(at(gp, j * gw + i), <f32>(top + (bot - top) * w));
    }
  }
}

/** Still cells: the coarse map's change since the last fit, spread over the 3×3 neighbourhood, under the limit. */
function markStill(limit: f64, hasPrev: bool): void {
  const p = plane(GP);
  const prev = plane(PREV_P);
  const change = plane(CHANGE);
  for (let j = j0; j < j1; j++) {
    for (let k = j * gw + i0, e = j * gw + i1; k < e; k++) {
      const v = load<f32>(at(p, k));
      // Cells the last fit did not cover hold an older value there: at worst they are judged as moving.
      store<f32>(at(change, k), hasPrev ? abs(v - load<f32>(at(prev, k))) : 1);
      store<f32>(at(prev, k), v);
    }
  }
  spread(change, change, true);
  for (let j = j0; j < j1; j++) {
    for (let k = j * gw + i0, e = j * gw + i1; k < e; k++) store<u8>(pStill + k, <f64>load<f32>(at(change, k)) < limit ? 1 : 0);
  }
}

/** Second moments of the coarse guidance and map, per cell (products in f64, stored f32). */
function moments(): void {
  const y = plane(GY);
  const u = plane(GY + 1);
  const v = plane(GY + 2);
  const p = plane(GP);
  for (let j = j0; j < j1; j++) {
    for (let k = j * gw + i0, e = j * gw + i1; k < e; k++) {
      const Y = <f64>load<f32>(at(y, k));
      const U = <f64>load<f32>(at(u, k));
      const V = <f64>load<f32>(at(v, k));
      const P = <f64>load<f32>(at(p, k));
      store<f32>(at(plane(4), k), <f32>(Y * Y));
      store<f32>(at(plane(5), k), <f32>(Y * U));
      store<f32>(at(plane(6), k), <f32>(Y * V));
      store<f32>(at(plane(7), k), <f32>(U * U));
      store<f32>(at(plane(8), k), <f32>(U * V));
      store<f32>(at(plane(9), k), <f32>(V * V));
      store<f32>(at(plane(10), k), <f32>(Y * P));
      store<f32>(at(plane(11), k), <f32>(U * P));
      store<f32>(at(plane(12), k), <f32>(V * P));
    }
  }
}

/** Per cell: a = (Σ + eps·I)⁻¹ · cov(I, p), b = mean p − a · mean I (inverse by cofactors; SPD thanks to eps). */
function solve(eps: f64): void {
  for (let j = j0; j < j1; j++) {
    for (let k = j * gw + i0, e = j * gw + i1; k < e; k++) {
      const my = <f64>load<f32>(at(plane(BOXED), k));
      const mu = <f64>load<f32>(at(plane(BOXED + 1), k));
      const mv = <f64>load<f32>(at(plane(BOXED + 2), k));
      const mp = <f64>load<f32>(at(plane(BOXED + 3), k));
      const s00 = <f64>load<f32>(at(plane(BOXED + 4), k)) - my * my + eps;
      const s01 = <f64>load<f32>(at(plane(BOXED + 5), k)) - my * mu;
      const s02 = <f64>load<f32>(at(plane(BOXED + 6), k)) - my * mv;
      const s11 = <f64>load<f32>(at(plane(BOXED + 7), k)) - mu * mu + eps;
      const s12 = <f64>load<f32>(at(plane(BOXED + 8), k)) - mu * mv;
      const s22 = <f64>load<f32>(at(plane(BOXED + 9), k)) - mv * mv + eps;
      const c0 = <f64>load<f32>(at(plane(BOXED + 10), k)) - my * mp;
      const c1 = <f64>load<f32>(at(plane(BOXED + 11), k)) - mu * mp;
      const c2 = <f64>load<f32>(at(plane(BOXED + 12), k)) - mv * mp;
      const x00 = s11 * s22 - s12 * s12;
      const x01 = s02 * s12 - s01 * s22;
      const x02 = s01 * s12 - s02 * s11;
      const x11 = s00 * s22 - s02 * s02;
      const x12 = s01 * s02 - s00 * s12;
      const x22 = s00 * s11 - s01 * s01;
      const inv = 1 / (s00 * x00 + s01 * x01 + s02 * x02);
      const a0 = (x00 * c0 + x01 * c1 + x02 * c2) * inv;
      const a1 = (x01 * c0 + x11 * c1 + x12 * c2) * inv;
      const a2 = (x02 * c0 + x12 * c1 + x22 * c2) * inv;
      store<f32>(at(plane(RAW), k), <f32>a0);
      store<f32>(at(plane(RAW + 1), k), <f32>a1);
      store<f32>(at(plane(RAW + 2), k), <f32>a2);
      store<f32>(at(plane(RAW + 3), k), <f32>(mp - a0 * my - a1 * mu - a2 * mv));
    }
  }
}

/** Per cell: the least and most q can be with its (a, b) over its 3×3 neighbourhood's colour range (0..1). */
function cellBounds(): void {
  for (let c = 0; c < 6; c++) spread(plane(RANGE + c), plane(RANGE_N + c), (c & 1) == 1);
  for (let j = j0; j < j1; j++) {
    for (let k = j * gw + i0, e = j * gw + i1; k < e; k++) {
      const ay = <f64>load<f32>(at(plane(COEF), k));
      const au = <f64>load<f32>(at(plane(COEF + 1), k));
      const av = <f64>load<f32>(at(plane(COEF + 2), k));
      const b = <f64>load<f32>(at(plane(COEF + 3), k));
      const yMin = <f64>load<f32>(at(plane(RANGE_N), k));
      const yMax = <f64>load<f32>(at(plane(RANGE_N + 1), k));
      const uMin = <f64>load<f32>(at(plane(RANGE_N + 2), k));
      const uMax = <f64>load<f32>(at(plane(RANGE_N + 3), k));
      const vMin = <f64>load<f32>(at(plane(RANGE_N + 4), k));
      const vMax = <f64>load<f32>(at(plane(RANGE_N + 5), k));
      const lo = b + (ay > 0 ? ay * yMin : ay * yMax) + (au > 0 ? au * uMin : au * uMax) + (av > 0 ? av * vMin : av * vMax);
      const hi = b + (ay > 0 ? ay * yMax : ay * yMin) + (au > 0 ? au * uMax : au * uMin) + (av > 0 ? av * vMax : av * vMin);
      store<f32>(at(plane(LO), k), <f32>lo);
      store<f32>(at(plane(HI), k), <f32>hi);
    }
  }
}

/**
 * Box mean with radius R (cells) over the work rectangle, separable: rows (a running sum per row), then columns
 * through TMP, two columns per f64x2 (adjacent columns are adjacent in memory).
 */
function box(src: usize, dst: usize, R: i32): void {
  const tmp = plane(TMP);
  for (let j = j0; j < j1; j++) boxLine(src, tmp, j * gw + i0, 1, i1 - i0, R);
  let i = i0;
  for (; i + 2 <= i1; i += 2) boxColumns2(tmp, dst, j0 * gw + i, gw, j1 - j0, R);
  if (i < i1) boxLine(tmp, dst, j0 * gw + i, gw, j1 - j0, R);
}

/** One line of a box mean by a running sum (f64); the window shrinks within R of the line's ends. */
function boxLine(src: usize, dst: usize, start: i32, step: i32, count: i32, R: i32): void {
  let sum: f64 = 0;
  const head = min(count - 1, R);
  for (let i = 0; i <= head; i++) sum += <f64>load<f32>(at(src, start + i * step));
  const inv = 1.0 / <f64>(2 * R + 1);
  for (let i = 0, o = start; i < count; i++, o += step) {
    const lo = i - R;
    const hi = i + R;
    const mean = lo >= 0 && hi < count ? sum * inv : sum / <f64>(min(count - 1, hi) - max(0, lo) + 1);
    store<f32>(at(dst, o), <f32>mean);
    if (hi + 1 < count) sum += <f64>load<f32>(at(src, o + (R + 1) * step));
    if (lo >= 0) sum -= <f64>load<f32>(at(src, o - R * step));
  }
}

/** boxLine for the two adjacent columns starting at `start`, at once (the same sums, lane by lane). */
function boxColumns2(src: usize, dst: usize, start: i32, step: i32, count: i32, R: i32): void {
  let sum = f64x2.splat(0);
  const head = min(count - 1, R);
  for (let i = 0; i <= head; i++) sum = f64x2.add(sum, pair(src, start + i * step));
  const inv = f64x2.splat(1.0 / <f64>(2 * R + 1));
  for (let i = 0, o = start; i < count; i++, o += step) {
    const lo = i - R;
    const hi = i + R;
    const mean = lo >= 0 && hi < count ? f64x2.mul(sum, inv) : f64x2.div(sum, f64x2.splat(<f64>(min(count - 1, hi) - max(0, lo) + 1)));
    v128.store64_lane(at(dst, o), f32x4.demote_f64x2_zero(mean), 0);
    if (hi + 1 < count) sum = f64x2.add(sum, pair(src, o + (R + 1) * step));
    if (lo >= 0) sum = f64x2.sub(sum, pair(src, o - R * step));
  }
}

/** Two adjacent f32 as f64x2. */
@inline function pair(p: usize, k: i32): v128 {
  return f64x2.promote_low_f32x4(v128.load64_zero(at(p, k)));
}

/** 3×3 running max or min over the work rectangle, separable; the window shrinks at the ends. */
function spread(src: usize, dst: usize, isMax: bool): void {
  const tmp = plane(TMP);
  const width = i1 - i0;
  for (let j = j0; j < j1; j++) {
    const o = j * gw + i0;
    if (isMax) spreadRow<Max>(src, tmp, o, width);
    else spreadRow<Min>(src, tmp, o, width);
  }
  for (let j = j0; j < j1; j++) {
    const o = j * gw + i0;
    const above = j > j0 ? o - gw : o;
    const below = j < j1 - 1 ? o + gw : o;
    if (isMax) spreadColumn<Max>(tmp, dst, above, o, below, width);
    else spreadColumn<Min>(tmp, dst, above, o, below, width);
  }
}

// The window's operation as a type, so that each variant compiles to its own loop without a branch inside:
// unsigned = max, signed = min.
type Max = u8;
type Min = i8;
@inline function isMax<T>(): bool {
  return !isSigned<T>();
}

@inline function pick<T>(a: v128, b: v128): v128 {
  return isMax<T>() ? f32x4.max(a, b) : f32x4.min(a, b);
}
@inline function pick1<T>(a: f32, b: f32): f32 {
  return isMax<T>() ? max(a, b) : min(a, b);
}

/** One row of the 3-wide window: ends shrunk, the middle four cells at a time. */
function spreadRow<T>(src: usize, dst: usize, o: i32, width: i32): void {
  if (width == 1) {
    store<f32>(at(dst, o), load<f32>(at(src, o)));
    return;
  }
  store<f32>(at(dst, o), pick1<T>(load<f32>(at(src, o)), load<f32>(at(src, o + 1))));
  let i = 1;
  for (; i + 4 < width; i += 4) {
    const k = o + i;
    v128.store(at(dst, k), pick<T>(pick<T>(v128.load(at(src, k - 1)), v128.load(at(src, k))), v128.load(at(src, k + 1))));
  }
  for (; i < width - 1; i++) {
    const k = o + i;
    store<f32>(at(dst, k), pick1<T>(pick1<T>(load<f32>(at(src, k - 1)), load<f32>(at(src, k))), load<f32>(at(src, k + 1))));
  }
  store<f32>(at(dst, o + width - 1), pick1<T>(load<f32>(at(src, o + width - 2)), load<f32>(at(src, o + width - 1))));
}

/** One row of the vertical window: the rows above and below (the row itself at the rectangle's ends). */
function spreadColumn<T>(src: usize, dst: usize, above: i32, o: i32, below: i32, width: i32): void {
  let i = 0;
  for (; i + 4 <= width; i += 4) {
    v128.store(at(dst, o + i), pick<T>(pick<T>(v128.load(at(src, above + i)), v128.load(at(src, o + i))), v128.load(at(src, below + i))));
  }
  for (; i < width; i++) {
    store<f32>(at(dst, o + i), pick1<T>(pick1<T>(load<f32>(at(src, above + i)), load<f32>(at(src, o + i))), load<f32>(at(src, below + i))));
  }
}
