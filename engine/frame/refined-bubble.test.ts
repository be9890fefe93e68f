import { describe, expect, it } from 'vitest';
import { Compositor } from './compose.js';
import { EdgeRefiner, REFINED_SOFTNESS } from './edges.js';
import { RefinedBubble } from './refined-bubble.js';
import { buildShapeMask } from './shape.js';

/**
 * The kernel's bubble against the JS compositor on the same refined map: a noisy frame with a person left of a
 * colour edge (colour in U/V too), a model map whose edge is off and soft, a feathered circle at moving crops.
 */
const W = 160;
const H = 120;
const MW = 40;
const MH = 30;
const SIDE = 96;

function frame(seed: number): Uint8Array {
  const yuv = new Uint8Array((W * H * 3) / 2);
  let s = seed;
  const noise = () => (((s = (s * 1103515245 + 12345) >>> 0) >>> 24) % 9) - 4;
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) yuv[y * W + x] = (x + y / 3 < 75 ? 190 : 50) + noise();
  const cw = W / 2;
  for (let y = 0; y < H / 2; y++) {
    for (let x = 0; x < cw; x++) {
      yuv[W * H + y * cw + x] = 90 + x + noise();
      yuv[W * H + (W * H) / 4 + y * cw + x] = 160 - y + noise();
    }
  }
  return yuv;
}

function modelMap(edge: number): Float32Array {
  const map = new Float32Array(MW * MH);
  for (let j = 0; j < MH; j++) {
    for (let i = 0; i < MW; i++) map[j * MW + i] = 1 / (1 + Math.exp(((i + 0.5) * (W / MW) + ((j + 0.5) * (H / MH)) / 3 - edge) / 4));
  }
  return map;
}

describe('RefinedBubble (the refine kernel cuts the bubble)', () => {
  const shape = buildShapeMask(SIDE, 'circle', 6, 0, null);

  it('writes the same bytes as the compositor on the refined map, frame after frame, crop moving', () => {
    const refiner = new EdgeRefiner(W, H, MW, MH, undefined, RefinedBubble.bytes(SIDE));
    const bubble = new RefinedBubble(refiner, shape, REFINED_SOFTNESS);
    const compositor = new Compositor(W, H, W, H, shape, REFINED_SOFTNESS);
    const crops = [[20, 10], [22, 12], [40, 20], [0, 0], [64, 24], [30, 14]];
    let visible = 0;
    let partial = 0;
    crops.forEach(([x0, y0], f) => {
      const yuv = frame(f + 1);
      const map = refiner.refine(yuv, modelMap(80 + f * 3), { x0: x0!, y0: y0!, width: SIDE, height: SIDE });
      const expected = new Uint8Array((SIDE * SIDE * 5) / 2);
      compositor.composeYuv(yuv, map, x0!, y0!, expected);
      const got = new Uint8Array(expected.length).fill(7);
      bubble.composeYuv(x0!, y0!, got);
      expect(Buffer.from(got).equals(Buffer.from(expected)), `crop (${x0},${y0})`).toBe(true);
      const alpha = expected.subarray(SIDE * SIDE * 1.5);
      visible += alpha.filter((a) => a > 0).length;
      partial += alpha.filter((a) => a > 0 && a < 255).length;
    });
    // The comparison covered what matters: opaque person, soft edge, and transparent background.
    expect(visible).toBeGreaterThan(crops.length * SIDE * SIDE * 0.2);
    expect(partial).toBeGreaterThan(crops.length * SIDE);
  });

  it('refuses a crop outside what the refiner last refined (it would read stale rows)', () => {
    const refiner = new EdgeRefiner(W, H, MW, MH, undefined, RefinedBubble.bytes(SIDE));
    const bubble = new RefinedBubble(refiner, shape, REFINED_SOFTNESS);
    const out = new Uint8Array((SIDE * SIDE * 5) / 2);
    expect(() => bubble.composeYuv(0, 0, out)).toThrow(/outside the region/);
    refiner.refine(frame(1), modelMap(80), { x0: 10, y0: 10, width: SIDE, height: SIDE });
    expect(() => bubble.composeYuv(12, 10, out)).toThrow(/outside the region/);
    expect(() => bubble.composeYuv(10, 10, out)).not.toThrow();
  });
});
