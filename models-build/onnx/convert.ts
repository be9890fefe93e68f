import type { TfliteModel, TfliteOperator, TfliteSubgraph, TfliteTensor } from '../tflite/model.js';
import { operatorCodeOf, readTflite } from '../tflite/reader.js';
import { Activation, BuiltinOperator, builtinName, Padding, TensorType, tensorTypeName } from '../tflite/schema.js';
import { constantFloat32, constantInt32 } from '../tflite/tensorData.js';
import { parseTransposeConvBiasOptions, TRANSPOSE_CONV_BIAS, transposeConvBiasAxis } from '../tflite/transposeConvBias.js';
import { encodeOnnxModel, int, ints, str, type OnnxAttribute, type OnnxInitializer, type OnnxModel, type OnnxNode } from './graph.js';
import { elementwiseConstantToNchw, PERM, permuteShape, transpose4 } from './layout.js';
import { onnxPads, tflitePadding } from './padding.js';

/**
 * TFLite → ONNX for exactly the op set of MediaPipe's selfie segmentation models (see SUPPORTED_OPS). The graph
 * is moved to NCHW as a whole: activations are NCHW everywhere, filters and constants are reordered here, so the
 * result contains no Transpose nodes. Anything outside the op set is refused by name — silently approximating an
 * op would produce a model that loads and returns plausible garbage.
 */

export const SUPPORTED_OPS = [
  'CONV_2D',
  'DEPTHWISE_CONV_2D',
  'HARD_SWISH',
  'RELU',
  'AVERAGE_POOL_2D',
  'MEAN',
  'LOGISTIC',
  'MUL',
  'ADD',
  'RESIZE_BILINEAR',
  'DEQUANTIZE',
  TRANSPOSE_CONV_BIAS,
] as const;

export class UnsupportedTfliteOpError extends Error {
  constructor(
    readonly op: string,
    readonly operatorIndex: number,
    detail?: string,
  ) {
    super(
      `TFLite→ONNX: unsupported op ${op} (operator #${operatorIndex})${detail ? `: ${detail}` : ''}. ` +
        `This converter handles only ${SUPPORTED_OPS.join(', ')}.`,
    );
    this.name = 'UnsupportedTfliteOpError';
  }
}

export interface ConvertOptions {
  /** ONNX name of the graph input (default "input"). */
  inputName?: string;
  /** ONNX name of the graph output (default "output"). */
  outputName?: string;
  graphName?: string;
  docString?: string;
  /** Extra metadata_props (source file, licence...). */
  metadata?: Record<string, string>;
}

/** ONNX opset 17 (IR 8): HardSwish needs ≥14, and 17 still takes ReduceMean axes as an attribute. */
export const OPSET_VERSION = 17;
export const IR_VERSION = 8;

export function convertTfliteToOnnx(model: TfliteModel, options: ConvertOptions = {}): OnnxModel {
  const graph = model.subgraphs[0];
  if (!graph || model.subgraphs.length !== 1) throw new Error('TFLite→ONNX: expected exactly one subgraph');
  const c = new Converter(model, graph, options.inputName ?? 'input', options.outputName ?? 'output');
  return c.run(options);
}

type Ix = number;

class Converter {
  private readonly consts = new Map<Ix, Float32Array>();
  private readonly names = new Map<Ix, string>();
  private readonly used = new Set<string>();
  private readonly nodes: OnnxNode[] = [];
  private readonly initializers: OnnxInitializer[] = [];
  private readonly inputIx: Ix;
  private readonly outputIx: Ix;

  constructor(
    private readonly model: TfliteModel,
    private readonly graph: TfliteSubgraph,
    private readonly inputName: string,
    private readonly outputName: string,
  ) {
    if (graph.inputs.length !== 1 || graph.outputs.length !== 1) {
      throw new Error(`TFLite→ONNX: expected one input and one output, got ${graph.inputs.length} / ${graph.outputs.length}`);
    }
    this.inputIx = graph.inputs[0]!;
    this.outputIx = graph.outputs[0]!;
    const input = this.tensor(this.inputIx);
    if (input.type !== TensorType.FLOAT32 || input.shape.length !== 4) {
      throw new Error(`TFLite→ONNX: input "${input.name}" must be float32 NHWC, got ${tensorTypeName(input.type)} [${input.shape}]`);
    }
    this.used.add(outputName);
    this.names.set(this.inputIx, this.unique(inputName));
  }

