/**
 * Numbers from TensorFlow Lite's `tensorflow/lite/schema/schema.fbs` (file identifier "TFL3"), copied by hand
 * for the tables and enum values this project reads and writes. Nothing here is guessed: each table's field ids
 * follow declaration order in schema.fbs, and a union field takes two ids (its `_type` byte, then the value).
 * FlatBuffers stores field id N at vtable offset 4 + 2·N — `vt()` does that arithmetic once.
 */

export const TFLITE_FILE_IDENTIFIER = 'TFL3';

/** vtable offset of field id `id`. */
export const vt = (id: number): number => 4 + 2 * id;

/** enum TensorType : byte */
export const TensorType = {
  FLOAT32: 0,
  FLOAT16: 1,
  INT32: 2,
  UINT8: 3,
  INT64: 4,
  STRING: 5,
  BOOL: 6,
  INT16: 7,
  COMPLEX64: 8,
  INT8: 9,
  FLOAT64: 10,
} as const;

export function tensorTypeName(type: number): string {
  const name = Object.entries(TensorType).find(([, v]) => v === type)?.[0];
  return name ?? `type#${type}`;
}

/** enum BuiltinOperator : int32 — only the codes the MediaPipe selfie models use, plus TRANSPOSE_CONV/CUSTOM. */
export const BuiltinOperator = {
  ADD: 0,
  AVERAGE_POOL_2D: 1,
  CONCATENATION: 2,
  CONV_2D: 3,
  DEPTHWISE_CONV_2D: 4,
  DEQUANTIZE: 6,
  LOGISTIC: 14,
  MAX_POOL_2D: 17,
  MUL: 18,
  RELU: 19,
  RELU6: 21,
  RESHAPE: 22,
  RESIZE_BILINEAR: 23,
  CUSTOM: 32,
  MEAN: 40,
  TRANSPOSE_CONV: 67,
  HARD_SWISH: 117,
  /** Codes above this one are stored only in OperatorCode.builtin_code (see OperatorCodeField). */
  PLACEHOLDER_FOR_GREATER_OP_CODES: 127,
} as const;

/**
 * Names for error messages. Lists every code up to HARD_SWISH so that an unsupported op is named in the error
 * rather than shown as a bare number (order = schema.fbs; 5 is DEPTH_TO_SPACE).
 */
const BUILTIN_NAMES = [
  'ADD', 'AVERAGE_POOL_2D', 'CONCATENATION', 'CONV_2D', 'DEPTHWISE_CONV_2D', 'DEPTH_TO_SPACE', 'DEQUANTIZE',
  'EMBEDDING_LOOKUP', 'FLOOR', 'FULLY_CONNECTED', 'HASHTABLE_LOOKUP', 'L2_NORMALIZATION', 'L2_POOL_2D',
  'LOCAL_RESPONSE_NORMALIZATION', 'LOGISTIC', 'LSH_PROJECTION', 'LSTM', 'MAX_POOL_2D', 'MUL', 'RELU',
  'RELU_N1_TO_1', 'RELU6', 'RESHAPE', 'RESIZE_BILINEAR', 'RNN', 'SOFTMAX', 'SPACE_TO_DEPTH', 'SVDF', 'TANH',
  'CONCAT_EMBEDDINGS', 'SKIP_GRAM', 'CALL', 'CUSTOM', 'EMBEDDING_LOOKUP_SPARSE', 'PAD',
  'UNIDIRECTIONAL_SEQUENCE_RNN', 'GATHER', 'BATCH_TO_SPACE_ND', 'SPACE_TO_BATCH_ND', 'TRANSPOSE', 'MEAN', 'SUB',
  'DIV', 'SQUEEZE', 'UNIDIRECTIONAL_SEQUENCE_LSTM', 'STRIDED_SLICE', 'BIDIRECTIONAL_SEQUENCE_RNN', 'EXP',
  'TOPK_V2', 'SPLIT', 'LOG_SOFTMAX', 'DELEGATE', 'BIDIRECTIONAL_SEQUENCE_LSTM', 'CAST', 'PRELU', 'MAXIMUM',
  'ARG_MAX', 'MINIMUM', 'LESS', 'NEG', 'PADV2', 'GREATER', 'GREATER_EQUAL', 'LESS_EQUAL', 'SELECT', 'SLICE',
  'SIN', 'TRANSPOSE_CONV', 'SPARSE_TO_DENSE', 'TILE', 'EXPAND_DIMS', 'EQUAL', 'NOT_EQUAL', 'LOG', 'SUM', 'SQRT',
  'RSQRT', 'SHAPE', 'POW', 'ARG_MIN', 'FAKE_QUANT', 'REDUCE_PROD', 'REDUCE_MAX', 'PACK', 'LOGICAL_OR',
  'ONE_HOT', 'LOGICAL_AND', 'LOGICAL_NOT', 'UNPACK', 'REDUCE_MIN', 'FLOOR_DIV', 'REDUCE_ANY', 'SQUARE',
  'ZEROS_LIKE', 'FILL', 'FLOOR_MOD', 'RANGE', 'RESIZE_NEAREST_NEIGHBOR', 'LEAKY_RELU', 'SQUARED_DIFFERENCE',
  'MIRROR_PAD', 'ABS', 'SPLIT_V', 'UNIQUE', 'CEIL', 'REVERSE_V2', 'ADD_N', 'GATHER_ND', 'COS', 'WHERE', 'RANK',
  'ELU', 'REVERSE_SEQUENCE', 'MATRIX_DIAG', 'QUANTIZE', 'MATRIX_SET_DIAG', 'ROUND', 'HARD_SWISH',
] as const;

