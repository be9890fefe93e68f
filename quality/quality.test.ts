import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { warmup } from '../engine/index.js';
import { hasSharedMedia, mediaDir, SKIP_NO_MEDIA } from '../testing/media.js';
import { findClips, type GtClip } from './clips.js';
import { scoreEngine } from './score-clip.js';
import { formatTable } from './table.js';

/**
 * Issue 15's acceptance, on every shared clip with ground truth: the quality engine's mean IoU ≥ the fast engine's,
 * and its worst frame at most 0.01 below the fast engine's worst. Both engines render the same sampled frames
 * through `renderOverlay` (see quality/score-clip.ts).
 *
 * Frames per clip are few because ISNet at 1024² costs ≈ 3-8 s a frame on one CPU thread here (more when the
 * machine is busy). The clip with moving distractors, where ISNet alone lost to the fast engine, gets two; every other
 * clip one. `npm run quality -- --frames 30` measures the same thing properly.
 */
const FRAMES: Record<string, number> = { hopper_mall_720x1280: 2 };
const OTHER_FRAMES = 1;
/** The clips the issue names; the test must not pass by finding none of them. */
const MAIN_CLIPS = ['hopper_mall_720x1280', 'astronaut_gradient_1280x720', 'hopper_static_720x720'];
const MAX_WORST_FRAME_DROP = 0.01;

let work: string;
const clips: GtClip[] = hasSharedMedia ? await findClips(mediaDir) : [];

describe.skipIf(!hasSharedMedia)('quality engine ≥ fast engine on the shared clips', () => {
  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'bubblecast-quality-test-'));
    await warmup(['fast', 'quality']);
  });
  afterAll(async () => {
    await rm(work, { recursive: true, force: true });
  });

  it('finds the clips with ground truth', () => {
    expect(clips.map((c) => c.name)).toEqual(expect.arrayContaining(MAIN_CLIPS));
  });

  for (const clip of clips) {
    it(`${clip.name}: mean IoU ≥ fast, worst frame ≥ fast's worst − ${MAX_WORST_FRAME_DROP}`, async () => {
      const frames = FRAMES[clip.name] ?? OTHER_FRAMES;
      // Side by side: the fast render (mostly ffmpeg decoding) runs on the core ISNet leaves free.
      const [fast, quality] = await Promise.all([scoreEngine(clip, 'fast', frames, work), scoreEngine(clip, 'quality', frames, work)]);
      console.log(formatTable([fast, quality]));
      expect(quality.frames).toBe(fast.frames);
      expect(quality.frames).toBeGreaterThanOrEqual(frames);
      expect(quality.meanIou).toBeGreaterThanOrEqual(fast.meanIou);
      expect(quality.minIou).toBeGreaterThanOrEqual(fast.minIou - MAX_WORST_FRAME_DROP);
    });
  }
});

describe.skipIf(hasSharedMedia)('quality engine ≥ fast engine on the shared clips', () => {
  it.skip(SKIP_NO_MEDIA, () => undefined);
});