  run(options: ConvertOptions): OnnxModel {
    this.graph.operators.forEach((op, i) => this.convertOp(op, i));
    if (!this.names.has(this.outputIx)) throw new Error('TFLite→ONNX: the graph output is never produced');
    const output = this.tensor(this.outputIx);
    return {
      irVersion: IR_VERSION,
      opsetVersion: OPSET_VERSION,
      producerName: 'bubblecast-tflite2onnx',
      producerVersion: '1',
      docString: options.docString ?? '',
      metadata: options.metadata ?? {},
      graph: {
        name: options.graphName ?? (this.graph.name || 'main'),
        nodes: this.nodes,
        initializers: this.initializers,
        inputs: [{ name: this.inputName, shape: permuteShape(this.tensor(this.inputIx).shape, PERM.NHWC_TO_NCHW) }],
        outputs: [{ name: this.outputName, shape: permuteShape(output.shape, PERM.NHWC_TO_NCHW) }],
      },
    };
  }

  // ---- op dispatch -------------------------------------------------------------------------------------------

  private convertOp(op: TfliteOperator, i: number): void {
    const code = operatorCodeOf(this.model, op);
    if (code.builtinCode === BuiltinOperator.CUSTOM) {
      if (code.customCode === TRANSPOSE_CONV_BIAS) return this.transposeConvBias(op);
      throw new UnsupportedTfliteOpError(`CUSTOM "${code.customCode ?? '?'}"`, i);
    }
    const name = builtinName(code.builtinCode);
    const fail = (detail: string): never => {
      throw new UnsupportedTfliteOpError(name, i, detail);
    };
    switch (code.builtinCode) {
      case BuiltinOperator.DEQUANTIZE:
        return this.dequantize(op, fail);
      case BuiltinOperator.CONV_2D:
        return this.conv2d(op, fail);
      case BuiltinOperator.DEPTHWISE_CONV_2D:
        return this.depthwiseConv2d(op, fail);
      case BuiltinOperator.AVERAGE_POOL_2D:
        return this.averagePool(op, fail);
      case BuiltinOperator.MEAN:
        return this.mean(op, fail);
      case BuiltinOperator.ADD:
      case BuiltinOperator.MUL:
        return this.elementwise(op, code.builtinCode === BuiltinOperator.ADD ? 'Add' : 'Mul', fail);
      case BuiltinOperator.HARD_SWISH:
        return this.unary(op, 'HardSwish', fail);
      case BuiltinOperator.RELU:
        return this.unary(op, 'Relu', fail);
      case BuiltinOperator.LOGISTIC:
        return this.unary(op, 'Sigmoid', fail);
      case BuiltinOperator.RESIZE_BILINEAR:
        return this.resizeBilinear(op, fail);
      default:
        throw new UnsupportedTfliteOpError(name, i);
    }
  }

  // ---- ops ---------------------------------------------------------------------------------------------------

  /** float16 weights → float32 initializers, folded at conversion time (no Cast nodes at run time). */
  private dequantize(op: TfliteOperator, fail: (d: string) => never): void {
    const src = this.tensor(op.inputs[0]!);
    if (src.type !== TensorType.FLOAT16) fail(`only float16 constants are supported, got ${tensorTypeName(src.type)}`);
    const data = constantFloat32(this.model, src);
    if (!data) fail(`input "${src.name}" is not a constant`);
    this.consts.set(op.outputs[0]!, data!);
  }

  private conv2d(op: TfliteOperator, fail: (d: string) => never): void {
    const o = op.options;
    if (o.kind !== 'conv2d') return fail('missing Conv2DOptions');
    const [x, wIx, bIx] = op.inputs as [Ix, Ix, Ix | undefined];
    const [, inH, inW, inC] = this.nhwc(x);
    const w = this.tensor(wIx);
    const [outC, kH, kW, wInC] = w.shape as [number, number, number, number];
    if (wInC !== inC) fail(`grouped convolution (input ${inC} channels, filter ${wInC}) is not supported`);
    const weights = this.requireConst(wIx, fail);
    const pad = tflitePaddingName(o.padding);
    const h = tflitePadding(pad, inH, kH, o.strideH, o.dilationH);
    const wAx = tflitePadding(pad, inW, kW, o.strideW, o.dilationW);
    this.expectSpatial(op.outputs[0]!, h.outSize, wAx.outSize, fail);
    const inputs = [this.value(x), this.init(w.name, [outC, wInC, kH, kW], transpose4(weights, w.shape, PERM.OHWI_TO_OIHW))];
    if (bIx !== undefined && bIx >= 0) inputs.push(this.biasInit(bIx, outC, fail));
    this.emit('Conv', inputs, op.outputs[0]!, o.activation, fail, {
      kernel_shape: ints([kH, kW]),
      strides: ints([o.strideH, o.strideW]),
      dilations: ints([o.dilationH, o.dilationW]),
      pads: ints(onnxPads(h, wAx)),
      group: int(1),
    });
  }

