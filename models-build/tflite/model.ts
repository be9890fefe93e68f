/**
 * A TFLite model as plain data: what `readTflite` returns and `writeTflite` serialises. Only the parts of the
 * schema that a float inference graph needs are kept (no sparsity, signatures or subgraph calls); the reader
 * refuses files that rely on anything it would otherwise silently drop (quantised tensors, several subgraphs).
 */

export interface TfliteModel {
  version: number;
  description: string;
  operatorCodes: TfliteOperatorCode[];
  /** The reader accepts exactly one subgraph (the main graph); the converter works on it. */
  subgraphs: TfliteSubgraph[];
  /** Raw bytes of each buffer; index 0 is the empty sentinel. Views into the source file, not copies. */
  buffers: Uint8Array[];
  /** Named metadata entries (e.g. "min_runtime_version"), each pointing at a buffer. */
  metadata: Array<{ name: string; buffer: number }>;
}

export interface TfliteOperatorCode {
  /** BuiltinOperator value (the larger of deprecated_builtin_code and builtin_code, as TFLite itself reads it). */
  builtinCode: number;
  /** Set for BuiltinOperator.CUSTOM, e.g. "Convolution2DTransposeBias". */
  customCode: string | null;
  version: number;
}

export interface TfliteSubgraph {
  name: string;
  tensors: TfliteTensor[];
  inputs: number[];
  outputs: number[];
  operators: TfliteOperator[];
}

export interface TfliteTensor {
  name: string;
  /** As stored: NHWC for activations, OHWI / 1HWC for filters. */
  shape: number[];
  /** TensorType value. */
  type: number;
  /** Buffer index; 0 (or an empty buffer) means the tensor is computed at run time. */
  buffer: number;
}

export interface TfliteOperator {
  opcodeIndex: number;
  /** Tensor indices; -1 marks an omitted optional input. */
  inputs: number[];
  outputs: number[];
  options: TfliteBuiltinOptions;
  /** Raw custom_options bytes of a CUSTOM op (MediaPipe's ops use a plain C struct here, not FlexBuffers). */
  customOptions: Uint8Array | null;
}

/** Decoded `builtin_options` union. Members the project never needs are kept as `other` with their type byte. */
export type TfliteBuiltinOptions =
  | { kind: 'none' }
  | { kind: 'conv2d'; padding: number; strideW: number; strideH: number; activation: number; dilationW: number; dilationH: number }
  | {
      kind: 'depthwiseConv2d';
      padding: number;
      strideW: number;
      strideH: number;
      depthMultiplier: number;
      activation: number;
      dilationW: number;
      dilationH: number;
    }
  | { kind: 'pool2d'; padding: number; strideW: number; strideH: number; filterW: number; filterH: number; activation: number }
  | { kind: 'add'; activation: number }
  | { kind: 'mul'; activation: number }
  | { kind: 'resizeBilinear'; alignCorners: boolean; halfPixelCenters: boolean }
  | { kind: 'reducer'; keepDims: boolean }
  | { kind: 'dequantize' }
  | { kind: 'hardSwish' }
  | { kind: 'transposeConv'; padding: number; strideW: number; strideH: number; activation: number }
  | { kind: 'other'; unionType: number };

export function tensorElementCount(t: Pick<TfliteTensor, 'shape'>): number {
  return t.shape.reduce((a, b) => a * b, 1);
}
