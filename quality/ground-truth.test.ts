import { describe, expect, it } from 'vitest';
import { hasSharedMedia, mediaDir, SKIP_NO_MEDIA } from '../testing/media.js';
import { findClips, samplingFps } from './clips.js';
import { readGray, readGroundTruth } from './ground-truth.js';

/**
 * The premise of the scorer: reading the ground truth through the engine's fps filter picks the very source frames
 * the engine's decoder picks from the mp4, although the mkv stores millisecond timestamps and the mp4 exact ones.
 * Checked by finding each sampled frame among all frames of its own file (small size: only timing matters here).
 */
const W = 90;
const H = 160;

/** Index, among all coded frames of `file`, of each frame the fps filter picks at `fps`. */
async function pickedFrames(file: string, fps: number): Promise<number[]> {
  const all = await readGray(file, W, H, ['-vf', `scale=${W}:${H}:flags=area,format=gray`, '-fps_mode', 'passthrough']);
  const picked = await readGroundTruth(file, { width: W, height: H, fps });
  const same = (a: Uint8Array, b: Uint8Array) => Buffer.compare(Buffer.from(a), Buffer.from(b)) === 0;
  return picked.map((p) => all.findIndex((a) => same(a, p)));
}

describe.skipIf(!hasSharedMedia)('ground truth on the engine grid', () => {
  for (const [name, frames] of [['hopper_mall', 7], ['vfr', 5]] as const) {
    it(`${name}: the sampled ground-truth frames are the sampled video frames`, async () => {
      const [clip] = await findClips(mediaDir, [name]);
      const fps = samplingFps(clip, frames);
      const [video, truth] = await Promise.all([pickedFrames(clip.video, fps), pickedFrames(clip.alpha, fps)]);
      expect(video.length).toBeGreaterThanOrEqual(frames - 1);
      expect(video.every((i) => i >= 0)).toBe(true);
      expect(new Set(video).size).toBe(video.length); // spread over the clip, no frame twice
      expect(truth).toEqual(video);
    });
  }
});

describe.skipIf(hasSharedMedia)('ground truth on the engine grid', () => {
  it.skip(SKIP_NO_MEDIA, () => undefined);
});