  private depthwiseConv2d(op: TfliteOperator, fail: (d: string) => never): void {
    const o = op.options;
    if (o.kind !== 'depthwiseConv2d') return fail('missing DepthwiseConv2DOptions');
    const [x, wIx, bIx] = op.inputs as [Ix, Ix, Ix | undefined];
    const [, inH, inW, inC] = this.nhwc(x);
    const w = this.tensor(wIx);
    const [one, kH, kW, outC] = w.shape as [number, number, number, number];
    // depth_multiplier is "redundant" per schema.fbs; the filter's channel count is authoritative.
    if (one !== 1 || outC % inC !== 0) fail(`unexpected depthwise filter [${w.shape}] for ${inC} input channels`);
    const weights = this.requireConst(wIx, fail);
    const pad = tflitePaddingName(o.padding);
    const h = tflitePadding(pad, inH, kH, o.strideH, o.dilationH);
    const wAx = tflitePadding(pad, inW, kW, o.strideW, o.dilationW);
    this.expectSpatial(op.outputs[0]!, h.outSize, wAx.outSize, fail);
    const inputs = [this.value(x), this.init(w.name, [outC, 1, kH, kW], transpose4(weights, w.shape, PERM.DEPTHWISE_TO_ONNX))];
    if (bIx !== undefined && bIx >= 0) inputs.push(this.biasInit(bIx, outC, fail));
    this.emit('Conv', inputs, op.outputs[0]!, o.activation, fail, {
      kernel_shape: ints([kH, kW]),
      strides: ints([o.strideH, o.strideW]),
      dilations: ints([o.dilationH, o.dilationW]),
      pads: ints(onnxPads(h, wAx)),
      group: int(inC),
    });
  }

  private averagePool(op: TfliteOperator, fail: (d: string) => never): void {
    const o = op.options;
    if (o.kind !== 'pool2d') return fail('missing Pool2DOptions');
    const x = op.inputs[0]!;
    const [, inH, inW] = this.nhwc(x);
    const pad = tflitePaddingName(o.padding);
    const h = tflitePadding(pad, inH, o.filterH, o.strideH);
    const w = tflitePadding(pad, inW, o.filterW, o.strideW);
    this.expectSpatial(op.outputs[0]!, h.outSize, w.outSize, fail);
    // The selfie model's squeeze-excitation pools span the whole map: that is a global mean (and faster as one).
    const global = o.filterH === inH && o.filterW === inW && h.outSize === 1 && w.outSize === 1 && h.padBegin + h.padEnd + w.padBegin + w.padEnd === 0;
    if (global) return this.emit('GlobalAveragePool', [this.value(x)], op.outputs[0]!, o.activation, fail);
    // TFLite averages over the valid (unpadded) cells only, which is ONNX's count_include_pad = 0.
    this.emit('AveragePool', [this.value(x)], op.outputs[0]!, o.activation, fail, {
      kernel_shape: ints([o.filterH, o.filterW]),
      strides: ints([o.strideH, o.strideW]),
      pads: ints(onnxPads(h, w)),
      count_include_pad: int(0),
    });
  }

  /** The landscape model's global pools: MEAN over axes [1, 2] (H, W) with keep_dims. */
  private mean(op: TfliteOperator, fail: (d: string) => never): void {
    const o = op.options;
    if (o.kind !== 'reducer') return fail('missing ReducerOptions');
    if (!o.keepDims) fail('keep_dims = false would leave a rank-2 tensor, which this NCHW-only converter does not track');
    const [x, axesIx] = op.inputs as [Ix, Ix];
    this.nhwc(x);
    const axes = constantInt32(this.model, this.tensor(axesIx));
    if (!axes) return fail('axes must be a constant');
    const nhwcToNchwAxis = [0, 2, 3, 1];
    const onnxAxes = [...new Set(axes.map((a) => nhwcToNchwAxis[(a + 4) % 4]!))].sort();
    if (onnxAxes.join() === '2,3') return this.emit('GlobalAveragePool', [this.value(x)], op.outputs[0]!, Activation.NONE, fail);
    this.emit('ReduceMean', [this.value(x)], op.outputs[0]!, Activation.NONE, fail, { axes: ints(onnxAxes), keepdims: int(1) });
  }

