import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { warmup } from '../engine/index.js';
import { mediaDir, needSharedMedia } from '../testing/media.js';
import { findClips, type GtClip } from './clips.js';
import { scoreEngine, type EngineScore } from './score-clip.js';
import { formatTable } from './table.js';

/**
 * Issue 12's floors at the person's edge, on the three shared clips with ground truth: the fast engine with its edge
 * refinement (engine/frame/edges.ts) against the same engine reading the model's upsampled map, on the same sampled
 * frames. Every clip must be better at the boundary (band IoU up, band |α error| down, mean IoU not down), and the
 * averages must hold the floors below. `npm run quality -- --engine fast --edges off,on --frames 1000` measures every
 * frame (the note on issue 12 has those numbers).
 */
const FRAMES = 6;
const MAIN_CLIPS = ['hopper_mall_720x1280', 'astronaut_gradient_1280x720', 'hopper_static_720x720'];
/** Averages over the three clips at these sampled frames, a little under what was measured (see the note). */
const FLOOR_MEAN_IOU = 0.986;
const FLOOR_BAND_IOU = 0.84;

let work: string;
let clips: GtClip[] = [];
const refined: EngineScore[] = [];

describe.skipIf(!needSharedMedia())('edge refinement at the boundary (fast engine, shared clips)', () => {
  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'bubblecast-edges-test-'));
    clips = await findClips(mediaDir, MAIN_CLIPS);
    await warmup(['fast']);
  });
  afterAll(async () => {
    await rm(work, { recursive: true, force: true });
  });

  for (const name of MAIN_CLIPS) {
    it(`${name}: refined edges beat the upsampled map at the boundary`, async () => {
      const clip = clips.find((c) => c.name === name);
      expect(clip, `${name} in ${mediaDir}`).toBeDefined();
      const off = await scoreEngine(clip!, 'fast', FRAMES, work, undefined, { refineEdges: false });
      const on = await scoreEngine(clip!, 'fast', FRAMES, work, undefined, { refineEdges: true });
      console.log(formatTable([off, on]));
      refined.push(on);
      expect(on.frames).toBe(off.frames);
      expect(on.bandIou).toBeGreaterThan(off.bandIou);
      expect(on.bandMae).toBeLessThan(off.bandMae);
      expect(on.meanIou).toBeGreaterThanOrEqual(off.meanIou);
    }, 120_000);
  }

  it('the averages hold the floors', () => {
    expect(refined).toHaveLength(MAIN_CLIPS.length);
    const mean = (f: (s: EngineScore) => number) => refined.reduce((a, s) => a + f(s), 0) / refined.length;
    expect(mean((s) => s.meanIou)).toBeGreaterThanOrEqual(FLOOR_MEAN_IOU);
    expect(mean((s) => s.bandIou)).toBeGreaterThanOrEqual(FLOOR_BAND_IOU);
  });
});
