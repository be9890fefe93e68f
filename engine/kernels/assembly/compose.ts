// AssemblyScript: the bubble's yuva420p pixels from the refined map (the JS side: engine/frame/refined-bubble.ts;
// the general compositor, engine/frame/compose.ts, keeps the model-grid maps, the ring and the mask output).
// Reads the frame copy and the refined map of the refine kernel (frame.ts; the last evaluate()'s region must cover
// the crop). Alpha = shape × soft threshold of the map, per pixel in f64 as the JS compositor
// computes it (same bytes); luma is the frame's where alpha > 0, else black (16); a chroma sample is the frame's
// where any of its four pixels is visible, else neutral (128).

import { W, pY, pU, pV, pOut as pMap } from './frame';

let side: i32 = 0;
let pShapeF: usize = 0;
let pStart: usize = 0;
let pEnd: usize = 0;
let pLut: usize = 0;
let lutSteps: i32 = 0;
let lowCut: f32 = 0;
let fullCut: f32 = 0;
let pShape8: usize = 0;
let pDst: usize = 0;

/**
 * The bubble: its side, the shape's alpha (f32, side², and rounded to bytes as the JS compositor rounds it) and per
 * row its non-zero span; the threshold's table, the p up to which it is 0 and from which it is 1.
 */
export function setBubble(bubbleSide: i32, shapeAlpha: usize, shapeBytes: usize, spanStart: usize, spanEnd: usize, lut: usize, steps: i32, low: f32, full: f32, dst: usize): void {
  pShape8 = shapeBytes;
  fullCut = full;
  side = bubbleSide;
  pShapeF = shapeAlpha;
  pStart = spanStart;
  pEnd = spanEnd;
  pLut = lut;
  lutSteps = steps;
  lowCut = low;
  pDst = dst;
}

/** Writes the side × side bubble at (x0, y0) (both even) into dst: Y, U, V, A planes. */
export function composeBubble(x0: i32, y0: i32): void {
  const cs = side >> 1;
  const uDst = pDst + <usize>(side * side);
  const vDst = uDst + <usize>(cs * cs);
  const aDst = vDst + <usize>(cs * cs);
  memory.fill(pDst, 16, <usize>(side * side));
  memory.fill(uDst, 128, <usize>(2 * cs * cs));
  memory.fill(aDst, 0, <usize>(side * side));
  for (let j = 0; j < side; j++) {
    const Y = y0 + j;
    const a0 = load<i32>(pStart + (<usize>j << 2));
    const a1 = load<i32>(pEnd + (<usize>j << 2));
    const map = pMap + (<usize>(Y * W + x0) << 2);
    const src = pY + <usize>(Y * W + x0);
    const shape = pShapeF + (<usize>(j * side) << 2);
    const yRow = pDst + <usize>(j * side);
    const aRow = aDst + <usize>(j * side);
    const shape8 = pShape8 + <usize>(j * side);
    const lowV = f32x4.splat(lowCut);
    const fullV = f32x4.splat(fullCut);
    let i = a0;
    // Four pixels at a time: all background (nothing to write), all certain person inside the shape (alpha = the
    // shape's bytes, luma the frame's), or else through the table (soft4).
    for (; i + 4 <= a1; i += 4) {
      const p = v128.load(map + (<usize>i << 2));
      if (!v128.any_true(f32x4.gt(p, lowV))) continue;
      if (i32x4.all_true(f32x4.ge(p, fullV)) && i8x16.all_true(v128.load32_splat(shape8 + i))) {
        store<u32>(aRow + i, load<u32>(shape8 + i));
        store<u32>(yRow + i, load<u32>(src + i));
        continue;
      }
      soft4(p, shape + (<usize>i << 2), src + i, yRow + i, aRow + i);
    }
    for (; i < a1; i++) softPixel(map, shape, src, yRow, aRow, i);
    if (j & 1) chromaRow(j, x0, y0, cs, uDst, vDst, aDst);
  }
}

/** One pixel: alpha = shape × the soft threshold's table at p, in f64 as the JS compositor computes it. */
@inline function softPixel(map: usize, shape: usize, src: usize, yRow: usize, aRow: usize, i: i32): void {
  const p = load<f32>(map + (<usize>i << 2));
  if (p <= lowCut) return;
  const k = p >= 1 ? lutSteps : <i32>(<f64>p * <f64>lutSteps);
  const a = <f64>load<f32>(shape + (<usize>i << 2)) * <f64>load<f32>(pLut + (<usize>k << 2));
  const a8 = <i32>(a * 255 + 0.5);
  if (a8 == 0) return;
  store<u8>(aRow + i, <u8>a8);
  store<u8>(yRow + i, load<u8>(src + i));
}

