import { join } from 'node:path';
import { checkProbedLimits, probeMedia, type MediaInfo } from '../../common/ffmpeg.js';
import { MediaError } from '../../common/errors.js';
import { MIN_DURATION_SEC } from '../../common/media-gate.js';
import { buildShapeMask, type ShapeMask } from '../frame/shape.js';
import { workSize } from '../io/decode.js';
import { selectModel, selectPriorModel, type ModelSpec } from '../models/registry.js';
import { OUTPUT_FILES, type OutputFormat, type OverlayOptions } from '../types.js';

/** Inputs smaller than this on their shorter side carry too little of a person to cut out. */
const MIN_SIDE = 32;
/** More decoded frames than the probe promised, beyond this share plus one second, means the header lied. */
const MAX_DECODED_SHARE = 1.1;

/**
 * The most frames decoding may yield before the job stops as `too_long`: what the probe promised (with a margin for
 * VFR rounding), and never more than the duration limit allows — a stream whose header lies about its length
 * cannot run (or bill) longer than the limit.
 */
export function frameBudget(durationSec: number, maxDurationSec: number, fps: number): number {
  return Math.ceil(Math.min(durationSec * MAX_DECODED_SHARE + 1, maxDurationSec + 1) * fps);
}

/** What one render will do, decided from the probe and the options before anything is decoded or written. */
export interface RenderPlan {
  info: MediaInfo;
  /** Work size: the frame size the decoder delivers. */
  width: number;
  height: number;
  fps: number;
  expectedFrames: number;
  maxFrames: number;
  spec: ModelSpec;
  /** The person model whose map bounds `spec`'s (quality engine), or null. The mask stays on `spec`'s grid. */
  prior: ModelSpec | null;
  /** Whether the person's edge is refined at frame resolution (engine/frame/edges.ts). */
  refineEdges: boolean;
  /** Frames per inference: a frame between two inferences reuses the last map, re-cut along its own colour edges. */
  inferEvery: number;
  /** Side of the square crop in work pixels, and of the bubble in output pixels. */
  cropSide: number;
  size: number;
  /** The input, when its audio is kept in the outputs. */
  audioFrom: string | null;
  /** Formats the bubble encoder writes (everything but `mask`). */
  bubbleFormats: OutputFormat[];
  withMask: boolean;
  /** Every file the options ask for, removed again when the render fails. */
  written: string[];
}

/**
 * A head video for the engine: its path, or the media gate's probe of it (probeMedia's MediaInfo, whose `path` is
 * the file). Every production caller has gated the file before the engine runs (the pipeline's fetch stage, the GPU
 * worker's upload); handing that probe over spares a second ffprobe (≈ 0.2 s and 0.15 CPU-s on 2 cores).
 */
export type RenderInput = string | MediaInfo;

/**
 * Probes the input (refusing what the media gate refuses) — or checks a given probe against this render's limits —
 * and decides sizes, rate, model and outputs.
 */
export async function planRender(
  input: RenderInput,
  outDir: string,
  options: OverlayOptions,
  signal: AbortSignal | undefined,
): Promise<RenderPlan> {
  const limits = { maxBytes: options.maxInputBytes, maxDurationSec: options.maxDurationSec, minDurationSec: MIN_DURATION_SEC };
  const info = typeof input === 'string' ? await probeMedia(input, limits, { signal }) : checkProbedLimits(input, limits);
  const inputPath = info.path;
  const video = info.video!;
  if (Math.min(video.width, video.height) < MIN_SIDE) {
    throw new MediaError('too_small', `The video is ${video.width}×${video.height}; at least ${MIN_SIDE} px is needed.`);
  }
  const { width, height } = workSize(video.width, video.height);
  const nominal = video.fps > 0 && video.fps <= 120 ? video.fps : video.avgFps || 30;
  const fps = options.fps > 0 ? options.fps : Math.min(30, Math.round(nominal * 100) / 100);
  const cropSide = evenFloor(Math.min(width, height) * options.zoom);
  const prior = selectPriorModel(options.engine, width, height);
  // ISNet's 1024² map (the quality engine) already follows the hair; measured, the refinement lost there on 2 of 3
  // shared clips, so it runs where the person model's coarse map is what the bubble is cut from.
  const refineEdges = options.refineEdges && !prior;
  return {
    info,
    width,
    height,
    fps,
    expectedFrames: Math.max(1, Math.round(info.durationSec * fps)),
    maxFrames: frameBudget(info.durationSec, options.maxDurationSec, fps),
    spec: selectModel(options.engine, width, height),
    prior,
    refineEdges,
    inferEvery: inferenceStride(refineEdges, fps),
    cropSide,
    size: Math.min(options.size, cropSide),
    audioFrom: options.keepAudio && info.audio ? inputPath : null,
    bubbleFormats: options.formats.filter((f) => f !== 'mask'),
    withMask: options.formats.includes('mask'),
    written: options.formats.flatMap((f) => OUTPUT_FILES[f].map((n) => join(outDir, n))),
  };
}

/**
 * One inference per two frames where the edge is refined and frames are at most 1/24 s apart: the refiner re-draws
 * the reused map's edge along the new frame's colours, which follow the person. Measured on every frame of the
 * shared clips (`npm run quality -- --engine fast --frames 1000`): mean IoU, band IoU and flicker unchanged within
 * ±0.001 (astronaut 0.9882 → 0.9891), for half the inference time. Every third frame lost 0.01 band IoU on
 * hopper_mall; without the refinement, every second frame lost 0.017.
 */
export function inferenceStride(refineEdges: boolean, fps: number): number {
  return refineEdges && fps >= 24 ? 2 : 1;
}

/** The bubble's shape at crop resolution; feather and border are given in output pixels (`size`). */
export function bubbleShape(
  cropSide: number,
  size: number,
  options: Pick<OverlayOptions, 'shape' | 'feather' | 'cornerRadius' | 'border'>,
): ShapeMask {
  const scaleToOut = cropSide / size;
  return buildShapeMask(
    cropSide,
    options.shape,
    options.feather * scaleToOut,
    options.cornerRadius,
    options.border ? { widthPx: options.border.width * scaleToOut, color: options.border.color } : null,
  );
}

export function evenFloor(v: number): number {
  return Math.max(2, Math.floor(v / 2) * 2);
}
