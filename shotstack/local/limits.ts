import type { Edit } from '../types.js';
import { PlanError, outputGeometry, type RenderPlan } from './plan.js';
import type { ValidationDetail } from './validation.js';

/**
 * What one request may cost the local renderer. Without caps, one Edit or one upload could fill the disk (a
 * multi-gigabyte asset or upload), the memory (thousands of clips: each is an ffmpeg input with its own decoder;
 * a huge output or a huge scaled layer) or the CPU for hours (a 10-hour timeline). What is knowable from the
 * Edit itself is refused at submit with a 400 ValidationError; what depends on the assets (`length: "auto"`,
 * the size a layer is scaled to) fails the render, with the reason as its `error`.
 */
export interface LocalLimits {
  /** JSON body of POST /render. */
  maxEditBytes: number;
  /** One signed-URL upload (PUT /upload/{id}). */
  maxUploadBytes: number;
  /** One downloaded render asset. */
  maxAssetBytes: number;
  /** Redirect hops followed per asset. */
  maxRedirects: number;
  maxTracks: number;
  /** Clips over all tracks. */
  maxClips: number;
  /** Timeline length (latest clip end), seconds. */
  maxDurationSec: number;
  /** Output width × height. */
  maxOutputPixels: number;
}

const MiB = 1024 * 1024;

export const DEFAULT_LIMITS: Readonly<LocalLimits> = Object.freeze({
  // A bubble Edit is a few kB; a looped background (below) adds ~150 bytes per clip.
  maxEditBytes: 1 * MiB,
  // Five times the pipeline's default input cap (PIPELINE_MAX_INPUT_BYTES, 200 MB): the engine's colour/matte
  // files can outgrow the input. Shotstack's own limit is 5 GB; this renderer runs on small boxes.
  maxUploadBytes: 1024 * MiB,
  maxAssetBytes: 1024 * MiB,
  maxRedirects: 5,
  // The bubble Edit uses 2–3 tracks (bubble, optional ring, background).
  maxTracks: 10,
  // The builder loops a short background by repeating its clip: the pipeline's longest default input (180 s)
  // over the shortest background it accepts (0.5 s) is 360 clips + 3.
  maxClips: 500,
  // Shotstack caps sandbox renders at 10 minutes.
  maxDurationSec: 600,
  // 1920×1080, the largest preset the pipeline renders ("1080"); 4k is refused.
  maxOutputPixels: 1920 * 1080,
});

/**
 * A layer (a clip scaled to its box before cropping) may be this many times the output: `fit: "crop"` of a
 * 9:16 asset into a 16:9 frame scales it to (16/9)² ≈ 3.2× the output's pixels; a `scale` of 50 would not fit.
 */
const LAYER_PIXELS_PER_OUTPUT_PIXEL = 4;

function limitDetail(path: (string | number)[], message: string): ValidationDetail {
  return { message, path, type: 'local.limit' };
}

/** The caps an Edit breaks that can be told before fetching anything (a schema-valid Edit). */
export function editLimitProblems(edit: Edit, limits: LocalLimits): ValidationDetail[] {
  const out: ValidationDetail[] = [];
  const tracks = edit.timeline.tracks;
  if (tracks.length > limits.maxTracks) {
    out.push(limitDetail(['timeline', 'tracks'], `"timeline.tracks" has ${tracks.length} tracks; the local renderer takes at most ${limits.maxTracks}`));
  }
  const clips = tracks.reduce((n, t) => n + t.clips.length, 0);
  if (clips > limits.maxClips) {
    out.push(limitDetail(['timeline', 'tracks'], `"timeline.tracks" has ${clips} clips; the local renderer takes at most ${limits.maxClips}`));
  }
  const end = knownTimelineEnd(edit);
  if (end > limits.maxDurationSec) {
    out.push(limitDetail(['timeline'], `"timeline" lasts at least ${end} s; the local renderer renders at most ${limits.maxDurationSec} s`));
  }
  const { width, height } = outputGeometry(edit.output);
  if (width * height > limits.maxOutputPixels) {
    out.push(limitDetail(['output'], `"output" is ${width}×${height}; the local renderer renders at most ${limits.maxOutputPixels} pixels`));
  }
  return out;
}

/**
 * The latest clip end the Edit states outright: numeric starts and lengths, and `start: "auto"` after a clip whose
 * end is known. `length: "auto"` / `"end"` depend on the assets and are checked on the plan (checkPlanLimits).
 */
function knownTimelineEnd(edit: Edit): number {
  let end = 0;
  for (const track of edit.timeline.tracks) {
    let previousEnd: number | null = 0;
    for (const clip of track.clips) {
      const start: number | null = clip.start === 'auto' ? previousEnd : typeof clip.start === 'number' ? clip.start : null;
      const length = typeof clip.length === 'number' ? clip.length : null;
      if (start !== null) end = Math.max(end, start + (length ?? 0));
      previousEnd = start !== null && length !== null ? start + length : null;
    }
  }
  return end;
}

/** The caps a plan breaks once the assets are known; the render fails with the reason. */
export function checkPlanLimits(plan: RenderPlan, limits: LocalLimits): void {
  if (plan.durationSec > limits.maxDurationSec) {
    throw new PlanError(`the timeline lasts ${plan.durationSec} s; the local renderer renders at most ${limits.maxDurationSec} s`);
  }
  const maxLayerPixels = LAYER_PIXELS_PER_OUTPUT_PIXEL * limits.maxOutputPixels;
  for (const clip of plan.clips) {
    const { scaledWidth: w, scaledHeight: h } = clip.box;
    if (w * h > maxLayerPixels) {
      throw new PlanError(`tracks[${clip.track}].clips[${clip.index}]: scaled to ${w}×${h}; the local renderer scales a layer to at most ${maxLayerPixels} pixels`);
    }
  }
}
