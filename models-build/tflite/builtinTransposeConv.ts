import type { TfliteModel, TfliteOperator } from './model.js';
import { operatorCodeOf } from './reader.js';
import { BuiltinOperator, Padding, TensorType } from './schema.js';
import { parseTransposeConvBiasOptions, TRANSPOSE_CONV_BIAS, transposeConvBiasAxis } from './transposeConvBias.js';

/**
 * Returns a copy of `model` in which every MediaPipe `Convolution2DTransposeBias` custom op is replaced by
 * TFLite's builtin TRANSPOSE_CONV (version 3, the first with an optional bias input), so that a stock TFLite
 * runtime — which cannot resolve the custom op — runs the whole graph. Used only as the reference side of the
 * converter's equivalence test.
 *
 * TRANSPOSE_CONV inputs are [output_shape (const int32 [4]), weights OHWI, input, bias]; the custom op's are
 * [input, weights OHWI, bias]. Both kernels split a SAME padding total with the smaller half first, so passing
 * the custom op's declared output shape reproduces its arithmetic exactly (checked below).
 */
export function withBuiltinTransposeConv(model: TfliteModel): TfliteModel {
  const graph = model.subgraphs[0];
  if (!graph) throw new Error('model has no subgraph');
  const tensors = [...graph.tensors];
  const buffers = [...model.buffers];
  const operatorCodes = [...model.operatorCodes];
  let transposeCodeIndex = -1;

  const operators = graph.operators.map((op): TfliteOperator => {
    const code = operatorCodeOf(model, op);
    if (code.customCode !== TRANSPOSE_CONV_BIAS) return op;
    const params = parseTransposeConvBiasOptions(op.customOptions);
    const [inputIx, weightsIx, biasIx] = op.inputs as [number, number, number];
    const input = tensors[inputIx]!;
    const weights = tensors[weightsIx]!;
    const output = tensors[op.outputs[0]!]!;
    const h = transposeConvBiasAxis(params.padding, input.shape[1]!, weights.shape[1]!, params.strideH);
    const w = transposeConvBiasAxis(params.padding, input.shape[2]!, weights.shape[2]!, params.strideW);
    if (output.shape[1] !== h.outSize || output.shape[2] !== w.outSize) {
      throw new Error(`${TRANSPOSE_CONV_BIAS} declares output [${output.shape}] but its kernel computes ${h.outSize}×${w.outSize}`);
    }

    if (transposeCodeIndex < 0) {
      transposeCodeIndex = operatorCodes.length;
      operatorCodes.push({ builtinCode: BuiltinOperator.TRANSPOSE_CONV, customCode: null, version: 3 });
    }
    const shapeBytes = new Uint8Array(16);
    const dv = new DataView(shapeBytes.buffer);
    output.shape.forEach((d, i) => dv.setInt32(4 * i, d, true));
    buffers.push(shapeBytes);
    tensors.push({ name: `${output.name}/output_shape`, shape: [4], type: TensorType.INT32, buffer: buffers.length - 1 });

    return {
      opcodeIndex: transposeCodeIndex,
      inputs: [tensors.length - 1, weightsIx, inputIx, biasIx],
      outputs: op.outputs,
      options: {
        kind: 'transposeConv',
        padding: params.padding === 'SAME' ? Padding.SAME : Padding.VALID,
        strideW: params.strideW,
        strideH: params.strideH,
        activation: 0,
      },
      customOptions: null,
    };
  });

  return { ...model, operatorCodes, buffers, subgraphs: [{ ...graph, tensors, operators }] };
}
