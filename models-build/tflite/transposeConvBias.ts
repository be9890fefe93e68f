/**
 * MediaPipe's custom op `Convolution2DTransposeBias` (mediapipe/util/tflite/operations/transpose_conv_bias.cc):
 * a transposed convolution with bias. Inputs: [input NHWC, weights OHWI, bias [O]].
 *
 * Its custom_options are NOT a FlexBuffer: the kernel reinterprets them as a C `TfLiteTransposeConvParams`
 * struct — { TfLitePadding padding; int stride_width; int stride_height; } — 12 bytes, int32 little endian.
 * Note that TfLitePadding (C API) is 0 = unknown, 1 = SAME, 2 = VALID, unlike the schema's Padding enum.
 */

export const TRANSPOSE_CONV_BIAS = 'Convolution2DTransposeBias';

export interface TransposeConvBiasParams {
  padding: 'SAME' | 'VALID';
  strideW: number;
  strideH: number;
}

export function parseTransposeConvBiasOptions(bytes: Uint8Array | null): TransposeConvBiasParams {
  if (!bytes || bytes.length < 12) {
    throw new Error(`${TRANSPOSE_CONV_BIAS}: expected 12 bytes of custom_options, got ${bytes?.length ?? 0}`);
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const padding = dv.getInt32(0, true);
  const strideW = dv.getInt32(4, true);
  const strideH = dv.getInt32(8, true);
  if (padding !== 1 && padding !== 2) throw new Error(`${TRANSPOSE_CONV_BIAS}: unknown padding enum ${padding}`);
  if (strideW < 1 || strideH < 1) throw new Error(`${TRANSPOSE_CONV_BIAS}: invalid strides ${strideW}×${strideH}`);
  return { padding: padding === 1 ? 'SAME' : 'VALID', strideW, strideH };
}

/**
 * MediaPipe's output-size/padding rule for one spatial axis (its Prepare/Eval): with SAME, the total padding is
 * max(0, k − (in − 1) mod s − 1), the output is s·(in − 1) + k − total, and the kernel offsets outputs by
 * floor(total / 2) — so the remainder of an odd total is cropped from the END. VALID has no padding.
 */
export function transposeConvBiasAxis(
  padding: TransposeConvBiasParams['padding'],
  inSize: number,
  kernel: number,
  stride: number,
): { outSize: number; padBegin: number; padEnd: number } {
  const total = padding === 'SAME' ? Math.max(0, kernel - ((inSize - 1) % stride) - 1) : 0;
  const padBegin = Math.floor(total / 2);
  return { outSize: stride * (inSize - 1) + kernel - total, padBegin, padEnd: total - padBegin };
}
