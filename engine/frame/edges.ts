import { kernelModule } from '../kernels/load.js';
import { KernelMemory } from '../kernels/memory.js';
import { GuidedFit, guidedFitBytes, type FitKernel } from './guided-fit.js';
import type { BubbleKernel } from './refined-bubble.js';
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
 * The hold where the person moves, `deadband`, trades lag at a moving edge against flicker: 0.05 → 0.04 follows the
 * edge closer (band IoU, every frame: shared clips 0.8496 → 0.8501, the other four 0.8685 → 0.8689, each clip up but
 * `tiny` −0.0001; mean IoU unchanged) for flicker 4.5e-7 → 6.7e-7 on the still clip; 0.03 crossed 1e-6 (1.01e-6).
 */
export const EDGE_REFINE_DEFAULTS: Readonly<EdgeRefineParams> = Object.freeze({
  cell: 8,
  radius: 40,
  eps: 1e-4,
  deadband: 0.04,
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

/** The refine kernel's exports (engine/kernels/assembly/refine.ts); pointers are byte offsets into its memory. */
export interface RefineKernel extends FitKernel, BubbleKernel {
  setSizes(gw: number, gh: number): void;
  setPlanes(width: number, y: number, u: number, v: number, out: number): void;
  setGrid(aY: number, aU: number, aV: number, b: number, lo: number, hi: number, still: number): void;
  setTables(rowCell: number, rowCellBelow: number, rowWeight: number, colCell: number, colWeight: number, runStart: number, rowStart: number, certain: number, blockStill: number): void;
  setParams(deadband: number, stillDeadband: number, chromaWeight: number, low: number, high: number): void;
  evaluate(x0: number, y0: number, x1: number, y1: number, hx0: number, hy0: number, hx1: number, hy1: number): void;
}

/**
 * The refiner of one render: it lays out the refine kernel's memory (engine/kernels/assembly/refine.ts and
 * guided-fit.ts do the arithmetic: the coarse fit, then q = a·I + b per pixel of the region with the temporal hold;
 * blocks whose q is certain either way are filled, not evaluated) and decides when to refit.
 */
export class EdgeRefiner {
  private readonly fit: GuidedFit;
  /** The kernel and its memory, shared with a RefinedBubble that cuts the bubble from `frame` and `out` (the kernel knows where they are). */
  readonly kernel: RefineKernel;
  readonly memory: KernelMemory;
  /** The kernel's copy of the frame (only the rows of the last region are current). */
  private readonly frame: Uint8Array;
  /** The refined map at frame resolution; also the temporal state (valid inside `held`). In the kernel's memory. */
  readonly out: Float32Array;
  /** The region the last refine() wrote (of `out`, and of `frame`'s rows). */
  private held: Region | null = null;
  /** The region of the last coarse fit, and frames since. */
  private fitted: Region | null = null;
  private sinceFit = 0;

  constructor(
    private readonly frameWidth: number,
    private readonly frameHeight: number,
    maskWidth: number,
    maskHeight: number,
    private readonly params: EdgeRefineParams = EDGE_REFINE_DEFAULTS,
    /** Bytes of kernel memory to keep free for another user of the kernel (RefinedBubble.bytes). */
    reserve = 0,
  ) {
    const W = frameWidth;
    const H = frameHeight;
    const gw = Math.ceil(W / params.cell);
    const gh = Math.ceil(H / params.cell);
    const mem = new KernelMemory(
      KernelMemory.bytesFor(
        { length: (W * H * 3) / 2, bytes: 1 }, { length: W * H, bytes: 4 }, // frame, out
        ...[H, H, H, W, W, gw + 1, gh + 1].map((length) => ({ length, bytes: 4 as const })), // row, column tables, spans
        { length: gw, bytes: 1 }, { length: gw, bytes: 1 }, // per-block flags
      ) + guidedFitBytes(gw, gh, maskWidth, maskHeight) + reserve,
    );
    this.memory = mem;
    this.kernel = new WebAssembly.Instance(kernelModule('refine'), { env: { memory: mem.memory } }).exports as unknown as RefineKernel;
    this.frame = mem.u8((W * H * 3) / 2);
    this.out = mem.f32(W * H);
    this.fit = new GuidedFit(W, H, maskWidth, maskHeight, params, mem, this.kernel);
    const [rowCell, rowCellBelow, rowWeight] = samplingTable(H, gh);
    const [colCell, , colWeight] = samplingTable(W, gw);
    const tables = [
      mem.copyOf(rowCell), mem.copyOf(rowCellBelow), mem.copyOf(rowWeight), mem.copyOf(colCell), mem.copyOf(colWeight),
      mem.copyOf(spanStarts(colCell, gw, W)), mem.copyOf(spanStarts(rowCell, gh, H)), mem.u8(gw).byteOffset, mem.u8(gw).byteOffset,
    ] as const;
    const k = this.kernel;
    k.setSizes(gw, gh);
    const uOffset = this.frame.byteOffset + W * H;
    k.setPlanes(W, this.frame.byteOffset, uOffset, uOffset + (W >> 1) * (H >> 1), this.out.byteOffset);
    const [aY, aU, aV, b] = this.fit.coef;
    k.setGrid(aY.byteOffset, aU.byteOffset, aV.byteOffset, b.byteOffset, this.fit.lo.byteOffset, this.fit.hi.byteOffset, this.fit.mapStill.byteOffset);
    k.setTables(...tables);
    k.setParams(params.deadband, params.stillDeadband, params.chromaWeight, REFINED_SOFTNESS.low, REFINED_SOFTNESS.high);
  }

  /**
   * The refined map for `region` of a planar yuv420p frame, from the model's map (maskWidth × maskHeight). Returns
   * `out` (frame resolution); only `region` is written.
   */
  refine(yuv: Uint8Array, prob: Float32Array, region: Region): Float32Array {
    if (this.needsFit(region)) {
      // The fit reads a margin of cells around the region: the whole frame goes to the kernel (≈ 0.1 ms).
      this.frame.set(yuv.subarray(0, this.frame.length));
      this.fit.run(prob, region);
      this.fitted = region;
      this.sinceFit = 0;
    } else {
      this.copyRows(yuv, region);
    }
    this.sinceFit++;
    const x1 = region.x0 + region.width;
    const y1 = region.y0 + region.height;
    // q = a·I + b per pixel of the region, held where the last frame's region overlaps (see the kernel).
    const h = this.params.deadband > 0 || this.params.stillDeadband > 0 ? this.held : null;
    if (h) this.kernel.evaluate(region.x0, region.y0, x1, y1, h.x0, h.y0, h.x0 + h.width, h.y0 + h.height);
    else this.kernel.evaluate(region.x0, region.y0, x1, y1, 0, 0, 0, 0);
    this.held = region;
    return this.out;
  }

  /** The region the last refine() wrote, or null before the first. */
  get lastRegion(): Region | null {
    return this.held;
  }

  /** The region's rows of the three planes into the kernel's frame (whole rows: one copy per plane). */
  private copyRows(yuv: Uint8Array, region: Region): void {
    const W = this.frameWidth;
    const H = this.frameHeight;
    const cw = W >> 1;
    const y1 = region.y0 + region.height;
    this.frame.set(yuv.subarray(region.y0 * W, y1 * W), region.y0 * W);
    const c0 = (region.y0 >> 1) * cw;
    const c1 = ((y1 + 1) >> 1) * cw;
    for (let plane = W * H; plane < (W * H * 3) / 2; plane += cw * (H >> 1)) this.frame.set(yuv.subarray(plane + c0, plane + c1), plane + c0);
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
}

/** For a non-decreasing cell index per pixel: the first pixel of each cell's span (`size` past the end). */
function spanStarts(cellOf: Int32Array, cells: number, size: number): Int32Array {
  const start = new Int32Array(cells + 1).fill(size);
  for (let x = size - 1; x >= 0; x--) start[cellOf[x]] = x;
  for (let k = cells - 1; k >= 0; k--) start[k] = Math.min(start[k], start[k + 1]);
  return start;
}
