// AssemblyScript: the per-pixel half of the edge refiner (engine/frame/edges.ts, EdgeRefiner), compiled to WASM with
// SIMD by `npm run models` (models-build/kernels.ts). Why not JS: this loop runs over every pixel near the person's
// edge on every frame; V8 runs it scalar and in doubles, four f32 lanes here do the same work in ≈ 40 % of the time.
//
// All arrays live in the module's imported memory, laid out by the JS side (engine/kernels/memory.ts), which
// passes their byte offsets once (the set* functions) and then calls evaluate() per frame. Nothing here allocates.
// The arithmetic is the JS refiner's, in f32 instead of f64: outputs agree within 1e-5.

export { setFitLayout, setFitTables, fit } from './guided-fit';
export { setBubble, composeBubble } from './compose';
export { setPlanes } from './frame';
import { W, pY, pU, pV, pOut } from './frame';

let gw: i32 = 0;
let gh: i32 = 0;
let pC0: usize = 0;
let pC1: usize = 0;
let pC2: usize = 0;
let pC3: usize = 0;
let pLo: usize = 0;
let pHi: usize = 0;
let pStill: usize = 0;
let pFRow0: usize = 0;
let pFRow1: usize = 0;
let pFRow2: usize = 0;
let pFCol0: usize = 0;
let pFCol2: usize = 0;
let pRunStart: usize = 0;
let pRowStart: usize = 0;
let pCertain: usize = 0;
let pBStill: usize = 0;
let deadband: f32 = 0;
let stillDead: f32 = 0;
let chroma: f32 = 0;
let low: f32 = 0;
let high: f32 = 0;

export function setSizes(cellsW: i32, cellsH: i32): void {
  gw = cellsW;
  gh = cellsH;
}

export function setGrid(c0: usize, c1: usize, c2: usize, c3: usize, lo: usize, hi: usize, still: usize): void {
  pC0 = c0;
  pC1 = c1;
  pC2 = c2;
  pC3 = c3;
  pLo = lo;
  pHi = hi;
  pStill = still;
}

export function setTables(fRow0: usize, fRow1: usize, fRow2: usize, fCol0: usize, fCol2: usize, runStart: usize, rowStart: usize, certain: usize, bStill: usize): void {
  pFRow0 = fRow0;
  pFRow1 = fRow1;
  pFRow2 = fRow2;
  pFCol0 = fCol0;
  pFCol2 = fCol2;
  pRunStart = runStart;
  pRowStart = rowStart;
  pCertain = certain;
  pBStill = bStill;
}

export function setParams(dead: f32, still: f32, chromaWeight: f32, lowT: f32, highT: f32): void {
  deadband = dead;
  stillDead = still;
  chroma = chromaWeight;
  low = lowT;
  high = highT;
}

@inline function i32At(p: usize, i: i32): i32 {
  return load<i32>(p + (<usize>i << 2));
}
@inline function f32At(p: usize, i: i32): f32 {
  return load<f32>(p + (<usize>i << 2));
}

/**
 * q = a·I + b for every pixel of the region [x0, x1) × [y0, y1), held by the temporal deadband inside the region
 * [hx0, hx1) × [hy0, hy1) that the last call wrote (empty: no hold). Blocks between four coarse centres whose q is
 * certain either way are filled with 0 or 1, not evaluated.
 */
export function evaluate(x0: i32, y0: i32, x1: i32, y1: i32, hx0: i32, hy0: i32, hx1: i32, hy1: i32): void {
  const kFirst = i32At(pFCol0, x0);
  const kLast = i32At(pFCol0, x1 - 1);
  const jLast = i32At(pFRow0, y1 - 1);
  for (let j = i32At(pFRow0, y0); j <= jLast; j++) {
    const up = j * gw;
    const down = min(j + 1, gh - 1) * gw;
    for (let k = kFirst; k <= kLast; k++) {
      const k1 = k + 1 < gw ? k + 1 : k;
      const most = max(max(f32At(pHi, up + k), f32At(pHi, up + k1)), max(f32At(pHi, down + k), f32At(pHi, down + k1)));
      const least = min(min(f32At(pLo, up + k), f32At(pLo, up + k1)), min(f32At(pLo, down + k), f32At(pLo, down + k1)));
      store<i8>(pCertain + k, most <= low ? 0 : least >= high ? 1 : -1);
      const st = load<u8>(pStill + up + k) & load<u8>(pStill + up + k1) & load<u8>(pStill + down + k) & load<u8>(pStill + down + k1);
      store<u8>(pBStill + k, st);
    }
    const rows1 = min(y1, i32At(pRowStart, j + 1));
    for (let Y = max(y0, i32At(pRowStart, j)); Y < rows1; Y++) {
      const held = Y >= hy0 && Y < hy1;
      evaluateRow(Y, x0, x1, kFirst, kLast, held ? hx0 : 0, held ? hx1 : 0);
    }
  }
}

