import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../common/logger.js';
import { parseOverlayOptions, renderOverlay, workSize, type EngineName, type OverlayOptionsInput } from '../engine/index.js';
import { samplingFps, type GtClip } from './clips.js';
import { readGroundTruth, readMask } from './ground-truth.js';
import { scoreFrame, summarize, type ClipScore, type FrameScore } from './metrics.js';

export interface EngineScore extends ClipScore {
  clip: string;
  engine: EngineName;
  /** Whether the engine's edge refinement was on. */
  refineEdges: boolean;
  /** The render's wall time per rendered frame (decode of the whole clip included), and its model time per frame. */
  msPerFrame: number;
  inferMsPerFrame: number;
  provider: 'cuda' | 'cpu';
  perFrame: FrameScore[];
}

/**
 * One engine on one clip, through the public API only: `renderOverlay` renders the whole clip's `mask.mp4` at a
 * reduced output rate (`samplingFps`), with the engine's default options (temporal smoothing on), and every
 * rendered frame is scored against the ground truth read on the same grid.
 *
 * Why the whole clip at a low rate rather than short cuts: no re-encode (the engine decodes the very file a user
 * would upload), frames pair exactly (same fps filter on both sides), and every sampled frame costs one inference —
 * a cut would need ≥ 0.5 s (the media gate's minimum) of frames per sample. The price: the smoother sees frames
 * `step` source frames apart, so it follows larger jumps than at full rate (it does so for both engines alike).
 */
export async function scoreEngine(
  clip: GtClip,
  engine: EngineName,
  frames: number,
  workDir: string,
  logger?: Logger,
  look: Pick<OverlayOptionsInput, 'refineEdges' | 'smoothing'> = {},
): Promise<EngineScore> {
  const refineEdges = look.refineEdges ?? true;
  const dir = await mkdtemp(join(workDir, `${clip.name}-${engine}-`));
  try {
    const fps = samplingFps(clip, frames);
    const options = parseOverlayOptions({ ...look, engine, formats: ['mask'], fps, keepAudio: false, refineEdges });
    const res = await renderOverlay(clip.video, dir, options, { logger });
    // The mask is at the engine's work size (display size, shorter side capped); the truth is read on that grid.
    const { width, height } = workSize(clip.width, clip.height);
    const [masks, truth] = await Promise.all([
      readMask(res.files['mask.mp4']!, width, height),
      readGroundTruth(clip.alpha, { width, height, fps: res.fps }),
    ]);
    // Both went through the same fps filter: a different count means the two streams' timestamps disagree.
    if (masks.length !== truth.length) {
      throw new Error(`${clip.name}: ${masks.length} mask frames vs ${truth.length} ground-truth frames at ${res.fps} fps`);
    }
    const perFrame = masks.map((m, i) => scoreFrame(m, truth[i], width, height));
    return {
      clip: clip.name,
      engine,
      refineEdges,
      ...summarize(perFrame),
      msPerFrame: res.wallMs / res.frames,
      inferMsPerFrame: res.perFrame.inferMs,
      provider: res.provider,
      perFrame,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
