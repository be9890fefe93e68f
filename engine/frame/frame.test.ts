import { describe, expect, it } from 'vitest';
import { Compositor, rgbToYuv601 } from './compose.js';
import { CenterTracker, measurePerson } from './person.js';
import { buildShapeMask } from './shape.js';
import { MaskSmoother } from './smoothing.js';

describe('shape masks', () => {
  it('circle: opaque centre, transparent corners, soft edge of about the feather width', () => {
    const s = buildShapeMask(100, 'circle', 8, 0, null);
    expect(s.alpha[50 * 100 + 50]).toBe(1);
    expect(s.alpha[0]).toBe(0);
    expect(s.alpha[99 * 100 + 99]).toBe(0);
    const edge = Array.from({ length: 50 }, (_, x) => s.alpha[50 * 100 + x]);
    const soft = edge.filter((a) => a > 0 && a < 1).length;
    expect(soft).toBeGreaterThanOrEqual(6);
    expect(soft).toBeLessThanOrEqual(10);
    expect(s.spanStart[0]).toBeGreaterThan(30); // top row only covers the middle of a circle
  });

  it('rect covers the corners, rounded does not', () => {
    const rect = buildShapeMask(64, 'rect', 1, 0, null);
    const rounded = buildShapeMask(64, 'rounded', 1, 0.25, null);
    expect(rect.alpha[1 * 64 + 1]).toBeGreaterThan(0.4);
    expect(rounded.alpha[1 * 64 + 1]).toBe(0);
    expect(rounded.alpha[32 * 64 + 1]).toBeGreaterThan(0.4);
  });

  it('border ring lies just inside the edge', () => {
    const s = buildShapeMask(100, 'circle', 1, 0, { widthPx: 4, color: '#ff0000' });
    expect(s.ring![50 * 100 + 2]).toBeGreaterThan(0.9);
    expect(s.ring![50 * 100 + 50]).toBe(0);
    expect(s.ringRgb).toEqual([255, 0, 0]);
  });
});

describe('mask smoothing', () => {
  it('damps small jitter but follows a real change at once', () => {
    const sm = new MaskSmoother(0.7);
    const n = 1000;
    let raw = 0;
    let smooth = 0;
    let prevRaw = new Float32Array(n).fill(0.5);
    let prevSmooth = Float32Array.from(sm.update(prevRaw));
    let seed = 1;
    const rnd = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
    for (let f = 0; f < 50; f++) {
      const p = Float32Array.from({ length: n }, () => 0.5 + (rnd() - 0.5) * 0.1);
      const s = Float32Array.from(sm.update(p));
      for (let i = 0; i < n; i++) {
        raw += Math.abs(p[i] - prevRaw[i]);
        smooth += Math.abs(s[i] - prevSmooth[i]);
      }
      prevRaw = p;
      prevSmooth = s;
    }
    expect(smooth).toBeLessThan(raw * 0.5);
    const jump = sm.update(new Float32Array(n).fill(1));
    expect(jump[0]).toBeGreaterThan(0.97);
  });

  it('strength 0 is a pass-through', () => {
    const p = new Float32Array([0.1, 0.9]);
    expect(new MaskSmoother(0).update(p)).toBe(p);
  });
});

describe('person tracking', () => {
  const map = (fill: (x: number, y: number) => number) =>
    Float32Array.from({ length: 64 * 64 }, (_, i) => fill(i % 64, Math.floor(i / 64)));

  it('measures coverage, top edge and head position', () => {
    const m = map((x, y) => (x >= 40 && x < 56 && y >= 16 ? 1 : 0));
    const s = measurePerson(m, 64, 64);
    expect(s.coverage).toBeCloseTo((16 * 48) / 4096, 3);
    expect(s.top).toBeCloseTo(16 / 64, 3);
    expect(s.headX).toBeCloseTo(48 / 64, 2);
  });

  it('follows the head, stays in frame, ignores jitter and holds when nobody is there', () => {
    const t = new CenterTracker(1280, 720, 400, null);
    const first = t.next({ coverage: 0.2, top: 0.1, headX: 0.75 });
    expect(first.x).toBe(Math.round(0.75 * 1280 - 200));
    expect(first.y).toBeGreaterThanOrEqual(0);
    expect(t.next({ coverage: 0.2, top: 0.1, headX: 0.751 })).toEqual(first); // inside the dead zone
    expect(t.next({ coverage: 0, top: 0, headX: 0.5 })).toEqual(first); // nobody: hold
    const far = t.next({ coverage: 0.2, top: 0.1, headX: 0.99 });
    expect(far.x).toBeGreaterThan(first.x);
    for (let i = 0; i < 200; i++) t.next({ coverage: 0.2, top: 0.1, headX: 0.99 });
    expect(t.next({ coverage: 0.2, top: 0.1, headX: 0.99 }).x).toBe(1280 - 400); // clamped to the frame
  });
});

