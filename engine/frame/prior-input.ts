import type { ModelSpec } from '../models/registry.js';
import { AreaDownscaler } from './downscale.js';
import { ModelSizePreprocessor } from './preprocess.js';

/**
 * The person model's input on the YUV path, where the decoder hands over one RGB copy at the main model's size
 * (ISNet's 1024²): that copy area-downscaled to the person model's size, then normalised into its tensor.
 * A second decoder output would cost another ffmpeg scale per frame; 1024² → 256² in JS is a few ms.
 */
export class DownscaledPreprocessor {
  private readonly down: AreaDownscaler;
  private readonly pre: ModelSizePreprocessor;

  constructor(source: Pick<ModelSpec, 'width' | 'height'>, target: ModelSpec) {
    this.down = new AreaDownscaler(source.width, source.height, target.width, target.height);
    this.pre = new ModelSizePreprocessor(target);
  }

  run(rgb: Uint8Array): Float32Array {
    return this.pre.run(this.down.run(rgb));
  }
}
