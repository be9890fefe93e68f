import { KernelMemory } from '../kernels/memory.js';
import type { EdgeRefineParams, Region } from './edges.js';
import { samplingTable } from './preprocess.js';

/**
 * The float planes of the coarse grid, in the order the kernel (engine/kernels/assembly/guided-fit.ts) numbers
 * them: guidance means and second moments (13), the same box-averaged (13), the raw coefficients (4), the averaged
 * ones the evaluator reads (4), scratch, each channel's range per cell and over its 3×3 neighbourhood (6 + 6), the
 * bounds of q (2), and the last fit's coarse map with its change (2).
 */
const PLANES = 51;
const COEF = 30;
const LO = 47;
const HI = 48;

/** The fit's exports of the refine kernel. */
export interface FitKernel {
  setFitLayout(height: number, gw: number, gh: number, cell: number, maskWidth: number, planes: number, prob: number, still: number): void;
  setFitTables(row0: number, row1: number, rowWeight: number, col0: number, col1: number, colWeight: number): void;
  fit(i0: number, i1: number, j0: number, j1: number, R: number, eps: number, chromaWeight: number, stillMapChange: number, hasPrev: number): void;
}

/** Bytes the fit takes in the kernel's memory (for sizing it). */
export function guidedFitBytes(gw: number, gh: number, maskWidth: number, maskHeight: number): number {
  const f32 = (length: number) => ({ length, bytes: 4 as const });
  return KernelMemory.bytesFor(f32(PLANES * gw * gh), f32(maskWidth * maskHeight), { length: gw * gh, bytes: 1 }, ...[gh, gh, gh, gw, gw, gw].map(f32));
}

/**
 * The coarse half of the fast guided filter: on a grid of `cell`-pixel cells it fits, per cell, the linear model
 * q = a·[Y,U,V] + b of the person map against the frame's colour (least squares over a (2·radius)² window,
 * regularised by eps), box-averages the coefficients, and bounds q per cell so that the evaluator can skip the
 * cells where the result is certain. Only the cells a region needs are computed (see workRect). The arithmetic runs
 * in the refine kernel; this side lays out its memory and picks the cells.
 */
export class GuidedFit {
  readonly gw: number;
  readonly gh: number;
  /** Box-averaged coefficients per cell: aY, aU, aV (per unit of 0..1 guidance) and b. */
  readonly coef: [Float32Array, Float32Array, Float32Array, Float32Array];
  /** Per cell: the least and most q can be over the colours of its 3×3 neighbourhood. */
  readonly lo: Float32Array;
  readonly hi: Float32Array;
  /** Per cell: 1 where the model's map moved less than `stillMapChange` in its 3×3 neighbourhood since the last fit. */
  readonly mapStill: Uint8Array;
  /** The model's map as the kernel reads it. */
  private readonly prob: Float32Array;
  private hasPrev = false;

  constructor(
    frameWidth: number,
    frameHeight: number,
    maskWidth: number,
    maskHeight: number,
    private readonly params: EdgeRefineParams,
    mem: KernelMemory,
    /** Reads the frame where the refine kernel's setPlanes put it (EdgeRefiner keeps it current before each run()). */
    private readonly kernel: FitKernel,
  ) {
    this.gw = Math.ceil(frameWidth / params.cell);
    this.gh = Math.ceil(frameHeight / params.cell);
    const n = this.gw * this.gh;
    const planes = mem.f32(PLANES * n);
    const plane = (p: number) => planes.subarray(p * n, (p + 1) * n);
    this.coef = [plane(COEF), plane(COEF + 1), plane(COEF + 2), plane(COEF + 3)];
    this.lo = plane(LO);
    this.hi = plane(HI);
    this.mapStill = mem.u8(n);
    this.prob = mem.f32(maskWidth * maskHeight);
    const tables = [...samplingTable(this.gh, maskHeight), ...samplingTable(this.gw, maskWidth)].map((t) => mem.copyOf(t));
    kernel.setFitLayout(frameHeight, this.gw, this.gh, params.cell, maskWidth, planes.byteOffset, this.prob.byteOffset, this.mapStill.byteOffset);
    kernel.setFitTables(tables[0]!, tables[1]!, tables[2]!, tables[3]!, tables[4]!, tables[5]!);
  }

  /** Fits the coefficients (and their bounds) for the cells `region` of the kernel's frame needs. */
  run(prob: Float32Array, region: Region): void {
    const { cell, radius, eps, chromaWeight, stillMapChange } = this.params;
    const R = Math.max(1, Math.round(radius / cell));
    const w = this.workRect(region, R);
    this.prob.set(prob);
    this.kernel.fit(w.i0, w.i1, w.j0, w.j1, R, eps, chromaWeight, stillMapChange, this.hasPrev ? 1 : 0);
    this.hasPrev = true;
  }

  /**
   * The coarse cells the region needs: its own, plus the two box means' reach (2R) and one for interpolation. Cells
   * at the rectangle's border see a shrunk window, which only changes cells the region does not read.
   */
  private workRect(region: Region, R: number): { i0: number; i1: number; j0: number; j1: number } {
    const S = this.params.cell;
    const M = 2 * R + 1;
    return {
      i0: Math.max(0, Math.floor(region.x0 / S) - M),
      j0: Math.max(0, Math.floor(region.y0 / S) - M),
      i1: Math.min(this.gw, Math.ceil((region.x0 + region.width) / S) + M),
      j1: Math.min(this.gh, Math.ceil((region.y0 + region.height) / S) + M),
    };
  }
}