/** One row: runs of certain blocks filled at once (merged), the others evaluated per pixel. */
function evaluateRow(Y: i32, x0: i32, x1: i32, kFirst: i32, kLast: i32, h0: i32, h1: i32): void {
  const o = pOut + (<usize>(Y * W) << 2);
  for (let k = kFirst; k <= kLast; k++) {
    const from = max(x0, i32At(pRunStart, k));
    const c = load<i8>(pCertain + k);
    if (c >= 0) {
      while (k < kLast && load<i8>(pCertain + k + 1) == c) k++;
      const to = min(x1, i32At(pRunStart, k + 1));
      const v = f32x4.splat(<f32>c);
      let X = from;
      for (; X + 4 <= to; X += 4) v128.store(o + (<usize>X << 2), v);
      for (; X < to; X++) store<f32>(o + (<usize>X << 2), <f32>c);
      continue;
    }
    evaluateRun(Y, k, from, min(x1, i32At(pRunStart, k + 1)), h0, h1);
  }
}

@inline function lerp(g: usize, up: i32, down: i32, k: i32, w: f32): f32 {
  const a = f32At(g, up + k);
  return a + (f32At(g, down + k) - a) * w;
}

// Bytes 0,0,1,1 (even X) or 0,1,1,2 (odd X) into lanes: the chroma sample of each of four pixels.
const EVEN: v128 = i8x16(0, 0, 1, 1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1);
const ODD: v128 = i8x16(0, 1, 1, 2, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1);

@inline function bytes4(p: usize): v128 {
  return f32x4.convert_i32x4_u(i32x4.extend_low_i16x8_u(i16x8.extend_low_i8x16_u(v128.load32_zero(p))));
}
@inline function chroma4(p: usize, pattern: v128): v128 {
  return f32x4.convert_i32x4_u(i32x4.extend_low_i16x8_u(i16x8.extend_low_i8x16_u(i8x16.swizzle(v128.load32_zero(p), pattern))));
}

/** Frame columns [from, to) of row Y, all between coarse centres k and k+1: q per pixel, then the hold. */
function evaluateRun(Y: i32, k: i32, from: i32, to: i32, h0: i32, h1: i32): void {
  const cw = W >> 1;
  const uRow = pU + <usize>((Y >> 1) * cw);
  const vRow = pV + <usize>((Y >> 1) * cw);
  const k1 = min(k + 1, gw - 1);
  const up = i32At(pFRow0, Y) * gw;
  const down = i32At(pFRow1, Y) * gw;
  const wy = f32At(pFRow2, Y);
  const s: f32 = 1.0 / 255.0;
  const sc: f32 = chroma / 255.0;
  const ya = lerp(pC0, up, down, k, wy) * s;
  const ua = lerp(pC1, up, down, k, wy) * sc;
  const va = lerp(pC2, up, down, k, wy) * sc;
  const ba = lerp(pC3, up, down, k, wy);
  const dy = lerp(pC0, up, down, k1, wy) * s - ya;
  const du = lerp(pC1, up, down, k1, wy) * sc - ua;
  const dv = lerp(pC2, up, down, k1, wy) * sc - va;
  const db = lerp(pC3, up, down, k1, wy) - ba;
  const dead: f32 = load<u8>(pBStill + k) ? stillDead : deadband;
  const yRow = pY + <usize>(Y * W);
  const o = pOut + (<usize>(Y * W) << 2);
  const hold = dead > 0;
  const a0 = hold ? max(from, min(to, h0)) : to;
  const a1 = hold ? max(a0, min(to, h1)) : to;
  // [from, a0) and [a1, to) are outside the held region: plain q; [a0, a1) held.
  plainSpan(from, a0, yRow, uRow, vRow, o, ya, ua, va, ba, dy, du, dv, db);
  heldSpan(a0, a1, yRow, uRow, vRow, o, ya, ua, va, ba, dy, du, dv, db, dead);
  plainSpan(a1, to, yRow, uRow, vRow, o, ya, ua, va, ba, dy, du, dv, db);
}

