import { describe, expect, it } from 'vitest';
import { binarize, dilateDisk, edgeBand, edgeOf, iou, meanAbsError, scoreFrame, summarize } from './metrics.js';

/** A w×h 8-bit plane with value `v` inside the axis-aligned rectangle [x0,x1)×[y0,y1) and 0 elsewhere. */
function rect(w: number, h: number, x0: number, y0: number, x1: number, y1: number, v = 255): Uint8Array {
  const p = new Uint8Array(w * h);
  for (let y = y0; y < y1; y++) p.fill(v, y * w + x0, y * w + x1);
  return p;
}

describe('quality metrics on hand-made planes', () => {
  it('IoU at 0.5: 8-bit cut at 128, float at 0.5, both empty = 1', () => {
    const gt = rect(10, 10, 0, 0, 10, 5); // 50 px
    const pred = rect(10, 10, 0, 0, 10, 4); // 40 px, all inside
    expect(iou(pred, gt)).toBeCloseTo(40 / 50, 12);
    expect(iou(rect(10, 10, 0, 0, 10, 5, 127), gt)).toBe(0); // 127/255 < 0.5
    expect(iou(rect(10, 10, 0, 0, 10, 5, 128), gt)).toBe(1);
    const f = Float32Array.from(gt, (v) => (v ? 0.5 : 0.49));
    expect(iou(f, gt)).toBe(1);
    expect(iou(new Uint8Array(4), new Uint8Array(4))).toBe(1);
    expect(() => iou(new Uint8Array(4), new Uint8Array(5))).toThrow(/differ/);
  });

  it('edge: the pixels on both sides of the 0.5 crossing, nothing else', () => {
    const e = edgeOf(binarize(rect(6, 6, 2, 2, 4, 4)), 6, 6);
    // A 2×2 square: its own 4 pixels plus their 8 outside 4-neighbours.
    expect(e.reduce((a, v) => a + v, 0)).toBe(12);
    expect(e[0]).toBe(0);
    expect(e[1 * 6 + 2]).toBe(1);
    expect(e[1 * 6 + 1]).toBe(0); // diagonal neighbour only
  });

  it('disk dilation covers distance ≤ r exactly', () => {
    const w = 41;
    const one = new Uint8Array(w * w);
    one[20 * w + 20] = 1;
    const band = dilateDisk(one, w, w, 8);
    let n = 0;
    for (let y = 0; y < w; y++) {
      for (let x = 0; x < w; x++) {
        const inside = (x - 20) ** 2 + (y - 20) ** 2 <= 64;
        expect(band[y * w + x]).toBe(inside ? 1 : 0);
        n += band[y * w + x];
      }
    }
    expect(n).toBe(197); // lattice points in a disk of radius 8
  });

  it('band IoU and band |α error| see a shift that whole-frame IoU hardly sees', () => {
    const w = 200;
    const h = 200;
    const gt = rect(w, h, 20, 20, 180, 180);
    const shifted = rect(w, h, 24, 20, 184, 180); // 4 px to the right
    const s = scoreFrame(shifted, gt, w, h);
    expect(s.iou).toBeCloseTo((156 * 160) / (164 * 160), 10);
    const band = edgeBand(gt, w, h);
    const bandGt = binarize(gt).reduce((a, v, i) => a + (band[i] ? v : 0), 0);
    expect(s.bandIou).toBeLessThan(s.iou - 0.1);
    // In the band, the prediction misses 4 columns on the left and adds 4 on the right: 640 + 640 wrong pixels.
    const bandPixels = band.reduce((a, v) => a + v, 0);
    expect(s.bandMae).toBeCloseTo(1280 / bandPixels, 10);
    expect(s.bandIou).toBeCloseTo((bandGt - 640) / (bandGt + 640), 10);
    expect(meanAbsError(shifted, gt)).toBeCloseTo(1280 / (w * h), 10);
    const perfect = scoreFrame(gt, gt, w, h);
    expect([perfect.iou, perfect.bandIou, perfect.bandMae]).toEqual([1, 1, 0]);
  });

  it('summarize: means, the worst frame and its index', () => {
    const s = summarize([
      { iou: 0.9, bandIou: 0.8, bandMae: 0.1 },
      { iou: 0.7, bandIou: 0.6, bandMae: 0.3 },
      { iou: 0.8, bandIou: 0.7, bandMae: 0.2 },
    ]);
    expect(s).toMatchObject({ frames: 3, minIou: 0.7, minIouFrame: 1 });
    expect(s.meanIou).toBeCloseTo(0.8, 12);
    expect(s.bandIou).toBeCloseTo(0.7, 12);
    expect(s.bandMae).toBeCloseTo(0.2, 12);
    expect(() => summarize([])).toThrow();
  });
});
