import type { ModelSpec } from '../models/registry.js';

/**
 * Frame → model input: bilinear resize (stretch, half-pixel centres) of an RGB24 frame to the model size,
 * written straight into the NCHW float32 tensor with the model's normalisation. The sampling tables depend only
 * on the frame and model sizes, so they are computed once per video, and the output buffer is reused.
 */
export class Preprocessor {
  readonly input: Float32Array;
  private readonly xi0: Int32Array;
  private readonly xi1: Int32Array;
  private readonly xw: Float32Array;
  private readonly yi0: Int32Array;
  private readonly yi1: Int32Array;
  private readonly yw: Float32Array;

  constructor(
    private readonly frameWidth: number,
    private readonly frameHeight: number,
    private readonly spec: ModelSpec,
  ) {
    this.input = new Float32Array(3 * spec.width * spec.height);
    [this.xi0, this.xi1, this.xw] = samplingTable(spec.width, frameWidth);
    [this.yi0, this.yi1, this.yw] = samplingTable(spec.height, frameHeight);
  }

  run(rgb: Uint8Array): Float32Array {
    const { width: mw, height: mh, scale, offset } = this.spec;
    const plane = mw * mh;
    const stride = this.frameWidth * 3;
    const out = this.input;
    for (let y = 0; y < mh; y++) {
      const r0 = this.yi0[y] * stride;
      const r1 = this.yi1[y] * stride;
      const wy = this.yw[y];
      const o = y * mw;
      for (let x = 0; x < mw; x++) {
        const c0 = this.xi0[x] * 3;
        const c1 = this.xi1[x] * 3;
        const wx = this.xw[x];
        for (let c = 0; c < 3; c++) {
          const top = rgb[r0 + c0 + c] + (rgb[r0 + c1 + c] - rgb[r0 + c0 + c]) * wx;
          const bot = rgb[r1 + c0 + c] + (rgb[r1 + c1 + c] - rgb[r1 + c0 + c]) * wx;
          out[c * plane + o + x] = (top + (bot - top) * wy) * scale + offset;
        }
      }
    }
    return out;
  }
}

/**
 * Frame → model input straight from a planar yuv420p frame: the same bilinear resize (half-pixel centres, four taps)
 * as `Preprocessor` does on RGB24, from the frame ffmpeg would have converted to RGB (the chroma sample shared by
 * its 2×2 block, limited range). The conversion is linear, so Y, U and V are interpolated first and converted once
 * per model pixel. No RGB copy of the frame is made anywhere: only the model's few thousand pixels are converted.
 */
export class YuvPreprocessor {
  readonly input: Float32Array;
  private readonly xi0: Int32Array;
  private readonly xi1: Int32Array;
  private readonly xw: Float32Array;
  private readonly yi0: Int32Array;
  private readonly yi1: Int32Array;
  private readonly yw: Float32Array;
  private readonly m: YuvToRgb;

  constructor(
    private readonly frameWidth: number,
    private readonly frameHeight: number,
    private readonly spec: ModelSpec,
    matrix: YuvMatrix = 'bt601',
  ) {
    this.input = new Float32Array(3 * spec.width * spec.height);
    [this.xi0, this.xi1, this.xw] = samplingTable(spec.width, frameWidth);
    [this.yi0, this.yi1, this.yw] = samplingTable(spec.height, frameHeight);
    this.m = YUV_TO_RGB[matrix];
  }

  run(yuv: Uint8Array): Float32Array {
    const { width: mw, height: mh, scale, offset } = this.spec;
    const { xi0, xi1, xw } = this;
    const { y: ky, rv, gu, gv, bu } = this.m;
    const W = this.frameWidth;
    const cw = W >> 1;
    const uBase = W * this.frameHeight;
    const vOff = uBase >> 2; // V plane minus U plane
    const plane = mw * mh;
    const out = this.input;
    for (let y = 0; y < mh; y++) {
      const l0 = this.yi0[y] * W;
      const l1 = this.yi1[y] * W;
      const c0 = uBase + (this.yi0[y] >> 1) * cw;
      const c1 = uBase + (this.yi1[y] >> 1) * cw;
      const wy = this.yw[y];
      const o = y * mw;
      for (let x = 0; x < mw; x++) {
        const a = xi0[x];
        const b = xi1[x];
        const wx = xw[x];
        const ca = a >> 1;
        const cb = b >> 1;
        // Bilinear Y, U and V at the model pixel (each chroma tap is the sample of its 2×2 block).
        let t = yuv[l0 + a] + (yuv[l0 + b] - yuv[l0 + a]) * wx;
        let u = yuv[l1 + a] + (yuv[l1 + b] - yuv[l1 + a]) * wx;
        const L = ky * (t + (u - t) * wy - 16);
        t = yuv[c0 + ca] + (yuv[c0 + cb] - yuv[c0 + ca]) * wx;
        u = yuv[c1 + ca] + (yuv[c1 + cb] - yuv[c1 + ca]) * wx;
        const U = t + (u - t) * wy - 128;
        t = yuv[c0 + vOff + ca] + (yuv[c0 + vOff + cb] - yuv[c0 + vOff + ca]) * wx;
        u = yuv[c1 + vOff + ca] + (yuv[c1 + vOff + cb] - yuv[c1 + vOff + ca]) * wx;
        const V = t + (u - t) * wy - 128;
        out[o + x] = clamp255(L + rv * V) * scale + offset;
        out[plane + o + x] = clamp255(L + gu * U + gv * V) * scale + offset;
        out[2 * plane + o + x] = clamp255(L + bu * U) * scale + offset;
      }
    }
    return out;
  }
}

/** Which Y'CbCr → R'G'B' matrix a video uses: BT.709 (HD, what phones tag) or BT.601 (SD, ffmpeg's default). */
export type YuvMatrix = 'bt601' | 'bt709';

/** Limited-range coefficients: R = y·Y' + rv·Cr, G = y·Y' + gu·Cb + gv·Cr, B = y·Y' + bu·Cb (Y' − 16, C − 128). */
interface YuvToRgb {
  y: number;
  rv: number;
  gu: number;
  gv: number;
  bu: number;
}

const YUV_TO_RGB: Record<YuvMatrix, YuvToRgb> = {
  bt601: { y: 1.164383, rv: 1.596027, gu: -0.391762, gv: -0.812968, bu: 2.017232 },
  bt709: { y: 1.164383, rv: 1.792741, gu: -0.213249, gv: -0.532909, bu: 2.112402 },
};

/** The matrix for ffprobe's `color_space` of a stream: BT.709 when tagged so, else BT.601 (as swscale assumes). */
export function yuvMatrixOf(colorSpace: string | null | undefined): YuvMatrix {
  return colorSpace === 'bt709' ? 'bt709' : 'bt601';
}

function clamp255(v: number): number {
  return v <= 0 ? 0 : v >= 255 ? 255 : v;
}

/** For each of `dst` positions: the two source indices and the weight of the second (half-pixel centres). */
export function samplingTable(dst: number, src: number): [Int32Array, Int32Array, Float32Array] {
  const i0 = new Int32Array(dst);
  const i1 = new Int32Array(dst);
  const w = new Float32Array(dst);
  const ratio = src / dst;
  for (let i = 0; i < dst; i++) {
    const s = Math.min(Math.max((i + 0.5) * ratio - 0.5, 0), src - 1);
    const a = Math.floor(s);
    i0[i] = a;
    i1[i] = Math.min(a + 1, src - 1);
    w[i] = s - a;
  }
  return [i0, i1, w];
}