@inline function q1(X: i32, yRow: usize, uRow: usize, vRow: usize, ya: f32, ua: f32, va: f32, ba: f32, dy: f32, du: f32, dv: f32, db: f32): f32 {
  const w = f32At(pFCol2, X);
  const ci = <usize>(X >> 1);
  return (ya + dy * w) * <f32>load<u8>(yRow + X) + (ua + du * w) * <f32>load<u8>(uRow + ci) + (va + dv * w) * <f32>load<u8>(vRow + ci) + ba + db * w;
}

@inline function q4(X: i32, yRow: usize, uRow: usize, vRow: usize, ya: v128, ua: v128, va: v128, ba: v128, dy: v128, du: v128, dv: v128, db: v128): v128 {
  const w = v128.load(pFCol2 + (<usize>X << 2));
  const pat = X & 1 ? ODD : EVEN;
  const ci = <usize>(X >> 1);
  const yv = bytes4(yRow + X);
  const uv = chroma4(uRow + ci, pat);
  const vv = chroma4(vRow + ci, pat);
  let q = f32x4.mul(f32x4.add(ya, f32x4.mul(dy, w)), yv);
  q = f32x4.add(q, f32x4.mul(f32x4.add(ua, f32x4.mul(du, w)), uv));
  q = f32x4.add(q, f32x4.mul(f32x4.add(va, f32x4.mul(dv, w)), vv));
  return f32x4.add(q, f32x4.add(ba, f32x4.mul(db, w)));
}

function plainSpan(from: i32, to: i32, yRow: usize, uRow: usize, vRow: usize, o: usize, ya: f32, ua: f32, va: f32, ba: f32, dy: f32, du: f32, dv: f32, db: f32): void {
  let X = from;
  const yv = f32x4.splat(ya), uv = f32x4.splat(ua), vv = f32x4.splat(va), bv = f32x4.splat(ba);
  const dyv = f32x4.splat(dy), duv = f32x4.splat(du), dvv = f32x4.splat(dv), dbv = f32x4.splat(db);
  for (; X + 4 <= to; X += 4) v128.store(o + (<usize>X << 2), q4(X, yRow, uRow, vRow, yv, uv, vv, bv, dyv, duv, dvv, dbv));
  for (; X < to; X++) store<f32>(o + (<usize>X << 2), q1(X, yRow, uRow, vRow, ya, ua, va, ba, dy, du, dv, db));
}

/** q where the last frame's value is held: changes below `dead` are not followed, the hold fades out over one more. */
function heldSpan(from: i32, to: i32, yRow: usize, uRow: usize, vRow: usize, o: usize, ya: f32, ua: f32, va: f32, ba: f32, dy: f32, du: f32, dv: f32, db: f32, dead: f32): void {
  let X = from;
  const yv = f32x4.splat(ya), uv = f32x4.splat(ua), vv = f32x4.splat(va), bv = f32x4.splat(ba);
  const dyv = f32x4.splat(dy), duv = f32x4.splat(du), dvv = f32x4.splat(dv), dbv = f32x4.splat(db);
  const deadv = f32x4.splat(dead);
  const one = f32x4.splat(1);
  const sign = i32x4.splat(0x80000000);
  for (; X + 4 <= to; X += 4) {
    const p = o + (<usize>X << 2);
    const q = q4(X, yRow, uRow, vRow, yv, uv, vv, bv, dyv, duv, dvv, dbv);
    const prev = v128.load(p);
    const d = f32x4.sub(q, prev);
    const ad = f32x4.abs(d);
    const t = f32x4.min(one, f32x4.div(f32x4.sub(ad, deadv), deadv));
    const keep = f32x4.mul(deadv, f32x4.sub(one, t));
    const moved = f32x4.sub(q, v128.or(keep, v128.and(d, sign)));
    v128.store(p, v128.bitselect(prev, moved, f32x4.le(ad, deadv)));
  }
  for (; X < to; X++) {
    const p = o + (<usize>X << 2);
    const q = q1(X, yRow, uRow, vRow, ya, ua, va, ba, dy, du, dv, db);
    const prev = load<f32>(p);
    const d = q - prev;
    const ad = abs(d);
    if (ad <= dead) continue;
    const t = ad >= 2 * dead ? <f32>1 : (ad - dead) / dead;
    const keep = dead * (1 - t);
    store<f32>(p, d < 0 ? q + keep : q - keep);
  }
}
