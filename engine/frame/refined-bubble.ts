import { KernelMemory } from '../kernels/memory.js';
import { shapeBytes, softThreshold, SOFT_LUT_STEPS, type Softness } from './compose.js';
import type { EdgeRefiner } from './edges.js';
import type { ShapeMask } from './shape.js';

/** The compose exports of the refine kernel (engine/kernels/assembly/compose.ts). */
export interface BubbleKernel {
  setBubble(side: number, shapeAlpha: number, shapeBytes: number, spanStart: number, spanEnd: number, lut: number, steps: number, low: number, full: number, dst: number): void;
  composeBubble(x0: number, y0: number): void;
}

/**
 * The bubble's yuva420p pixels cut by the refine kernel straight from the refiner's frame copy and refined map,
 * which live in its memory: the same bytes as Compositor.composeYuv on that map (alpha = shape × soft threshold,
 * black where transparent), without copying the map out or walking it in JS. Shapes without a ring only; the
 * ring's blend and the whole-frame mask stay with Compositor.
 */
export class RefinedBubble {
  private readonly dst: Uint8Array;

  /** Kernel memory a RefinedBubble of this side takes (reserve it when constructing the EdgeRefiner). */
  static bytes(side: number): number {
    const cs = side >> 1;
    return KernelMemory.bytesFor(
      { length: side * side, bytes: 4 }, { length: side * side, bytes: 1 }, { length: side, bytes: 4 }, { length: side, bytes: 4 }, // shape, spans
      { length: SOFT_LUT_STEPS + 1, bytes: 4 }, { length: 2 * side * side + 2 * cs * cs, bytes: 1 }, // table, output
    );
  }

  constructor(
    private readonly refiner: EdgeRefiner,
    private readonly shape: ShapeMask,
    softness: Softness,
  ) {
    if (shape.ring) throw new Error('RefinedBubble draws shapes without a ring (Compositor blends the ring)');
    const { memory: mem, kernel } = refiner;
    const { side } = shape;
    const cs = side >> 1;
    const alpha = mem.copyOf(shape.alpha);
    const bytes = mem.copyOf(shapeBytes(shape.alpha));
    const start = mem.copyOf(shape.spanStart);
    const end = mem.copyOf(shape.spanEnd);
    const { lut, low, full } = softThreshold(softness);
    const table = mem.copyOf(lut);
    this.dst = mem.u8(2 * side * side + 2 * cs * cs);
    kernel.setBubble(side, alpha, bytes, start, end, table, SOFT_LUT_STEPS, low, full, this.dst.byteOffset);
  }

  /** The bubble at (x0, y0) (even) of the refiner's last frame, into `out` (side² Y, then U, V, A). */
  composeYuv(x0: number, y0: number, out: Uint8Array): void {
    const r = this.refiner.lastRegion;
    const side = this.shape.side;
    if ((x0 | y0) & 1) throw new Error('composeYuv needs even crop offsets');
    if (!r || x0 < r.x0 || y0 < r.y0 || x0 + side > r.x0 + r.width || y0 + side > r.y0 + r.height) {
      throw new Error('RefinedBubble: the crop lies outside the region the refiner last refined');
    }
    this.refiner.kernel.composeBubble(x0, y0);
    out.set(this.dst);
  }
}
