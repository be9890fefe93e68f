import { join } from 'node:path';
import type { Logger } from '../../common/logger.js';
import { Compositor } from '../frame/compose.js';
import type { ShapeMask } from '../frame/shape.js';
import { PriorFusion } from '../frame/fuse.js';
import { EDGE_REFINE_DEFAULTS, EdgeRefiner, REFINED_SOFTNESS } from '../frame/edges.js';
import { RefinedBubble } from '../frame/refined-bubble.js';
import { CenterTracker } from '../frame/person.js';
import { YuvPreprocessor, yuvMatrixOf } from '../frame/preprocess.js';
import { MaskSmoother } from '../frame/smoothing.js';
import { startDecoder, type FrameDecoder } from '../io/decode.js';
import { buildEncoderArgs, buildMaskEncoderArgs, Encoder } from '../io/encode.js';
import type { ModelSpec } from '../models/registry.js';
import { getModel, type LoadedModel } from '../session.js';
import type { OverlayOptions } from '../types.js';
import { bubbleShape, type RenderPlan } from './plan.js';

/** The per-video state of the frame path: model, preprocessors, smoother, compositor and crop tracker. */
export interface FrameStages {
  model: LoadedModel;
  /** Two input tensors: frame N+1's is filled before frame N's inference has necessarily run (see loop.ts). */
  pres: [FramePreprocessor, FramePreprocessor];
  /** The person model that bounds `model`'s map (quality engine), or null. */
  prior: PriorStage | null;
  smoother: MaskSmoother;
  compositor: Compositor;
  /** Edge refinement and the compositor that reads its frame-resolution map, or null when switched off. */
  edges: EdgeStage | null;
  tracker: CenterTracker;
}

export interface EdgeStage {
  refiner: EdgeRefiner;
  compositor: Compositor;
  /** The bubble cut inside the refine kernel (shapes without a ring), else null: `compositor` draws it. */
  bubble: RefinedBubble | null;
}

/**
 * Frame → model input tensor. Frames are planar yuv420p at work size, from decoding to compositing: each model reads
 * its own few thousand pixels out of them, the bubble's planes are cropped as they are and only alpha is computed.
 */
export interface FramePreprocessor {
  run(yuv: Uint8Array): Float32Array;
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
  return {
    model,
    pres: preprocessors(plan, spec),
    prior: plan.prior ? createPriorStage(plan, plan.prior, log) : null,
    smoother: new MaskSmoother(options.smoothing),
    compositor: new Compositor(W, H, spec.width, spec.height, shape),
    edges: plan.refineEdges ? createEdgeStage(plan, shape, options.smoothing) : null,
    tracker: new CenterTracker(W, H, cropSide, options.center === 'auto' ? null : options.center),
  };
}

/** Two preprocessors for one model, converting with the matrix the video is tagged with. */
function preprocessors(plan: RenderPlan, spec: ModelSpec): [FramePreprocessor, FramePreprocessor] {
  const matrix = yuvMatrixOf(plan.info.video?.colorSpace);
  return [new YuvPreprocessor(plan.width, plan.height, spec, matrix), new YuvPreprocessor(plan.width, plan.height, spec, matrix)];
}

/**
 * The refiner holds its output still over time unless the video asks for no smoothing at all, and reuses its coarse
 * fit for a second frame only when frames are close in time (≥ 24 fps: coefficients at most 1/24 s old).
 */
function createEdgeStage(plan: RenderPlan, shape: ShapeMask, smoothing: number): EdgeStage {
  const { width: W, height: H, spec } = plan;
  const params = {
    ...EDGE_REFINE_DEFAULTS,
    deadband: smoothing > 0 ? EDGE_REFINE_DEFAULTS.deadband : 0,
    stillDeadband: smoothing > 0 ? EDGE_REFINE_DEFAULTS.stillDeadband : 0,
    fitEvery: plan.fps >= 24 ? EDGE_REFINE_DEFAULTS.fitEvery : 1,
  };
  const kernelBubble = shape.ring === null;
  const refiner = new EdgeRefiner(W, H, spec.width, spec.height, params, kernelBubble ? RefinedBubble.bytes(shape.side) : 0);
  return {
    refiner,
    compositor: new Compositor(W, H, W, H, shape, REFINED_SOFTNESS),
    bubble: kernelBubble ? new RefinedBubble(refiner, shape, REFINED_SOFTNESS) : null,
  };
}

function createPriorStage(plan: RenderPlan, prior: ModelSpec, log?: Logger): PriorStage {
  const { spec } = plan;
  return {
    model: getModel(prior, log),
    pres: preprocessors(plan, prior),
    fusion: new PriorFusion(spec.width, spec.height, prior.width, prior.height),
  };
}

/** The ffmpeg processes of one render: the decoder, and the encoders the formats need (null when none, or not yet). */
export interface FrameIo {
  decoder: FrameDecoder;
  encoder: Encoder | null;
  maskEncoder: Encoder | null;
  /**
   * Starts the encoders (once; later calls do nothing). The frame loop calls it when the first frame is decoded: two
   * ffmpeg starts (≈ 0.15 CPU-s each, loading some 200 libraries) then do not compete on a small machine, the first
   * frame comes sooner, and an input the decoder refuses never starts them.
   */
  startEncoders(): void;
}

/** Starts the decoder of the plan's input (the encoders wait for `startEncoders`, into the existing `outDir`); all stop when `signal` aborts. */
export function startIo(
  outDir: string,
  plan: RenderPlan,
  options: OverlayOptions,
  signal: AbortSignal,
): FrameIo {
  const { width: W, height: H, fps } = plan;
  let started = false;
  const io: FrameIo = {
    decoder: startDecoder(plan.info.path, { width: W, height: H, fps }, signal),
    encoder: null,
    maskEncoder: null,
    startEncoders: () => {
      if (started) return;
      started = true;
      io.encoder = plan.bubbleFormats.length ? startBubbleEncoder(outDir, plan, options, signal) : null;
      io.maskEncoder = plan.withMask ? Encoder.start(buildMaskEncoderArgs(W, H, fps, join(outDir, 'mask.mp4')), W * H, signal) : null;
    },
  };
  return io;
}

function startBubbleEncoder(outDir: string, plan: RenderPlan, options: OverlayOptions, signal: AbortSignal): Encoder {
  const { fps, cropSide, size } = plan;
  return Encoder.start(
    buildEncoderArgs({
      cropSide, size, fps, formats: plan.bubbleFormats, outDir, audioFrom: plan.audioFrom,
      noteBackground: options.noteBackground, noteMaxSide: 640, noteMaxSec: 60,
    }),
    (cropSide * cropSide * 5) / 2,
    signal,
  );
}