  private elementwise(op: TfliteOperator, opType: 'Add' | 'Mul', fail: (d: string) => never): void {
    const o = op.options;
    const activation = o.kind === 'add' || o.kind === 'mul' ? o.activation : Activation.NONE;
    const inputs = op.inputs.map((ix) => {
      const k = this.constant(ix);
      if (!k) {
        this.nhwc(ix);
        return this.value(ix);
      }
      const t = this.tensor(ix);
      const { data, dims } = elementwiseConstantToNchw(k, t.shape);
      return this.init(t.name, dims, data);
    });
    this.emit(opType, inputs, op.outputs[0]!, activation, fail);
  }

  /** HARD_SWISH, RELU, LOGISTIC: same maths in ONNX (HardSwish is x·relu6(x + 3)/6 in both). */
  private unary(op: TfliteOperator, opType: string, fail: (d: string) => never): void {
    this.nhwc(op.inputs[0]!);
    this.emit(opType, [this.value(op.inputs[0]!)], op.outputs[0]!, Activation.NONE, fail);
  }

  private resizeBilinear(op: TfliteOperator, fail: (d: string) => never): void {
    const o = op.options;
    if (o.kind !== 'resizeBilinear') return fail('missing ResizeBilinearOptions');
    const [x, sizeIx] = op.inputs as [Ix, Ix];
    const [n, , , ch] = this.nhwc(x);
    const size = constantInt32(this.model, this.tensor(sizeIx));
    if (!size || size.length !== 2) return fail('size must be a constant [height, width]');
    this.expectSpatial(op.outputs[0]!, size[0]!, size[1]!, fail);
    // TFLite's half_pixel_centers maps to ONNX half_pixel (both sample at (i + 0.5)·scale − 0.5 and clamp to the
    // edge); align_corners to align_corners; neither to asymmetric (i·scale).
    const mode = o.halfPixelCenters ? 'half_pixel' : o.alignCorners ? 'align_corners' : 'asymmetric';
    const sizes = this.initInt64(`${this.tensor(sizeIx).name}_nchw`, [n, ch, size[0]!, size[1]!]);
    this.emit('Resize', [this.value(x), '', '', sizes], op.outputs[0]!, Activation.NONE, fail, {
      mode: str('linear'),
      coordinate_transformation_mode: str(mode),
    });
  }

  /** MediaPipe's transposed conv with bias → ConvTranspose with MediaPipe's own padding arithmetic. */
  private transposeConvBias(op: TfliteOperator): void {
    const fail = (d: string): never => {
      throw new UnsupportedTfliteOpError(TRANSPOSE_CONV_BIAS, this.graph.operators.indexOf(op), d);
    };
    const p = parseTransposeConvBiasOptions(op.customOptions);
    const [x, wIx, bIx] = op.inputs as [Ix, Ix, Ix];
    const [, inH, inW, inC] = this.nhwc(x);
    const w = this.tensor(wIx);
    // Weights are OHWI (checked by the kernel against input channels on axis 3 and bias length on axis 0).
    const [outC, kH, kW, wInC] = w.shape as [number, number, number, number];
    if (wInC !== inC) fail(`filter [${w.shape}] does not match ${inC} input channels`);
    const weights = this.requireConst(wIx, fail);
    const h = transposeConvBiasAxis(p.padding, inH, kH, p.strideH);
    const wAx = transposeConvBiasAxis(p.padding, inW, kW, p.strideW);
    this.expectSpatial(op.outputs[0]!, h.outSize, wAx.outSize, fail);
    const inputs = [
      this.value(x),
      this.init(w.name, [inC, outC, kH, kW], transpose4(weights, w.shape, PERM.OHWI_TO_IOHW)),
      this.biasInit(bIx, outC, fail),
    ];
    this.emit('ConvTranspose', inputs, op.outputs[0]!, Activation.NONE, fail, {
      kernel_shape: ints([kH, kW]),
      strides: ints([p.strideH, p.strideW]),
      pads: ints([h.padBegin, wAx.padBegin, h.padEnd, wAx.padEnd]),
      group: int(1),
    });
  }

  // ---- helpers -----------------------------------------------------------------------------------------------

  private tensor(ix: Ix): TfliteTensor {
    const t = this.graph.tensors[ix];
    if (!t) throw new Error(`TFLite→ONNX: tensor index ${ix} out of range`);
    return t;
  }

  /** Shape of a run-time activation, which must be rank 4 (NHWC in TFLite, NCHW in ONNX). */
  private nhwc(ix: Ix): [number, number, number, number] {
    const t = this.tensor(ix);
    if (t.shape.length !== 4) throw new Error(`TFLite→ONNX: activation "${t.name}" has rank ${t.shape.length}; only rank-4 tensors are supported`);
    return t.shape as [number, number, number, number];
  }

