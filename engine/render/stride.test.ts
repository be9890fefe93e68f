import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { media, needSharedMedia } from '../../testing/media.js';
import { MODELS } from '../models/registry.js';
import { getModel } from '../session.js';
import { parseOverlayOptions } from '../options.js';
import { renderOverlay } from './overlay.js';
import { inferenceStride } from './plan.js';

/**
 * One inference per two frames where the refiner re-cuts the edge on every frame's own colours, every frame where it
 * does not (the reused map's edge would lag a moving person), and every frame below 24 fps.
 */
describe('inference stride', () => {
  it('halves inference only with refinement at ≥ 24 fps', () => {
    expect(inferenceStride(true, 30)).toBe(2);
    expect(inferenceStride(true, 24)).toBe(2);
    expect(inferenceStride(true, 15)).toBe(1);
    expect(inferenceStride(false, 30)).toBe(1);
  });
});

describe.skipIf(!needSharedMedia())('inference stride on a real render', () => {
  let dir: string;
  let runs = 0;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bc-stride-'));
    // Count the real session's runs (the render loads the same, cached session).
    const { session } = await getModel(MODELS.selfie_general);
    const run = session.run.bind(session);
    session.run = ((...args: Parameters<typeof run>) => {
      runs++;
      return run(...args);
    }) as typeof session.run;
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  for (const refineEdges of [true, false]) {
    it(`runs the model on ${refineEdges ? 'every other frame' : 'every frame'} with refinement ${refineEdges ? 'on' : 'off'}`, async () => {
      runs = 0;
      const res = await renderOverlay(
        media('tiny_64x64.mp4'),
        await mkdtemp(join(dir, 'o-')),
        parseOverlayOptions({ formats: ['webm'], size: 64, keepAudio: false, refineEdges }),
      );
      expect(res.frames).toBeGreaterThan(20);
      expect(runs).toBe(refineEdges ? Math.ceil(res.frames / 2) : res.frames);
    });
  }
});
