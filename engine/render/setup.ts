import { join } from 'node:path';
import type { Logger } from '../../common/logger.js';
import { Compositor } from '../frame/compose.js';
import { PriorFusion } from '../frame/fuse.js';
import { CenterTracker } from '../frame/person.js';
import { ModelSizePreprocessor, Preprocessor } from '../frame/preprocess.js';
import { DownscaledPreprocessor } from '../frame/prior-input.js';
import { MaskSmoother } from '../frame/smoothing.js';
import { startDecoder, startYuvDecoder } from '../io/decode.js';
import { buildEncoderArgs, buildMaskEncoderArgs, Encoder, YUV_FORMATS } from '../io/encode.js';
import type { ModelSpec } from '../models/registry.js';
import { getModel, type LoadedModel } from '../session.js';
import type { OverlayOptions } from '../types.js';
import { bubbleShape, type RenderPlan } from './plan.js';

/** The per-video state of the frame path: model, preprocessors, smoother, compositor and crop tracker. */
export interface FrameStages {
  model: LoadedModel;
  /** Two input tensors: frame N+1 is preprocessed while frame N's tensor may still be inside ORT. */
  pres: [FramePreprocessor, FramePreprocessor];
  /** The person model that bounds `model`'s map (quality engine), or null. */
  prior: PriorStage | null;
  /** Frames are planar yuv420p and the bubble is written as yuva420p (see `usesYuvPath`). */
  yuv: boolean;
  smoother: MaskSmoother;
  compositor: Compositor;
  tracker: CenterTracker;
}

/** Frame (or its model-size copy) → model input tensor. */
export interface FramePreprocessor {
  run(rgb: Uint8Array): Float32Array;
}

/**
 * The YUV-native frame path serves renders whose bubble formats all take yuva420p straight (webm, luma): decoder
 * planes are cropped as they are and only alpha is computed. Anything else (mov, note, a mask-only render) keeps
 * the RGB path. A mask-only render takes the YUV path too: it needs only the model-size copy.
 */
export function usesYuvPath(plan: RenderPlan): boolean {
  return plan.bubbleFormats.every((f) => YUV_FORMATS.includes(f));
}

/** The prior's own model (loading starts with the render; the first frame waits for it), inputs and fusion. */
export interface PriorStage {
  model: Promise<LoadedModel>;
  pres: [FramePreprocessor, FramePreprocessor];
  /** Its map and the main model's → one map on the main model's grid (what compositor and tracker read). */
  fusion: PriorFusion;
}

export function createStages(plan: RenderPlan, options: OverlayOptions, model: LoadedModel, log?: Logger): FrameStages {
  const { width: W, height: H, spec, cropSide } = plan;
  const shape = bubbleShape(cropSide, plan.size, options);
  const yuv = usesYuvPath(plan);
  return {
    model,
    pres: yuv
      ? [new ModelSizePreprocessor(spec), new ModelSizePreprocessor(spec)]
      : [new Preprocessor(W, H, spec), new Preprocessor(W, H, spec)],
    prior: plan.prior ? createPriorStage(plan, plan.prior, yuv, log) : null,
    yuv,
    smoother: new MaskSmoother(options.smoothing),
    compositor: new Compositor(W, H, spec.width, spec.height, shape),
    tracker: new CenterTracker(W, H, cropSide, options.center === 'auto' ? null : options.center),
  };
}

/**
 * On the YUV path the prior's input comes from the one model-size RGB copy the decoder gives (the main model's), on
 * the RGB path from the full frame, like the main model's.
 */
function createPriorStage(plan: RenderPlan, prior: ModelSpec, yuv: boolean, log?: Logger): PriorStage {
  const { width: W, height: H, spec } = plan;
  const pre = (): FramePreprocessor => (yuv ? new DownscaledPreprocessor(spec, prior) : new Preprocessor(W, H, prior));
  return {
    model: getModel(prior, log),
    pres: [pre(), pre()],
    fusion: new PriorFusion(spec.width, spec.height, prior.width, prior.height),
  };
}

/** One decoded frame: the work-size frame (RGB24, or yuv420p on the YUV path) and the model's input copy. */
export interface DecodedFrame {
  frame: Buffer;
  /** RGB24 for the preprocessor: the frame itself, or the model-size copy on the YUV path. */
  model: Buffer;
}

export interface FrameDecoder {
  next(): Promise<DecodedFrame | null>;
  done: Promise<unknown>;
  kill(): void;
}

function rgbDecoder(d: ReturnType<typeof startDecoder>): FrameDecoder {
  return {
    next: async () => {
      const frame = await d.reader.next();
      return frame ? { frame, model: frame } : null;
    },
    done: d.done,
    kill: d.kill,
  };
}

function yuvDecoder(d: ReturnType<typeof startYuvDecoder>): FrameDecoder {
  return {
    next: async () => {
      // Both outputs of the one filter graph advance in lock step; read them together.
      const [frame, model] = await Promise.all([d.yuvReader.next(), d.rgbReader.next()]);
      return frame && model ? { frame, model } : null;
    },
    done: d.done,
    kill: d.kill,
  };
}

/** The ffmpeg processes of one render: the decoder, and the encoders the formats need (null when none). */
export interface FrameIo {
  decoder: FrameDecoder;
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
  const yuv = usesYuvPath(plan);
  const decoder = yuv
    ? yuvDecoder(startYuvDecoder(inputPath, { width: W, height: H, fps, modelWidth: plan.spec.width, modelHeight: plan.spec.height }, signal))
    : rgbDecoder(startDecoder(inputPath, { width: W, height: H, fps }, signal));
  const encoder = plan.bubbleFormats.length
    ? Encoder.start(
        buildEncoderArgs({
          cropSide, size, fps, formats: plan.bubbleFormats, outDir, audioFrom: plan.audioFrom,
          noteBackground: options.noteBackground, noteMaxSide: 640, noteMaxSec: 60,
          inputPixFmt: yuv ? 'yuva420p' : 'rgba',
        }),
        yuv ? (cropSide * cropSide * 5) / 2 : cropSide * cropSide * 4,
        signal,
      )
    : null;
  const maskEncoder = plan.withMask
    ? Encoder.start(buildMaskEncoderArgs(W, H, fps, join(outDir, 'mask.mp4')), W * H, signal)
    : null;
  return { decoder, encoder, maskEncoder };
}