/**
 * Four pixels through the table: the index ⌊p · steps⌋ clamped to the table (exact: · 2^12 only moves the exponent),
 * four table reads, alpha = shape × table value in f64 (two lanes at a time, as the JS compositor computes it),
 * rounded to bytes; luma the frame's where alpha > 0. The alpha plane starts at 0, so zeros may be stored.
 */
@inline function soft4(p: v128, shape: usize, src: usize, yOut: usize, aOut: usize): void {
  const k = i32x4.min_s(i32x4.max_s(i32x4.trunc_sat_f32x4_s(f32x4.mul(p, f32x4.splat(<f32>lutSteps))), i32x4.splat(0)), i32x4.splat(lutSteps));
  let t = f32x4.splat(load<f32>(pLut + (<usize>i32x4.extract_lane(k, 0) << 2)));
  t = f32x4.replace_lane(t, 1, load<f32>(pLut + (<usize>i32x4.extract_lane(k, 1) << 2)));
  t = f32x4.replace_lane(t, 2, load<f32>(pLut + (<usize>i32x4.extract_lane(k, 2) << 2)));
  t = f32x4.replace_lane(t, 3, load<f32>(pLut + (<usize>i32x4.extract_lane(k, 3) << 2)));
  const s = v128.load(shape);
  const lo = byteAlpha(f64x2.promote_low_f32x4(s), f64x2.promote_low_f32x4(t));
  const hi = byteAlpha(f64x2.promote_low_f32x4(i32x4.shuffle(s, s, 2, 3, 0, 1)), f64x2.promote_low_f32x4(i32x4.shuffle(t, t, 2, 3, 0, 1)));
  const a32 = i32x4.shuffle(lo, hi, 0, 1, 4, 5);
  const a8 = i8x16.narrow_i16x8_u(i16x8.narrow_i32x4_u(a32, a32), i16x8.splat(0));
  v128.store32_lane(aOut, a8, 0);
  v128.store32_lane(yOut, v128.bitselect(v128.load32_zero(src), i8x16.splat(16), i8x16.ne(a8, i8x16.splat(0))), 0);
}

/** (shape · table · 255 + 0.5) truncated, for two lanes in f64: i32 lanes 0 and 1. */
@inline function byteAlpha(shape: v128, table: v128): v128 {
  return i32x4.trunc_sat_f64x2_s_zero(f64x2.add(f64x2.mul(f64x2.mul(shape, table), f64x2.splat(255)), f64x2.splat(0.5)));
}

/** Chroma row j >> 1 (luma rows j − 1 and j): the frame's U/V where any of the four pixels is visible. */
function chromaRow(j: i32, x0: i32, y0: i32, cs: i32, uDst: usize, vDst: usize, aDst: usize): void {
  const cw = W >> 1;
  const src = <usize>(((y0 + j) >> 1) * cw + (x0 >> 1));
  const above = aDst + <usize>((j - 1) * side);
  const here = aDst + <usize>(j * side);
  const o = <usize>((j >> 1) * cs);
  let ci = 0;
  // Eight samples at a time: a sample is visible where its 16-bit pair of alpha bytes, above or here, is not 0.
  for (; ci + 8 <= cs; ci += 8) {
    const i = <usize>(ci << 1);
    const pairs = i16x8.ne(v128.or(v128.load(above + i), v128.load(here + i)), i16x8.splat(0));
    const visible = i8x16.narrow_i16x8_s(pairs, pairs);
    const neutral = i8x16.splat(<i8>128);
    v128.store64_lane(uDst + o + ci, v128.bitselect(v128.load64_zero(pU + src + ci), neutral, visible), 0);
    v128.store64_lane(vDst + o + ci, v128.bitselect(v128.load64_zero(pV + src + ci), neutral, visible), 0);
  }
  for (; ci < cs; ci++) {
    const i = <usize>(ci << 1);
    if ((load<u16>(above + i) | load<u16>(here + i)) == 0) continue;
    store<u8>(uDst + o + ci, load<u8>(pU + src + ci));
    store<u8>(vDst + o + ci, load<u8>(pV + src + ci));
  }
}
