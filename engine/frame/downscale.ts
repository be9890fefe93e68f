/**
 * Area (box) downscale of a packed RGB24 image to a smaller RGB24 image: each output pixel is the mean of the
 * source area it covers, partial pixels weighted by their covered share. This is what ffmpeg's `flags=area` does
 * when shrinking, so a person model fed from another model's input copy (the quality engine's 1024² frame) sees
 * nearly the input the fast engine's decoder gives it.
 *
 * The weight tables depend only on the sizes and are built once; `run` allocates nothing.
 */
export class AreaDownscaler {
  readonly output: Uint8Array;
  private readonly cols: AxisTable;
  private readonly rows: AxisTable;
  /** One horizontally reduced source row per source row: srcHeight × dstWidth × 3. */
  private readonly tmp: Float32Array;

  constructor(
    private readonly srcWidth: number,
    private readonly srcHeight: number,
    readonly width: number,
    readonly height: number,
  ) {
    if (width > srcWidth || height > srcHeight) throw new Error(`AreaDownscaler only shrinks (${srcWidth}×${srcHeight} → ${width}×${height})`);
    this.cols = axisTable(srcWidth, width);
    this.rows = axisTable(srcHeight, height);
    this.tmp = new Float32Array(srcHeight * width * 3);
    this.output = new Uint8Array(width * height * 3);
  }

  run(rgb: Uint8Array): Uint8Array {
    if (rgb.length !== this.srcWidth * this.srcHeight * 3) throw new Error(`expected ${this.srcWidth}×${this.srcHeight} RGB24, got ${rgb.length} bytes`);
    this.reduceRows(rgb);
    this.reduceColumns();
    return this.output;
  }

  /** Horizontal pass: every source row → `width` RGB means. */
  private reduceRows(rgb: Uint8Array): void {
    const { start, count, weight, offset } = this.cols;
    const { srcWidth, width, tmp } = this;
    for (let y = 0; y < this.srcHeight; y++) {
      const src = y * srcWidth * 3;
      const dst = y * width * 3;
      for (let x = 0; x < width; x++) {
        let r = 0;
        let g = 0;
        let b = 0;
        for (let k = 0, o = offset[x], s = src + start[x] * 3; k < count[x]; k++, o++, s += 3) {
          const w = weight[o];
          r += rgb[s] * w;
          g += rgb[s + 1] * w;
          b += rgb[s + 2] * w;
        }
        tmp[dst + x * 3] = r;
        tmp[dst + x * 3 + 1] = g;
        tmp[dst + x * 3 + 2] = b;
      }
    }
  }

  /** Vertical pass over the reduced rows, rounded into the output. */
  private reduceColumns(): void {
    const { start, count, weight, offset } = this.rows;
    const rowLen = this.width * 3;
    const { tmp, output } = this;
    for (let y = 0; y < this.height; y++) {
      const dst = y * rowLen;
      for (let i = 0; i < rowLen; i++) {
        let v = 0;
        for (let k = 0, o = offset[y], s = start[y] * rowLen + i; k < count[y]; k++, o++, s += rowLen) v += tmp[s] * weight[o];
        output[dst + i] = v + 0.5; // Uint8Array truncates: +0.5 rounds (v stays within 0..255)
      }
    }
  }
}

/** For each output position along one axis: first source index, number of source pixels, their weights (sum 1). */
interface AxisTable {
  start: Int32Array;
  count: Int32Array;
  offset: Int32Array;
  weight: Float32Array;
}

function axisTable(src: number, dst: number): AxisTable {
  const scale = src / dst;
  const start = new Int32Array(dst);
  const count = new Int32Array(dst);
  const offset = new Int32Array(dst);
  const weights: number[] = [];
  for (let i = 0; i < dst; i++) {
    const a = i * scale;
    const b = (i + 1) * scale;
    const first = Math.floor(a);
    const last = Math.min(src - 1, Math.ceil(b) - 1);
    start[i] = first;
    count[i] = last - first + 1;
    offset[i] = weights.length;
    for (let s = first; s <= last; s++) weights.push((Math.min(b, s + 1) - Math.max(a, s)) / scale);
  }
  return { start, count, offset, weight: Float32Array.from(weights) };
}
