import { parseOverlayOptions, type OutputFileName, type OverlayOptionsInput } from '../../engine/index.js';
import type { BubbleRing } from '../../shotstack/bubble-ring.js';
import { outputPixelSize } from '../../shotstack/output-size.js';
import type { RendererReadings } from '../../shotstack/readings.js';
import {
  bubblePlacement,
  type BubbleEditOptions,
  type BubblePlacement,
  type BubblePosition as ShotstackPosition,
} from '../../shotstack/timeline.js';
import type { BubblePosition, BubbleSize, JobData } from '../contract.js';

/**
 * From the user's few choices (shape, position, S/M/L, engine, aspect) to the engine's overlay options and the
 * Shotstack bubble layout. One place decides sizes, so the bubble is rendered by the engine at exactly the pixel
 * size it will occupy in the final video (no upscaling, no wasted work).
 */
export interface RenderSettings {
  resolution: 'sd' | 'hd' | '1080';
  fps: 24 | 25 | 30;
  overlayKind: 'luma' | 'alpha';
  backgroundVolume: number;
  maxDurationSec: number;
  maxInputBytes: number;
  /** Operator toggle (PIPELINE_BUBBLE_RING): a ring Shotstack draws around the bubble; unset = none. */
  bubbleRing?: BubbleRing;
}

/** Bubble side as a fraction of the output's shorter side. */
export const BUBBLE_SIZE_FRACTION: Record<BubbleSize, number> = { S: 0.3, M: 0.4, L: 0.5 };
/** Side of the transparent overlay file, px. */
const OVERLAY_FILE_SIDE: Record<BubbleSize, number> = { S: 360, M: 540, L: 720 };
/** Round video notes: Telegram shows them small; 512 px is sharp and cheap. */
const NOTE_SIDE = 512;
/** Gap between bubble and frame edge, as a fraction of the output width. */
const MARGIN = 0.04;
/** The corner radius the engine cuts a `rounded` bubble with (its default; the pipeline never overrides it). */
const ENGINE_ROUNDED_CORNER = parseOverlayOptions({}).cornerRadius;

// The contract's position names are Shotstack's; this line fails to compile if they ever drift apart.
const _samePositions: ShotstackPosition = 'topLeft' as BubblePosition;
void _samePositions;

/** The timeline options the job decides; the renderer's readings are added when the Edit is built. */
export type BubbleLayoutOptions = Omit<BubbleEditOptions, 'readings'>;

export interface BubbleLayout {
  edit: BubbleLayoutOptions;
  width: number;
  height: number;
  /** Bubble side in output pixels (even). */
  bubblePx: number;
  /** Where the bubble lands in the output (a viewport-size matte is drawn from it). */
  placement: BubblePlacement;
}

export function bubbleLayout(data: JobData, s: RenderSettings): BubbleLayout {
  const resolution = data.options.resolution ?? s.resolution;
  const { width, height } = outputPixelSize(resolution, data.options.aspect);
  const sidePx = BUBBLE_SIZE_FRACTION[data.options.size] * Math.min(width, height);
  const bubblePx = Math.max(64, Math.round(sidePx / 2) * 2);
  const edit: BubbleLayoutOptions = {
    position: data.options.position,
    // Shotstack's builder takes the side as a fraction of the output width.
    size: bubblePx / width,
    margin: MARGIN,
    aspect: data.options.aspect,
    resolution,
    fps: s.fps,
    // The speaker is the content: the video lasts as long as they talk; a shorter background loops.
    duration: 'bubble',
    backgroundAudio: s.backgroundVolume > 0,
    backgroundVolume: s.backgroundVolume,
    // The ring follows the bubble's cut, so the builder needs the shape (and the engine's corner radius).
    ...(s.bubbleRing ? { ring: s.bubbleRing, shape: data.options.shape, cornerRadius: ENGINE_ROUNDED_CORNER } : {}),
  };
  return { width, height, bubblePx, edit, placement: bubblePlacement(edit) };
}

/**
 * The overlay kind a video job really gets: PIPELINE_OVERLAY_KIND, except that `alpha` (a qtrle MOV) becomes the
 * luma pair when the renderer loses a MOV's alpha (reading alpha-mov=lost) — a flattened bubble would be a black
 * square, while the luma pair is Shotstack's documented masking.
 */
export function overlayKindUnder(kind: RenderSettings['overlayKind'], readings: Pick<RendererReadings, 'alphaMov'>): RenderSettings['overlayKind'] {
  return kind === 'alpha' && readings.alphaMov === 'lost' ? 'luma' : kind;
}

/** Engine options for the job's output kind (formats, size, fps, limits). */
export function engineOptionsFor(data: JobData, s: RenderSettings): OverlayOptionsInput {
  const common = {
    engine: data.options.engine,
    shape: data.options.shape,
    maxDurationSec: s.maxDurationSec,
    maxInputBytes: s.maxInputBytes,
    keepAudio: true,
  } satisfies OverlayOptionsInput;
  switch (data.output) {
    case 'video':
      return {
        ...common,
        size: bubbleLayout(data, s).bubblePx,
        fps: s.fps,
        formats: [s.overlayKind === 'luma' ? 'luma' : 'mov'],
      };
    case 'overlay':
      return { ...common, size: OVERLAY_FILE_SIDE[data.options.size], formats: ['webm'] };
    case 'note':
      return { ...common, size: NOTE_SIDE, formats: ['note'] };
  }
}

/** The engine files each output kind needs downstream. */
export function requiredOverlayFiles(data: JobData, s: RenderSettings): OutputFileName[] {
  switch (data.output) {
    case 'video':
      return s.overlayKind === 'luma' ? ['color.mp4', 'matte.mp4'] : ['overlay.mov'];
    case 'overlay':
      return ['overlay.webm'];
    case 'note':
      return ['note.mp4'];
  }
}
