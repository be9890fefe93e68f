import { join } from 'node:path';
import { Compositor } from '../frame/compose.js';
import { CenterTracker } from '../frame/person.js';
import { Preprocessor } from '../frame/preprocess.js';
import { MaskSmoother } from '../frame/smoothing.js';
import { startDecoder } from '../io/decode.js';
import { buildEncoderArgs, buildMaskEncoderArgs, Encoder } from '../io/encode.js';
import type { LoadedModel } from '../session.js';
import type { OverlayOptions } from '../types.js';
import { bubbleShape, type RenderPlan } from './plan.js';

/** The per-video state of the frame path: model, preprocessors, smoother, compositor and crop tracker. */
export interface FrameStages {
  model: LoadedModel;
  /** Two input tensors: frame N+1 is preprocessed while frame N's tensor may still be inside ORT. */
  pres: [Preprocessor, Preprocessor];
  smoother: MaskSmoother;
  compositor: Compositor;
  tracker: CenterTracker;
}

export function createStages(plan: RenderPlan, options: OverlayOptions, model: LoadedModel): FrameStages {
  const { width: W, height: H, spec, cropSide } = plan;
  const shape = bubbleShape(cropSide, plan.size, options);
  return {
    model,
    pres: [new Preprocessor(W, H, spec), new Preprocessor(W, H, spec)],
    smoother: new MaskSmoother(options.smoothing),
    compositor: new Compositor(W, H, spec.width, spec.height, shape),
    tracker: new CenterTracker(W, H, cropSide, options.center === 'auto' ? null : options.center),
  };
}

/** The ffmpeg processes of one render: the decoder, and the encoders the formats need (null when none). */
export interface FrameIo {
  decoder: ReturnType<typeof startDecoder>;
  encoder: Encoder | null;
  maskEncoder: Encoder | null;
}

/** Starts the decoder and the encoders (into the existing `outDir`); all of them stop when `signal` aborts. */
export function startIo(
  inputPath: string,
  outDir: string,
  plan: RenderPlan,
  options: OverlayOptions,
  signal: AbortSignal,
): FrameIo {
  const { width: W, height: H, fps, cropSide, size } = plan;
  const decoder = startDecoder(inputPath, { width: W, height: H, fps }, signal);
  const encoder = plan.bubbleFormats.length
    ? Encoder.start(
        buildEncoderArgs({
          cropSide, size, fps, formats: plan.bubbleFormats, outDir, audioFrom: plan.audioFrom,
          noteBackground: options.noteBackground, noteMaxSide: 640, noteMaxSec: 60,
        }),
        cropSide * cropSide * 4,
        signal,
      )
    : null;
  const maskEncoder = plan.withMask
    ? Encoder.start(buildMaskEncoderArgs(W, H, fps, join(outDir, 'mask.mp4')), W * H, signal)
    : null;
  return { decoder, encoder, maskEncoder };
}
