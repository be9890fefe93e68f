import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { convertTfliteToOnnx } from '../onnx/convert.js';
import { encodeOnnxModel } from '../onnx/graph.js';
import { operatorCodeOf, readTflite } from '../tflite/reader.js';
import { BuiltinOperator } from '../tflite/schema.js';
import { sha256 } from './digest.js';

/**
 * MediaPipe Selfie Segmentation (npm @mediapipe/selfie_segmentation, Apache-2.0) converted to ONNX.
 * Both files output a sigmoid "person" probability; the landscape file names that tensor `segment_back`, but it is
 * the foreground probability all the same — what matters is that it is the output of the final LOGISTIC.
 */

export const SELFIE_PACKAGE = '@mediapipe/selfie_segmentation';

export const SELFIE_SOURCES = {
  selfie_general: 'selfie_segmentation.tflite',
  selfie_landscape: 'selfie_segmentation_landscape.tflite',
} as const;

export interface SelfieConversion {
  onnx: Uint8Array;
  source: { package: string; version: string; file: string; sha256: string };
}

export function convertSelfie(id: keyof typeof SELFIE_SOURCES, names: { input: string; output: string }): SelfieConversion {
  const require = createRequire(import.meta.url);
  const pkgJson = require.resolve(`${SELFIE_PACKAGE}/package.json`);
  const version = (JSON.parse(readFileSync(pkgJson, 'utf8')) as { version: string }).version;
  const file = SELFIE_SOURCES[id];
  const tflite = readFileSync(join(dirname(pkgJson), file));
  const model = readTflite(tflite);

  const graph = model.subgraphs[0]!;
  const outIx = graph.outputs[0];
  const producer = graph.operators.find((op) => op.outputs.includes(outIx ?? -1));
  if (!producer || operatorCodeOf(model, producer).builtinCode !== BuiltinOperator.LOGISTIC) {
    throw new Error(`${file}: the graph output is not produced by LOGISTIC, so it is not the probability this build promises`);
  }

  const onnx = convertTfliteToOnnx(model, {
    inputName: names.input,
    outputName: names.output,
    graphName: id,
    docString:
      `MediaPipe Selfie Segmentation (${SELFIE_PACKAGE}@${version}, ${file}, Apache-2.0) converted to ONNX by bubblecast. ` +
      'Input: RGB in 0..1, NCHW, stretched to the model size. Output: person probability 0..1.',
    metadata: { source: `${SELFIE_PACKAGE}@${version}/${file}`, licence: 'Apache-2.0' },
  });
  return { onnx: encodeOnnxModel(onnx), source: { package: SELFIE_PACKAGE, version, file, sha256: sha256(tflite) } };
}