describe('compositor', () => {
  it('keeps person pixels inside the shape and clears everything else', () => {
    const W = 40;
    const H = 40;
    const rgb = new Uint8Array(W * H * 3).fill(200);
    const shape = buildShapeMask(40, 'circle', 1, 0, null);
    const c = new Compositor(W, H, 8, 8, shape);
    const mask = Float32Array.from({ length: 64 }, (_, i) => (i % 8 < 4 ? 1 : 0)); // left half is the person
    const out = new Uint8Array(40 * 40 * 4);
    c.compose(rgb, mask, 0, 0, out);
    const px = (x: number, y: number) => Array.from(out.subarray((y * 40 + x) * 4, (y * 40 + x) * 4 + 4));
    expect(px(10, 20)).toEqual([200, 200, 200, 255]);
    expect(px(30, 20)).toEqual([0, 0, 0, 0]); // background: colour zeroed too
    expect(px(0, 0)).toEqual([0, 0, 0, 0]); // outside the circle
    const gray = new Uint8Array(W * H);
    c.fullMask(mask, gray);
    expect(gray[20 * W + 5]).toBe(255);
    expect(gray[20 * W + 35]).toBe(0);
  });

  it('YUV twin: planes copied where the person is, black (16/128/128) and alpha 0 elsewhere, ring in YUV', () => {
    const W = 48;
    const H = 40;
    const yuv = new Uint8Array((W * H * 3) / 2);
    yuv.fill(180, 0, W * H); // Y
    yuv.fill(100, W * H, W * H + (W * H) / 4); // U
    yuv.fill(150, W * H + (W * H) / 4); // V
    const S = 40;
    const mask = Float32Array.from({ length: 64 }, (_, i) => (i % 8 < 4 ? 1 : 0)); // left half is the person
    const px = (out: Uint8Array, x: number, y: number) => {
      const c = S * S + (y >> 1) * (S / 2) + (x >> 1);
      return [out[y * S + x], out[c], out[c + (S * S) / 4], out[(S * S * 3) / 2 + y * S + x]];
    };
    const plain = new Compositor(W, H, 8, 8, buildShapeMask(S, 'circle', 1, 0, null));
    const out = new Uint8Array((S * S * 5) / 2);
    plain.composeYuv(yuv, mask, 4, 0, out);
    expect(px(out, 10, 20)).toEqual([180, 100, 150, 255]);
    expect(px(out, 34, 20)).toEqual([16, 128, 128, 0]);
    expect(px(out, 0, 0)).toEqual([16, 128, 128, 0]);
    expect(() => plain.composeYuv(yuv, mask, 3, 0, out)).toThrow();

    expect(rgbToYuv601(255, 255, 255)).toEqual([235, 128, 128]);
    expect(rgbToYuv601(0, 0, 0)).toEqual([16, 128, 128]);
    const ringed = new Compositor(W, H, 8, 8, buildShapeMask(S, 'circle', 1, 0, { widthPx: 4, color: '#ff0000' }));
    ringed.composeYuv(yuv, mask, 4, 0, out);
    const red = rgbToYuv601(255, 0, 0);
    // On the ring, over the background (right edge, middle row): the ring colour, opaque.
    const [y, u, v, a] = px(out, 37, 20);
    expect(a).toBeGreaterThan(200);
    expect(Math.abs(y - red[0])).toBeLessThanOrEqual(2);
    expect(Math.abs(u - red[1])).toBeLessThanOrEqual(2);
    expect(Math.abs(v - red[2])).toBeLessThanOrEqual(2);
  });
  it('YUV twin, fast path: the same alpha as the per-pixel RGB path, luma and chroma exactly where it is visible', () => {
    // Geometries: a mask coarser than the frame (cells of several pixels) and one finer (cells with no pixel).
    for (const [W, H, mw, mh, S] of [[96, 64, 20, 16, 60], [30, 24, 40, 40, 24]] as const) {
      let seed = 7;
      const rand = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
      // Certain person (1), certain background (0), a ramp, a hole, and noise around the soft threshold.
      const mask = Float32Array.from({ length: mw * mh }, (_, i) => {
        const x = i % mw;
        const y = Math.floor(i / mw);
        if (x > mw * 0.6) return 0;
        if (x === Math.floor(mw * 0.3) && y > mh / 2) return 0.1;
        if (x > mw * 0.45) return 0.2 + 0.6 * rand();
        return x < 2 ? x / 2 : 1;
      });
      const yuv = Uint8Array.from({ length: (W * H * 3) / 2 }, () => 20 + Math.floor(rand() * 200));
      const rgb = new Uint8Array(W * H * 3);
      const c = new Compositor(W, H, mw, mh, buildShapeMask(S, 'circle', 3, 0, null));
      for (const [x0, y0] of [[0, 0], [W - S, H - S], [(W - S) & ~3, 2]]) {
        const out = new Uint8Array((S * S * 5) / 2).fill(77); // stale bytes from a previous frame
        c.composeYuv(yuv, mask, x0, y0, out);
        const rgba = new Uint8Array(S * S * 4);
        c.compose(rgb, mask, x0, y0, rgba);
        const alpha = out.subarray((S * S * 3) / 2);
        let visible = 0;
        for (let y = 0; y < S; y++) {
          for (let x = 0; x < S; x++) {
            const a = rgba[(y * S + x) * 4 + 3];
            expect(alpha[y * S + x]).toBe(a);
            expect(out[y * S + x]).toBe(a ? yuv[(y0 + y) * W + x0 + x] : 16);
            if (a) visible++;
          }
        }
        expect(visible).toBeGreaterThan(S * 2); // the case is not trivially empty
        for (let cy = 0; cy < S / 2; cy++) {
          for (let cx = 0; cx < S / 2; cx++) {
            const seen = [0, 1].some((dy) => [0, 1].some((dx) => alpha[(2 * cy + dy) * S + 2 * cx + dx] > 0));
            const src = ((y0 >> 1) + cy) * (W / 2) + (x0 >> 1) + cx;
            expect(out[S * S + cy * (S / 2) + cx]).toBe(seen ? yuv[W * H + src] : 128);
            expect(out[S * S + (S * S) / 4 + cy * (S / 2) + cx]).toBe(seen ? yuv[W * H + (W * H) / 4 + src] : 128);
          }
        }
      }
    }
  });
  it('full-frame mask: the same bytes as the per-pixel path (a rect bubble covering a square frame)', () => {
    for (const [S, mw] of [[64, 20], [24, 40]] as const) {
      const mask = Float32Array.from({ length: mw * mw }, (_, i) => {
        const x = i % mw;
        return x < mw / 3 ? 1 : x < mw / 2 ? ((i * 7919) % 101) / 100 : x === mw - 2 ? 0.3 : 0;
      });
      const c = new Compositor(S, S, mw, mw, buildShapeMask(S, 'rect', 1, 0, null));
      const gray = new Uint8Array(S * S).fill(9);
      c.fullMask(mask, gray);
      const rgba = new Uint8Array(S * S * 4);
      c.compose(new Uint8Array(S * S * 3), mask, 0, 0, rgba);
      // The rect's feather touches only the outermost pixels: inside, the bubble's alpha is the person's alpha.
      for (let y = 1; y < S - 1; y++) for (let x = 1; x < S - 1; x++) expect(gray[y * S + x]).toBe(rgba[(y * S + x) * 4 + 3]);
      expect(gray.includes(255) && gray.includes(0)).toBe(true);
    }
  });
});
