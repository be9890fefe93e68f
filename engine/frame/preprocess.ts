import { kernelModule } from '../kernels/load.js';
import { KernelMemory } from '../kernels/memory.js';
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
 * The arithmetic runs in the preprocess kernel (engine/kernels/assembly/preprocess.ts; same tensor to the bit, in
 * ≈ 60 % of the time), on its own copy of the frame: slot N+1's tensor is filled while frame N is still in use.
 */
export class YuvPreprocessor {
  readonly input: Float32Array;
  /** The kernel's copy of the frame. */
  private readonly frame: Uint8Array;
  private readonly kernel: { run(): void };

  constructor(frameWidth: number, frameHeight: number, spec: ModelSpec, matrix: YuvMatrix = 'bt601') {
    const { width: mw, height: mh } = spec;
    const f32 = (length: number) => ({ length, bytes: 4 as const });
    const mem = new KernelMemory(KernelMemory.bytesFor({ length: (frameWidth * frameHeight * 3) / 2, bytes: 1 }, f32(3 * mw * mh), ...[mw, mw, mw, mh, mh, mh].map(f32)));
    this.frame = mem.u8((frameWidth * frameHeight * 3) / 2);
    this.input = mem.f32(3 * mw * mh);
    const tables = [...samplingTable(mw, frameWidth), ...samplingTable(mh, frameHeight)].map((t) => mem.copyOf(t));
    const k = new WebAssembly.Instance(kernelModule('preprocess'), { env: { memory: mem.memory } }).exports as unknown as PreprocessKernel;
    k.setLayout(frameWidth, frameHeight, mw, mh, this.frame.byteOffset, this.input.byteOffset, tables[0]!, tables[1]!, tables[2]!, tables[3]!, tables[4]!, tables[5]!);
    const m = YUV_TO_RGB[matrix];
    k.setMatrix(m.y, m.rv, m.gu, m.gv, m.bu, spec.scale, spec.offset);
    this.kernel = k;
  }

  /** The model's input tensor for this frame (the same array every call). */
  run(yuv: Uint8Array): Float32Array {
    this.frame.set(yuv.subarray(0, this.frame.length));
    this.kernel.run();
    return this.input;
  }
}

/** The preprocess kernel's exports (engine/kernels/assembly/preprocess.ts); pointers are byte offsets. */
interface PreprocessKernel {
  setLayout(frameW: number, frameH: number, modelW: number, modelH: number, frame: number, out: number, xi0: number, xi1: number, xw: number, yi0: number, yi1: number, yw: number): void;
  setMatrix(y: number, rv: number, gu: number, gv: number, bu: number, scale: number, offset: number): void;
  run(): void;
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
