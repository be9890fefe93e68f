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
 * Model input from an RGB24 frame that ffmpeg already scaled to the model size (the YUV path's small copy):
 * only the NCHW split and the normalisation are left.
 */
export class ModelSizePreprocessor {
  readonly input: Float32Array;

  constructor(private readonly spec: ModelSpec) {
    this.input = new Float32Array(3 * spec.width * spec.height);
  }

  run(rgb: Uint8Array): Float32Array {
    const { width: mw, height: mh, scale, offset } = this.spec;
    const plane = mw * mh;
    const out = this.input;
    for (let i = 0, s = 0; i < plane; i++, s += 3) {
      out[i] = rgb[s] * scale + offset;
      out[plane + i] = rgb[s + 1] * scale + offset;
      out[2 * plane + i] = rgb[s + 2] * scale + offset;
    }
    return out;
  }
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
