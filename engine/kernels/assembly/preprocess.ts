// AssemblyScript: frame → model input (the JS side: engine/frame/preprocess.ts, YuvPreprocessor). Bilinear resize
// with half-pixel centres straight from planar yuv420p: Y, U and V interpolated at each model pixel (a chroma tap is
// the sample of its 2×2 block), converted to RGB once, clamped, normalised, written as an NCHW float32 tensor. All in
// f64 like the JS it replaces, so the tensor is the same to the last bit.

let W: i32 = 0;
let H: i32 = 0;
let mw: i32 = 0;
let mh: i32 = 0;
let pFrame: usize = 0;
let pOut: usize = 0;
let pXi0: usize = 0;
let pXi1: usize = 0;
let pXw: usize = 0;
let pYi0: usize = 0;
let pYi1: usize = 0;
let pYw: usize = 0;
let ky: f64 = 0;
let rv: f64 = 0;
let gu: f64 = 0;
let gv: f64 = 0;
let bu: f64 = 0;
let scale: f64 = 0;
let offset: f64 = 0;

/** Sizes, the frame and tensor, and the sampling tables (per model column / row: two taps and a weight). */
export function setLayout(frameW: i32, frameH: i32, modelW: i32, modelH: i32, frame: usize, out: usize, xi0: usize, xi1: usize, xw: usize, yi0: usize, yi1: usize, yw: usize): void {
  W = frameW;
  H = frameH;
  mw = modelW;
  mh = modelH;
  pFrame = frame;
  pOut = out;
  pXi0 = xi0;
  pXi1 = xi1;
  pXw = xw;
  pYi0 = yi0;
  pYi1 = yi1;
  pYw = yw;
}

/** The Y'CbCr → R'G'B' coefficients (limited range) and the model's normalisation. */
export function setMatrix(y: f64, crR: f64, cbG: f64, crG: f64, cbB: f64, normScale: f64, normOffset: f64): void {
  ky = y;
  rv = crR;
  gu = cbG;
  gv = crG;
  bu = cbB;
  scale = normScale;
  offset = normOffset;
}

@inline function tap(p: usize): f64 {
  return <f64>load<u8>(p);
}
@inline function lerpTaps(row: usize, a: usize, b: usize, w: f64): f64 {
  const v = tap(row + a);
  return v + (tap(row + b) - v) * w;
}
@inline function clamp255(v: f64): f64 {
  return v <= 0 ? 0 : v >= 255 ? 255 : v;
}

export function run(): void {
  const cw = W >> 1;
  const uBase = pFrame + <usize>(W * H);
  const vOff = <usize>((W * H) >> 2);
  const plane = <usize>(mw * mh) << 2;
  for (let y = 0; y < mh; y++) {
    const r0 = <i32>load<i32>(pYi0 + (<usize>y << 2));
    const r1 = <i32>load<i32>(pYi1 + (<usize>y << 2));
    const l0 = pFrame + <usize>(r0 * W);
    const l1 = pFrame + <usize>(r1 * W);
    const c0 = uBase + <usize>((r0 >> 1) * cw);
    const c1 = uBase + <usize>((r1 >> 1) * cw);
    const wy = <f64>load<f32>(pYw + (<usize>y << 2));
    const o = pOut + (<usize>(y * mw) << 2);
    for (let x = 0; x < mw; x++) {
      const a = <usize>load<i32>(pXi0 + (<usize>x << 2));
      const b = <usize>load<i32>(pXi1 + (<usize>x << 2));
      const wx = <f64>load<f32>(pXw + (<usize>x << 2));
      const ca = a >> 1;
      const cb = b >> 1;
      let t = lerpTaps(l0, a, b, wx);
      let u = lerpTaps(l1, a, b, wx);
      const L = ky * (t + (u - t) * wy - 16);
      t = lerpTaps(c0, ca, cb, wx);
      u = lerpTaps(c1, ca, cb, wx);
      const U = t + (u - t) * wy - 128;
      t = lerpTaps(c0 + vOff, ca, cb, wx);
      u = lerpTaps(c1 + vOff, ca, cb, wx);
      const V = t + (u - t) * wy - 128;
      const px = o + (<usize>x << 2);
      store<f32>(px, <f32>(clamp255(L + rv * V) * scale + offset));
      store<f32>(px + plane, <f32>(clamp255(L + gu * U + gv * V) * scale + offset));
      store<f32>(px + 2 * plane, <f32>(clamp255(L + bu * U) * scale + offset));
    }
  }
}
