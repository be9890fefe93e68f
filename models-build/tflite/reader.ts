import { ByteBuffer } from 'flatbuffers';
import type { TfliteBuiltinOptions, TfliteModel, TfliteOperator, TfliteOperatorCode, TfliteSubgraph, TfliteTensor } from './model.js';
import {
  ActivationOnlyOptionsField,
  BufferField,
  BuiltinOperator,
  BuiltinOptionsType,
  Conv2DOptionsField,
  DepthwiseConv2DOptionsField,
  MetadataField,
  ModelField,
  OperatorCodeField,
  OperatorField,
  Pool2DOptionsField,
  QuantizationField,
  ReducerOptionsField,
  ResizeBilinearOptionsField,
  SubGraphField,
  TensorField,
  TFLITE_FILE_IDENTIFIER,
  TransposeConvOptionsField,
  vt,
} from './schema.js';

export class TfliteFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TfliteFormatError';
  }
}

/**
 * Thin accessors over one FlatBuffers table. The `flatbuffers` package only ships the byte-level primitives
 * (generated code normally wraps them); these few helpers are all a reader needs.
 */
class Table {
  constructor(
    readonly bb: ByteBuffer,
    readonly pos: number,
  ) {}

  private field(id: number): number {
    return this.bb.__offset(this.pos, vt(id));
  }

  has(id: number): boolean {
    return this.field(id) !== 0;
  }

  int8(id: number, dflt = 0): number {
    const o = this.field(id);
    return o ? this.bb.readInt8(this.pos + o) : dflt;
  }

  uint8(id: number, dflt = 0): number {
    const o = this.field(id);
    return o ? this.bb.readUint8(this.pos + o) : dflt;
  }

  bool(id: number, dflt = false): boolean {
    const o = this.field(id);
    return o ? this.bb.readInt8(this.pos + o) !== 0 : dflt;
  }

  int32(id: number, dflt = 0): number {
    const o = this.field(id);
    return o ? this.bb.readInt32(this.pos + o) : dflt;
  }

  uint32(id: number, dflt = 0): number {
    const o = this.field(id);
    return o ? this.bb.readUint32(this.pos + o) : dflt;
  }

  uint64(id: number): bigint {
    const o = this.field(id);
    return o ? this.bb.readUint64(this.pos + o) : 0n;
  }

  string(id: number): string {
    const o = this.field(id);
    return o ? (this.bb.__string(this.pos + o) as string) : '';
  }

  table(id: number): Table | null {
    const o = this.field(id);
    return o ? new Table(this.bb, this.bb.__indirect(this.pos + o)) : null;
  }

  vectorLength(id: number): number {
    const o = this.field(id);
    return o ? this.bb.__vector_len(this.pos + o) : 0;
  }

  int32s(id: number): number[] {
    const o = this.field(id);
    if (!o) return [];
    const start = this.bb.__vector(this.pos + o);
    const n = this.bb.__vector_len(this.pos + o);
    const out = new Array<number>(n);
    for (let i = 0; i < n; i++) out[i] = this.bb.readInt32(start + 4 * i);
    return out;
  }

  /** A [ubyte] vector as a view into the file (no copy). */
  bytes(id: number): Uint8Array | null {
    const o = this.field(id);
    if (!o) return null;
    const start = this.bb.__vector(this.pos + o);
    const n = this.bb.__vector_len(this.pos + o);
    return this.bb.bytes().subarray(start, start + n);
  }

  tables(id: number): Table[] {
    const o = this.field(id);
    if (!o) return [];
    const start = this.bb.__vector(this.pos + o);
    const n = this.bb.__vector_len(this.pos + o);
    const out: Table[] = [];
    for (let i = 0; i < n; i++) out.push(new Table(this.bb, this.bb.__indirect(start + 4 * i)));
    return out;
  }
}

/** Parses a .tflite flatbuffer into a plain `TfliteModel`. Buffers stay views into `bytes`. */
export function readTflite(bytes: Uint8Array): TfliteModel {
  if (bytes.length < 8) throw new TfliteFormatError(`not a TFLite file: ${bytes.length} bytes`);
  const bb = new ByteBuffer(bytes);
  if (!bb.__has_identifier(TFLITE_FILE_IDENTIFIER)) {
    throw new TfliteFormatError(`not a TFLite file: missing "${TFLITE_FILE_IDENTIFIER}" identifier`);
  }
  const root = new Table(bb, bb.readInt32(bb.position()) + bb.position());

  const buffers = root.tables(ModelField.buffers).map((b, i) => {
    // Files over 2 GB keep data outside the flatbuffer (offset/size); the MediaPipe models never do.
    if (b.uint64(BufferField.offset) > 1n) throw new TfliteFormatError(`buffer ${i} is stored outside the flatbuffer (>2 GB models are not supported)`);
    return b.bytes(BufferField.data) ?? new Uint8Array(0);
  });

  const subgraphTables = root.tables(ModelField.subgraphs);
  if (subgraphTables.length !== 1) {
    throw new TfliteFormatError(`expected exactly one subgraph, found ${subgraphTables.length}`);
  }

  return {
    version: root.uint32(ModelField.version),
    description: root.string(ModelField.description),
    operatorCodes: root.tables(ModelField.operator_codes).map(readOperatorCode),
    subgraphs: subgraphTables.map(readSubgraph),
    buffers,
    metadata: root.tables(ModelField.metadata).map((m) => ({ name: m.string(MetadataField.name), buffer: m.uint32(MetadataField.buffer) })),
  };
}

