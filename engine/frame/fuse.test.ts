import { describe, expect, it } from 'vitest';
import { clampToPrior, PriorFusion, rankFilter, upsampleTables } from './fuse.js';

/** A w×h float plane: 1 inside [x0,x1)×[y0,y1), 0 outside. */
function box(w: number, h: number, x0: number, y0: number, x1: number, y1: number, v = 1): Float32Array {
  const p = new Float32Array(w * h);
  for (let y = y0; y < y1; y++) p.fill(v, y * w + x0, y * w + x1);
  return p;
}
const sum = (p: Float32Array) => p.reduce((a, v) => a + v, 0);

describe('rank filters (the prior grown and shrunk)', () => {
  it('grow by r adds r pixels on every side; shrink by r removes them', () => {
    const w = 20;
    const src = box(w, w, 8, 8, 12, 12); // 4×4
    const tmp = new Float32Array(w * w);
    expect(sum(rankFilter(src, w, w, 2, true, tmp, new Float32Array(w * w)))).toBe(8 * 8);
    expect(sum(rankFilter(src, w, w, 1, false, tmp, new Float32Array(w * w)))).toBe(2 * 2);
    expect(sum(rankFilter(src, w, w, 0, true, tmp, new Float32Array(w * w)))).toBe(16);
    // At the frame's border the window is cut, not padded with zeros: a full plane stays full when shrunk.
    expect(sum(rankFilter(box(w, w, 0, 0, w, w), w, w, 3, false, tmp, new Float32Array(w * w)))).toBe(w * w);
  });
});

describe('fusion of a detailed map with a person prior', () => {
  // Detail grid 64×64, prior grid 16×16 (4× coarser, like ISNet 1024² over selfie 256²).
  const D = 64;
  const P = 16;
  const prior = box(P, P, 4, 4, 12, 16); // the person: prior pixels 4..11 wide, from row 4 to the bottom

  it('drops what the detail model finds far from the person, fills holes deep inside it, keeps the edge', () => {
    const detail = box(D, D, 16, 16, 48, 64, 1); // the person as the detail model sees it (same place)
    for (let y = 0; y < 8; y++) detail.fill(0.9, y * D + 0, y * D + 8); // a shelf in the top-left corner
    for (let y = 40; y < 44; y++) detail.fill(0.2, y * D + 28, y * D + 36); // a half-transparent shirt patch
    detail[16 * D + 14] = 0.8;
    detail[16 * D + 4] = 0.8; // hair two detail pixels outside the prior's edge (within the near band)
    const out = new PriorFusion(D, D, P, P, { nearRadius: 1, coreRadius: 1 }).fuse(detail, prior);
    for (let y = 0; y < 8; y++) for (let x = 0; x < 8; x++) expect(out[y * D + x]).toBe(0);
    for (let y = 40; y < 44; y++) for (let x = 28; x < 36; x++) expect(out[y * D + x]).toBe(1);
    expect(out[16 * D + 14]).toBeCloseTo(0.8, 6);
    expect(out[16 * D + 4]).toBe(0); // hair beyond the near band is cut
    expect(out[30 * D + 16]).toBe(1);
    expect(out[30 * D + 15]).toBe(0); // the edge itself follows the detail map, not the coarse prior
  });

  it('never leaves [core, near], and is the detail map between them', () => {
    const detail = Float32Array.from({ length: D * D }, (_, i) => ((i * 7919) % 1000) / 1000);
    const flat = new Float32Array(P * P).fill(0.5);
    const out = new PriorFusion(D, D, P, P, { nearRadius: 2, coreRadius: 2 }).fuse(detail, flat);
    for (let i = 0; i < out.length; i++) expect(out[i]).toBeCloseTo(0.5, 6); // core = near = 0.5: the prior decides
    const t = upsampleTables(D, D, P, P);
    const near = new Float32Array(P * P).fill(0.7);
    const core = new Float32Array(P * P).fill(0.3);
    const c = clampToPrior(detail, D, D, near, core, P, t, new Float32Array(D * D));
    for (let i = 0; i < c.length; i++) expect(c[i]).toBeCloseTo(Math.min(0.7, Math.max(0.3, detail[i])), 6);
    expect(Math.min(...c)).toBeCloseTo(0.3, 6);
    expect(Math.max(...c)).toBeCloseTo(0.7, 6);
  });

  it('refuses maps of the wrong size', () => {
    const f = new PriorFusion(D, D, P, P);
    expect(() => f.fuse(new Float32Array(10), prior)).toThrow(/sizes/);
  });
});