export function builtinName(code: number): string {
  return BUILTIN_NAMES[code] ?? `BUILTIN_${code}`;
}

/**
 * union BuiltinOptions — the union's type byte is 1 + the member's position in the union declaration
 * (0 is NONE). Counted from schema.fbs; HardSwishOptions is member 91.
 */
export const BuiltinOptionsType = {
  NONE: 0,
  Conv2DOptions: 1,
  DepthwiseConv2DOptions: 2,
  Pool2DOptions: 5,
  AddOptions: 11,
  ResizeBilinearOptions: 15,
  MulOptions: 21,
  ReducerOptions: 27,
  DequantizeOptions: 38,
  TransposeConvOptions: 49,
  HardSwishOptions: 91,
} as const;

/** enum Padding : byte { SAME, VALID } */
export const Padding = { SAME: 0, VALID: 1 } as const;

/** enum ActivationFunctionType : byte */
export const Activation = { NONE: 0, RELU: 1, RELU_N1_TO_1: 2, RELU6: 3, TANH: 4, SIGN_BIT: 5 } as const;

/** Field ids per table, in schema.fbs declaration order. */
export const ModelField = { version: 0, operator_codes: 1, subgraphs: 2, description: 3, buffers: 4, metadata_buffer: 5, metadata: 6 } as const;
export const OperatorCodeField = { deprecated_builtin_code: 0, custom_code: 1, version: 2, builtin_code: 3 } as const;
export const SubGraphField = { tensors: 0, inputs: 1, outputs: 2, operators: 3, name: 4 } as const;
export const TensorField = { shape: 0, type: 1, buffer: 2, name: 3, quantization: 4, is_variable: 5 } as const;
export const QuantizationField = { min: 0, max: 1, scale: 2, zero_point: 3 } as const;
export const BufferField = { data: 0, offset: 1, size: 2 } as const;
export const MetadataField = { name: 0, buffer: 1 } as const;
/** builtin_options is a union: id 3 holds its type byte, id 4 the table. */
export const OperatorField = {
  opcode_index: 0,
  inputs: 1,
  outputs: 2,
  builtin_options_type: 3,
  builtin_options: 4,
  custom_options: 5,
  custom_options_format: 6,
} as const;

export const Conv2DOptionsField = { padding: 0, stride_w: 1, stride_h: 2, fused_activation_function: 3, dilation_w_factor: 4, dilation_h_factor: 5 } as const;
export const DepthwiseConv2DOptionsField = { padding: 0, stride_w: 1, stride_h: 2, depth_multiplier: 3, fused_activation_function: 4, dilation_w_factor: 5, dilation_h_factor: 6 } as const;
export const Pool2DOptionsField = { padding: 0, stride_w: 1, stride_h: 2, filter_width: 3, filter_height: 4, fused_activation_function: 5 } as const;
export const ActivationOnlyOptionsField = { fused_activation_function: 0 } as const; // AddOptions, MulOptions
/** new_height / new_width (ids 0, 1) are deprecated and never read. */
export const ResizeBilinearOptionsField = { align_corners: 2, half_pixel_centers: 3 } as const;
export const ReducerOptionsField = { keep_dims: 0 } as const;
export const TransposeConvOptionsField = { padding: 0, stride_w: 1, stride_h: 2, fused_activation_function: 3 } as const;