function readOperatorCode(t: Table): TfliteOperatorCode {
  // Since schema 3a the code lives in two fields; TFLite takes the larger (the byte one saturates at 127).
  const deprecated = t.int8(OperatorCodeField.deprecated_builtin_code);
  const extended = t.int32(OperatorCodeField.builtin_code);
  const customCode = t.has(OperatorCodeField.custom_code) ? t.string(OperatorCodeField.custom_code) : null;
  return { builtinCode: Math.max(deprecated, extended), customCode, version: t.int32(OperatorCodeField.version, 1) };
}

function readSubgraph(t: Table): TfliteSubgraph {
  return {
    name: t.string(SubGraphField.name),
    tensors: t.tables(SubGraphField.tensors).map(readTensor),
    inputs: t.int32s(SubGraphField.inputs),
    outputs: t.int32s(SubGraphField.outputs),
    operators: t.tables(SubGraphField.operators).map(readOperator),
  };
}

function readTensor(t: Table): TfliteTensor {
  const name = t.string(TensorField.name);
  const q = t.table(TensorField.quantization);
  // A float16 constant carries no quantisation; int8/uint8 tensors do, and the converter has no path for them.
  if (q && q.vectorLength(QuantizationField.scale) > 0) {
    throw new TfliteFormatError(`tensor "${name}" is quantised (scale/zero_point); only float models are supported`);
  }
  return { name, shape: t.int32s(TensorField.shape), type: t.int8(TensorField.type), buffer: t.uint32(TensorField.buffer) };
}

function readOperator(t: Table): TfliteOperator {
  return {
    opcodeIndex: t.uint32(OperatorField.opcode_index),
    inputs: t.int32s(OperatorField.inputs),
    outputs: t.int32s(OperatorField.outputs),
    options: readBuiltinOptions(t.uint8(OperatorField.builtin_options_type), t.table(OperatorField.builtin_options)),
    customOptions: t.bytes(OperatorField.custom_options),
  };
}

function readBuiltinOptions(type: number, o: Table | null): TfliteBuiltinOptions {
  if (type === BuiltinOptionsType.NONE || o === null) return { kind: 'none' };
  switch (type) {
    case BuiltinOptionsType.Conv2DOptions:
      return {
        kind: 'conv2d',
        padding: o.int8(Conv2DOptionsField.padding),
        strideW: o.int32(Conv2DOptionsField.stride_w),
        strideH: o.int32(Conv2DOptionsField.stride_h),
        activation: o.int8(Conv2DOptionsField.fused_activation_function),
        dilationW: o.int32(Conv2DOptionsField.dilation_w_factor, 1),
        dilationH: o.int32(Conv2DOptionsField.dilation_h_factor, 1),
      };
    case BuiltinOptionsType.DepthwiseConv2DOptions:
      return {
        kind: 'depthwiseConv2d',
        padding: o.int8(DepthwiseConv2DOptionsField.padding),
        strideW: o.int32(DepthwiseConv2DOptionsField.stride_w),
        strideH: o.int32(DepthwiseConv2DOptionsField.stride_h),
        depthMultiplier: o.int32(DepthwiseConv2DOptionsField.depth_multiplier),
        activation: o.int8(DepthwiseConv2DOptionsField.fused_activation_function),
        dilationW: o.int32(DepthwiseConv2DOptionsField.dilation_w_factor, 1),
        dilationH: o.int32(DepthwiseConv2DOptionsField.dilation_h_factor, 1),
      };
    case BuiltinOptionsType.Pool2DOptions:
      return {
        kind: 'pool2d',
        padding: o.int8(Pool2DOptionsField.padding),
        strideW: o.int32(Pool2DOptionsField.stride_w),
        strideH: o.int32(Pool2DOptionsField.stride_h),
        filterW: o.int32(Pool2DOptionsField.filter_width),
        filterH: o.int32(Pool2DOptionsField.filter_height),
        activation: o.int8(Pool2DOptionsField.fused_activation_function),
      };
    case BuiltinOptionsType.AddOptions:
      return { kind: 'add', activation: o.int8(ActivationOnlyOptionsField.fused_activation_function) };
    case BuiltinOptionsType.MulOptions:
      return { kind: 'mul', activation: o.int8(ActivationOnlyOptionsField.fused_activation_function) };
    case BuiltinOptionsType.ResizeBilinearOptions:
      return {
        kind: 'resizeBilinear',
        alignCorners: o.bool(ResizeBilinearOptionsField.align_corners),
        halfPixelCenters: o.bool(ResizeBilinearOptionsField.half_pixel_centers),
      };
    case BuiltinOptionsType.ReducerOptions:
      return { kind: 'reducer', keepDims: o.bool(ReducerOptionsField.keep_dims) };
    case BuiltinOptionsType.DequantizeOptions:
      return { kind: 'dequantize' };
    case BuiltinOptionsType.HardSwishOptions:
      return { kind: 'hardSwish' };
    case BuiltinOptionsType.TransposeConvOptions:
      return {
        kind: 'transposeConv',
        padding: o.int8(TransposeConvOptionsField.padding),
        strideW: o.int32(TransposeConvOptionsField.stride_w),
        strideH: o.int32(TransposeConvOptionsField.stride_h),
        activation: o.int8(TransposeConvOptionsField.fused_activation_function),
      };
    default:
      return { kind: 'other', unionType: type };
  }
}

/** The operator code of `op`, with a readable name ("CONV_2D", or the custom code for CUSTOM ops). */
export function operatorCodeOf(model: TfliteModel, op: TfliteOperator): TfliteOperatorCode {
  const code = model.operatorCodes[op.opcodeIndex];
  if (!code) throw new TfliteFormatError(`operator refers to opcode index ${op.opcodeIndex}, which does not exist`);
  return code;
}

export const isCustom = (code: TfliteOperatorCode): boolean => code.builtinCode === BuiltinOperator.CUSTOM;