  private expectSpatial(outIx: Ix, h: number, w: number, fail: (d: string) => never): void {
    const [, oh, ow] = this.nhwc(outIx);
    if (oh !== h || ow !== w) fail(`computed output ${h}×${w} but the model declares ${oh}×${ow}`);
  }

  private constant(ix: Ix): Float32Array | null {
    const folded = this.consts.get(ix);
    if (folded) return folded;
    const t = this.tensor(ix);
    if (t.type !== TensorType.FLOAT32 && t.type !== TensorType.FLOAT16) return null;
    const data = constantFloat32(this.model, t);
    if (data) this.consts.set(ix, data);
    return data;
  }

  private requireConst(ix: Ix, fail: (d: string) => never): Float32Array {
    return this.constant(ix) ?? fail(`"${this.tensor(ix).name}" must be a constant`);
  }

  private biasInit(ix: Ix, outC: number, fail: (d: string) => never): string {
    const b = this.requireConst(ix, fail);
    if (b.length !== outC) fail(`bias "${this.tensor(ix).name}" has ${b.length} values for ${outC} channels`);
    return this.init(this.tensor(ix).name, [outC], b);
  }

  /** The ONNX name of a run-time tensor that an earlier node (or the graph input) produced. */
  private value(ix: Ix): string {
    const name = this.names.get(ix);
    if (name === undefined) throw new Error(`TFLite→ONNX: tensor "${this.tensor(ix).name}" is read before it is produced`);
    return name;
  }

  private unique(base: string): string {
    let name = base || 'tensor';
    for (let k = 1; this.used.has(name); k++) name = `${base}_${k}`;
    this.used.add(name);
    return name;
  }

  private init(base: string, dims: number[], data: Float32Array): string {
    const name = this.unique(base);
    this.initializers.push({ name, dims, data });
    return name;
  }

  private initInt64(base: string, values: number[]): string {
    const name = this.unique(base);
    this.initializers.push({ name, dims: [values.length], data: BigInt64Array.from(values.map(BigInt)) });
    return name;
  }

  /**
   * Adds `opType` writing TFLite tensor `outIx`, followed by the op's fused activation if it has one. The graph
   * output gets the requested output name; every other value keeps its TFLite tensor name (handy in Netron).
   */
  private emit(
    opType: string,
    inputs: string[],
    outIx: Ix,
    activation: number,
    fail: (d: string) => never,
    attributes: Record<string, OnnxAttribute> = {},
  ): void {
    const t = this.tensor(outIx);
    if (this.names.has(outIx)) throw new Error(`TFLite→ONNX: tensor "${t.name}" is produced twice`);
    const finalName = outIx === this.outputIx ? this.outputName : this.unique(t.name);
    if (activation === Activation.NONE) {
      this.nodes.push({ opType, name: finalName, inputs, outputs: [finalName], attributes });
    } else {
      const pre = this.unique(`${t.name}_preact`);
      this.nodes.push({ opType, name: pre, inputs, outputs: [pre], attributes });
      this.nodes.push(this.activationNode(activation, pre, finalName, fail));
    }
    this.names.set(outIx, finalName);
  }

  private activationNode(activation: number, input: string, output: string, fail: (d: string) => never): OnnxNode {
    const node = (opType: string, inputs: string[]): OnnxNode => ({ opType, name: output, inputs, outputs: [output], attributes: {} });
    switch (activation) {
      case Activation.RELU:
        return node('Relu', [input]);
      case Activation.RELU6:
        return node('Clip', [input, this.init('clip_0', [], Float32Array.of(0)), this.init('clip_6', [], Float32Array.of(6))]);
      case Activation.RELU_N1_TO_1:
        return node('Clip', [input, this.init('clip_m1', [], Float32Array.of(-1)), this.init('clip_1', [], Float32Array.of(1))]);
      case Activation.TANH:
        return node('Tanh', [input]);
      default:
        return fail(`fused activation ${activation} is not supported`);
    }
  }
}

function tflitePaddingName(p: number): 'SAME' | 'VALID' {
  if (p === Padding.SAME) return 'SAME';
  if (p === Padding.VALID) return 'VALID';
  throw new Error(`TFLite→ONNX: unknown padding ${p}`);
}

/** Bytes in, bytes out: reads a .tflite, converts it and encodes the ONNX ModelProto. */
export function tfliteToOnnxBytes(tflite: Uint8Array, options: ConvertOptions = {}): Uint8Array {
  return encodeOnnxModel(convertTfliteToOnnx(readTflite(tflite), options));
}
