import type { Logger } from '../common/logger.js';

/**
 * The frame engine's public contract: one head video in, a set of overlay files out.
 * The GPU worker service, the CLI, the benchmark and the pipeline's CPU fallback all call `renderOverlay`
 * (engine/index.ts) with these types.
 */

/**
 * `fast` = MediaPipe Selfie Segmentation (real time on CPU); `quality` = ISNet (GPU-class) bounded by the selfie
 * model's person map: ISNet's detail at the person's edge, the person model's decision far from it.
 */
export type EngineName = 'fast' | 'quality';
export type ShapeName = 'circle' | 'rounded' | 'rect';

/**
 * Output formats. File names inside the output directory are fixed (see OUTPUT_FILES).
 * - webm: VP9 with real alpha (yuva420p), the bubble square.
 * - mov: QuickTime Animation (qtrle, argb) with alpha, the bubble square.
 * - luma: colour MP4 + greyscale matte MP4 of identical geometry/timing (Shotstack's luma-matte route).
 * - note: Telegram round video note: square H.264 MP4 ≤ 640 px, ≤ 60 s, head over a solid colour.
 * - mask: the raw person mask as a greyscale H.264 video at the input's display size (for evaluation).
 */
export type OutputFormat = 'webm' | 'mov' | 'luma' | 'note' | 'mask';

export const OUTPUT_FILES = {
  webm: ['overlay.webm'],
  mov: ['overlay.mov'],
  luma: ['color.mp4', 'matte.mp4'],
  note: ['note.mp4'],
  mask: ['mask.mp4'],
} as const satisfies Record<OutputFormat, readonly string[]>;

export type OutputFileName = (typeof OUTPUT_FILES)[OutputFormat][number];

export interface OverlayOptions {
  engine: EngineName;
  shape: ShapeName;
  /** Side of the square bubble in output pixels (even; clamped to the crop's side). */
  size: number;
  /**
   * Which part of the frame becomes the bubble. `auto` follows the person (smoothed over time);
   * otherwise a fixed centre as fractions of the frame (0..1).
   */
  center: 'auto' | { x: number; y: number };
  /** Side of the square crop as a fraction of the frame's shorter side (0.2..1). 1 = as large as fits. */
  zoom: number;
  /** Width of the soft edge of the shape, in output pixels. */
  feather: number;
  /** Optional ring drawn just inside the shape's edge. */
  border: { width: number; color: string } | null;
  /** Corner radius for `rounded`, as a fraction of the side (0..0.5). */
  cornerRadius: number;
  formats: OutputFormat[];
  /** Background colour of the `note` output (CSS hex, e.g. #101820). */
  noteBackground: string;
  /** Temporal smoothing of the mask, 0 = off, 1 = maximal. */
  smoothing: number;
  /** Re-draw the person's edge along the frame's colour edges at full resolution (default true; fast engine only). */
  refineEdges: boolean;
  /** Output frame rate; the input is resampled to a constant rate (VFR → CFR). 0 = the input's nominal rate, ≤ 30. */
  fps: number;
  /** Refuse inputs longer than this (seconds) or larger than this (bytes). */
  maxDurationSec: number;
  maxInputBytes: number;
  /** Keep the input's audio in webm/mov/luma-colour/note outputs. */
  keepAudio: boolean;
}

export interface ProgressEvent {
  frame: number;
  totalFrames: number;
  /** 0..1 */
  fraction: number;
  fps: number;
}

export interface RenderHooks {
  onProgress?: (p: ProgressEvent) => void;
  signal?: AbortSignal;
  logger?: Logger;
}

/** Mean milliseconds per frame spent in each stage (wall time of the engine's own loop). */
export interface StageTimings {
  decodeWaitMs: number;
  preprocessMs: number;
  inferMs: number;
  postprocessMs: number;
  /** Edge refinement (0 when switched off). */
  refineMs: number;
  composeMs: number;
  encodeWaitMs: number;
}

export interface OverlayResult {
  /** Absolute paths keyed by output file name, e.g. { 'overlay.webm': '/tmp/x/overlay.webm' }. */
  files: Partial<Record<OutputFileName, string>>;
  frames: number;
  fps: number;
  durationSec: number;
  width: number;
  height: number;
  /** The execution provider that really ran the model: never 'cuda' when ORT fell back to CPU. */
  provider: 'cuda' | 'cpu';
  engine: EngineName;
  wallMs: number;
  /** Frames processed per wall-clock second. */
  throughputFps: number;
  perFrame: StageTimings;
  /** Fraction of frames where a person was found. */
  personCoverage: number;
}
