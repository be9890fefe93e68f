import { Builder } from 'flatbuffers';
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
  ReducerOptionsField,
  ResizeBilinearOptionsField,
  SubGraphField,
  TensorField,
  TFLITE_FILE_IDENTIFIER,
  TransposeConvOptionsField,
} from './schema.js';

/**
 * Serialises a `TfliteModel` back to a .tflite flatbuffer. Used by the equivalence test to hand an edited copy of
 * a model to an independent TFLite runtime; it writes exactly the fields `readTflite` reads.
 *
 * FlatBuffers are built back to front: every string, vector and child table must exist before the table that
 * points at it is started, hence the "children first" order in each function below. `Builder.addField*` takes the
 * field id (the builder turns it into a vtable slot).
 */
export function writeTflite(model: TfliteModel): Uint8Array {
  const b = new Builder(1024 * 1024);

  const buffers = model.buffers.map((data) => {
    // Buffer.data is declared force_align: 16 so that runtimes can map weights in place.
    const dataOffset = data.length > 0 ? alignedBytes(b, data, 16) : 0;
    b.startObject(3);
    if (dataOffset) b.addFieldOffset(BufferField.data, dataOffset, 0);
    return b.endObject();
  });
  const operatorCodes = model.operatorCodes.map((c) => writeOperatorCode(b, c));
  const subgraphs = model.subgraphs.map((g) => writeSubgraph(b, g));
  const metadata = model.metadata.map((m) => {
    const name = b.createString(m.name);
    b.startObject(2);
    b.addFieldOffset(MetadataField.name, name, 0);
    b.addFieldInt32(MetadataField.buffer, m.buffer, 0);
    return b.endObject();
  });
  const description = b.createString(model.description);
  const buffersVec = offsetVector(b, buffers);
  const codesVec = offsetVector(b, operatorCodes);
  const subgraphsVec = offsetVector(b, subgraphs);
  const metadataVec = metadata.length ? offsetVector(b, metadata) : 0;

  b.startObject(7);
  b.addFieldInt32(ModelField.version, model.version, 0);
  b.addFieldOffset(ModelField.operator_codes, codesVec, 0);
  b.addFieldOffset(ModelField.subgraphs, subgraphsVec, 0);
  b.addFieldOffset(ModelField.description, description, 0);
  b.addFieldOffset(ModelField.buffers, buffersVec, 0);
  if (metadataVec) b.addFieldOffset(ModelField.metadata, metadataVec, 0);
  const root = b.endObject();
  b.finish(root, TFLITE_FILE_IDENTIFIER);
  return b.asUint8Array();
}

function alignedBytes(b: Builder, data: Uint8Array, alignment: number): number {
  b.startVector(1, data.length, alignment);
  // startVector reserved and aligned the space; writeInt8 fills it back to front without re-aligning.
  for (let i = data.length - 1; i >= 0; i--) b.writeInt8(data[i]!);
  return b.endVector();
}

function int32Vector(b: Builder, values: readonly number[]): number {
  b.startVector(4, values.length, 4);
  for (let i = values.length - 1; i >= 0; i--) b.addInt32(values[i]!);
  return b.endVector();
}

function offsetVector(b: Builder, offsets: readonly number[]): number {
  b.startVector(4, offsets.length, 4);
  for (let i = offsets.length - 1; i >= 0; i--) b.addOffset(offsets[i]!);
  return b.endVector();
}

function writeOperatorCode(b: Builder, c: TfliteOperatorCode): number {
  const custom = c.customCode !== null ? b.createString(c.customCode) : 0;
  b.startObject(4);
  // Old readers only see the byte field, which saturates at PLACEHOLDER_FOR_GREATER_OP_CODES.
  b.addFieldInt8(OperatorCodeField.deprecated_builtin_code, Math.min(c.builtinCode, BuiltinOperator.PLACEHOLDER_FOR_GREATER_OP_CODES), 0);
  if (custom) b.addFieldOffset(OperatorCodeField.custom_code, custom, 0);
  b.addFieldInt32(OperatorCodeField.version, c.version, 1);
  b.addFieldInt32(OperatorCodeField.builtin_code, c.builtinCode, 0);
  return b.endObject();
}

function writeSubgraph(b: Builder, g: TfliteSubgraph): number {
  const tensors = g.tensors.map((t) => writeTensor(b, t));
  const operators = g.operators.map((op) => writeOperator(b, op));
  const tensorsVec = offsetVector(b, tensors);
  const inputs = int32Vector(b, g.inputs);
  const outputs = int32Vector(b, g.outputs);
  const operatorsVec = offsetVector(b, operators);
  const name = b.createString(g.name);
  b.startObject(5);
  b.addFieldOffset(SubGraphField.tensors, tensorsVec, 0);
  b.addFieldOffset(SubGraphField.inputs, inputs, 0);
  b.addFieldOffset(SubGraphField.outputs, outputs, 0);
  b.addFieldOffset(SubGraphField.operators, operatorsVec, 0);
  b.addFieldOffset(SubGraphField.name, name, 0);
  return b.endObject();
}

function writeTensor(b: Builder, t: TfliteTensor): number {
  const shape = int32Vector(b, t.shape);
  const name = b.createString(t.name);
  b.startObject(6);
  b.addFieldOffset(TensorField.shape, shape, 0);
  b.addFieldInt8(TensorField.type, t.type, 0);
  b.addFieldInt32(TensorField.buffer, t.buffer, 0);
  b.addFieldOffset(TensorField.name, name, 0);
  return b.endObject();
}

