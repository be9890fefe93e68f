/**
 * Layout arithmetic for moving a TFLite (NHWC) graph to ONNX (NCHW). All weight reordering happens here, once,
 * at conversion time, so the converted graph needs no runtime Transpose nodes.
 */

/** Axis permutations, read as "output axis i takes input axis perm[i]". */
export const PERM = {
  /** Activations and rank-4 constants: NHWC → NCHW. */
  NHWC_TO_NCHW: [0, 3, 1, 2],
  /** CONV_2D filters: OHWI → OIHW (ONNX Conv's W). */
  OHWI_TO_OIHW: [0, 3, 1, 2],
  /**
   * DEPTHWISE_CONV_2D filters: [1, H, W, C·M] → [C·M, 1, H, W]. TFLite's output channel c·M + m reads input
   * channel c, which is exactly ONNX's grouping with group = C (M consecutive outputs per group).
   */
  DEPTHWISE_TO_ONNX: [3, 0, 1, 2],
  /** Transposed-conv filters: OHWI → IOHW (ONNX ConvTranspose's W is [C_in, C_out/group, kH, kW]). */
  OHWI_TO_IOHW: [3, 0, 1, 2],
} as const;

export function permuteShape(shape: readonly number[], perm: readonly number[]): number[] {
  return perm.map((p) => {
    const d = shape[p];
    if (d === undefined) throw new Error(`cannot permute shape [${shape}] by [${perm}]`);
    return d;
  });
}

/** Reorders a dense rank-4 tensor. */
export function transpose4(data: Float32Array, shape: readonly number[], perm: readonly number[]): Float32Array {
  if (shape.length !== 4 || perm.length !== 4) throw new Error(`transpose4 needs rank 4, got [${shape}] / [${perm}]`);
  const outShape = permuteShape(shape, perm);
  const inStrides = [shape[1]! * shape[2]! * shape[3]!, shape[2]! * shape[3]!, shape[3]!, 1];
  // Stride in the input of a unit step along each output axis.
  const s = perm.map((p) => inStrides[p]!);
  const out = new Float32Array(data.length);
  let o = 0;
  for (let a = 0; a < outShape[0]!; a++)
    for (let b = 0; b < outShape[1]!; b++)
      for (let c = 0; c < outShape[2]!; c++)
        for (let d = 0; d < outShape[3]!; d++) out[o++] = data[a * s[0]! + b * s[1]! + c * s[2]! + d * s[3]!]!;
  return out;
}

/**
 * A constant operand of an NHWC elementwise op, made broadcast-compatible with NCHW activations: numpy-style
 * broadcasting aligns trailing axes, so a [C] or [1,1,1,C] constant is first padded to rank 4 (NHWC) and then
 * permuted like an activation, giving [1,C,1,1].
 */
export function elementwiseConstantToNchw(data: Float32Array, shape: readonly number[]): { data: Float32Array; dims: number[] } {
  if (shape.length > 4) throw new Error(`elementwise constant of rank ${shape.length} is not supported`);
  if (shape.length === 0) return { data, dims: [] };
  const rank4 = [...Array<number>(4 - shape.length).fill(1), ...shape];
  return { data: transpose4(data, rank4, PERM.NHWC_TO_NCHW), dims: permuteShape(rank4, PERM.NHWC_TO_NCHW) };
}