function writeOperator(b: Builder, op: TfliteOperator): number {
  const inputs = int32Vector(b, op.inputs);
  const outputs = int32Vector(b, op.outputs);
  const options = writeBuiltinOptions(b, op.options);
  const custom = op.customOptions ? alignedBytes(b, op.customOptions, 1) : 0;
  b.startObject(7);
  b.addFieldInt32(OperatorField.opcode_index, op.opcodeIndex, 0);
  b.addFieldOffset(OperatorField.inputs, inputs, 0);
  b.addFieldOffset(OperatorField.outputs, outputs, 0);
  if (options) {
    b.addFieldInt8(OperatorField.builtin_options_type, options.type, 0);
    b.addFieldOffset(OperatorField.builtin_options, options.offset, 0);
  }
  if (custom) b.addFieldOffset(OperatorField.custom_options, custom, 0);
  return b.endObject();
}

function writeBuiltinOptions(b: Builder, o: TfliteBuiltinOptions): { type: number; offset: number } | null {
  // Defaults are passed as the schema's defaults so that the builder omits them, like TFLite's converter does.
  switch (o.kind) {
    case 'none':
      return null;
    case 'conv2d':
      b.startObject(6);
      b.addFieldInt8(Conv2DOptionsField.padding, o.padding, 0);
      b.addFieldInt32(Conv2DOptionsField.stride_w, o.strideW, 0);
      b.addFieldInt32(Conv2DOptionsField.stride_h, o.strideH, 0);
      b.addFieldInt8(Conv2DOptionsField.fused_activation_function, o.activation, 0);
      b.addFieldInt32(Conv2DOptionsField.dilation_w_factor, o.dilationW, 1);
      b.addFieldInt32(Conv2DOptionsField.dilation_h_factor, o.dilationH, 1);
      return { type: BuiltinOptionsType.Conv2DOptions, offset: b.endObject() };
    case 'depthwiseConv2d':
      b.startObject(7);
      b.addFieldInt8(DepthwiseConv2DOptionsField.padding, o.padding, 0);
      b.addFieldInt32(DepthwiseConv2DOptionsField.stride_w, o.strideW, 0);
      b.addFieldInt32(DepthwiseConv2DOptionsField.stride_h, o.strideH, 0);
      b.addFieldInt32(DepthwiseConv2DOptionsField.depth_multiplier, o.depthMultiplier, 0);
      b.addFieldInt8(DepthwiseConv2DOptionsField.fused_activation_function, o.activation, 0);
      b.addFieldInt32(DepthwiseConv2DOptionsField.dilation_w_factor, o.dilationW, 1);
      b.addFieldInt32(DepthwiseConv2DOptionsField.dilation_h_factor, o.dilationH, 1);
      return { type: BuiltinOptionsType.DepthwiseConv2DOptions, offset: b.endObject() };
    case 'pool2d':
      b.startObject(6);
      b.addFieldInt8(Pool2DOptionsField.padding, o.padding, 0);
      b.addFieldInt32(Pool2DOptionsField.stride_w, o.strideW, 0);
      b.addFieldInt32(Pool2DOptionsField.stride_h, o.strideH, 0);
      b.addFieldInt32(Pool2DOptionsField.filter_width, o.filterW, 0);
      b.addFieldInt32(Pool2DOptionsField.filter_height, o.filterH, 0);
      b.addFieldInt8(Pool2DOptionsField.fused_activation_function, o.activation, 0);
      return { type: BuiltinOptionsType.Pool2DOptions, offset: b.endObject() };
    case 'add':
    case 'mul':
      b.startObject(1);
      b.addFieldInt8(ActivationOnlyOptionsField.fused_activation_function, o.activation, 0);
      return { type: o.kind === 'add' ? BuiltinOptionsType.AddOptions : BuiltinOptionsType.MulOptions, offset: b.endObject() };
    case 'resizeBilinear':
      b.startObject(4);
      b.addFieldInt8(ResizeBilinearOptionsField.align_corners, o.alignCorners ? 1 : 0, 0);
      b.addFieldInt8(ResizeBilinearOptionsField.half_pixel_centers, o.halfPixelCenters ? 1 : 0, 0);
      return { type: BuiltinOptionsType.ResizeBilinearOptions, offset: b.endObject() };
    case 'reducer':
      b.startObject(1);
      b.addFieldInt8(ReducerOptionsField.keep_dims, o.keepDims ? 1 : 0, 0);
      return { type: BuiltinOptionsType.ReducerOptions, offset: b.endObject() };
    case 'dequantize':
      b.startObject(0);
      return { type: BuiltinOptionsType.DequantizeOptions, offset: b.endObject() };
    case 'hardSwish':
      b.startObject(0);
      return { type: BuiltinOptionsType.HardSwishOptions, offset: b.endObject() };
    case 'transposeConv':
      b.startObject(4);
      b.addFieldInt8(TransposeConvOptionsField.padding, o.padding, 0);
      b.addFieldInt32(TransposeConvOptionsField.stride_w, o.strideW, 0);
      b.addFieldInt32(TransposeConvOptionsField.stride_h, o.strideH, 0);
      b.addFieldInt8(TransposeConvOptionsField.fused_activation_function, o.activation, 0);
      return { type: BuiltinOptionsType.TransposeConvOptions, offset: b.endObject() };
    case 'other':
      throw new Error(`writeTflite: cannot serialise builtin options of union type ${o.unionType}`);
  }
}
