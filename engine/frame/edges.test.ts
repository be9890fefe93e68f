import { describe, expect, it } from 'vitest';
import { EDGE_REFINE_DEFAULTS, EdgeRefiner, REFINED_SOFTNESS } from './edges.js';
import { samplingTable } from './preprocess.js';

/**
 * The refiner on synthetic frames where the right answer is known: a bright person on the left of a hard colour edge
 * at x = EDGE, and a model map whose 0.5 crossing is 7 px off and 6 px soft, as a 256² model's map of a 720 px
 * frame is.
 */
const W = 128;
const H = 96;
const EDGE = 61;
const MAP_EDGE = 68;
const MW = 32;
const MH = 24;

function frame(noise = 0, seed = 1): Uint8Array {
  const yuv = new Uint8Array((W * H * 3) / 2).fill(128);
  let s = seed;
  const rand = () => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32 - 0.5) * 2;
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) yuv[y * W + x] = (x < EDGE ? 200 : 40) + Math.round(rand() * noise);
  return yuv;
}

/** The model's map: person left of `edge` (frame px), a soft ramp, sampled at the model grid's cell centres. */
function modelMap(edge: number): Float32Array {
  const map = new Float32Array(MW * MH);
  for (let j = 0; j < MH; j++) {
    for (let i = 0; i < MW; i++) map[j * MW + i] = 1 / (1 + Math.exp(((i + 0.5) * (W / MW) - edge) / 3));
  }
  return map;
}

/** The model's map upsampled bilinearly to frame column x (what the compositor reads without refinement). */
function upsampled(map: Float32Array, x: number): number {
  const [i0, i1, w] = samplingTable(W, MW);
  const row = 12 * MW;
  return map[row + i0[x]] + (map[row + i1[x]] - map[row + i0[x]]) * w[x];
}

/** The compositor's soft threshold of a refined value. */
function alpha(q: number): number {
  const t = Math.min(1, Math.max(0, (q - REFINED_SOFTNESS.low) / (REFINED_SOFTNESS.high - REFINED_SOFTNESS.low)));
  return t * t * (3 - 2 * t);
}

const whole = { x0: 0, y0: 0, width: W, height: H };

describe('EdgeRefiner', () => {
  it('moves the edge onto the frame’s colour edge, which the upsampled map misses', () => {
    const map = modelMap(MAP_EDGE);
    const q = new EdgeRefiner(W, H, MW, MH).refine(frame(), map, whole);
    const y = 48;
    expect(upsampled(map, EDGE + 3)).toBeGreaterThan(0.5); // the model says "person" right of the colour edge
    // The 0.5 crossing sits on the colour edge; within two pixels of it the alpha is settled either way.
    expect(q[y * W + EDGE - 1]).toBeGreaterThan(0.5);
    expect(q[y * W + EDGE]).toBeLessThan(0.5);
    for (let x = 0; x < EDGE - 1; x++) expect(q[y * W + x], `x=${x}`).toBeGreaterThanOrEqual(REFINED_SOFTNESS.high);
    // Between the colour edge and the model's the fit compromises (the model insists on "person" there), but the
    // alpha the compositor makes of it stays under 0.1; beyond the model's edge it is exactly 0.
    for (let x = EDGE + 1; x < W; x++) expect(alpha(q[y * W + x]), `x=${x}`).toBeLessThan(x < MAP_EDGE ? 0.1 : 1e-9);
  });

  it('holds still when only compression noise changes, follows when the person moves', () => {
    const refiner = new EdgeRefiner(W, H, MW, MH);
    const map = modelMap(MAP_EDGE);
    const first = Float32Array.from(refiner.refine(frame(2, 1), map, whole));
    const again = refiner.refine(frame(2, 7), map, whole);
    expect(Array.from(again)).toEqual(Array.from(first));

    const moved = refiner.refine(frame(0), modelMap(30), whole);
    // The map now says "background" from x ≈ 30 on: a change far larger than the hold, followed at once.
    expect(first[48 * W + 45]).toBeGreaterThanOrEqual(REFINED_SOFTNESS.high);
    expect(moved[48 * W + 45]).toBeLessThan(0.5);
  });

  it('without the hold, noise reaches the output (the hold is what keeps a still scene still)', () => {
    const refiner = new EdgeRefiner(W, H, MW, MH, { ...EDGE_REFINE_DEFAULTS, deadband: 0, stillDeadband: 0 });
    const map = modelMap(MAP_EDGE);
    const first = Float32Array.from(refiner.refine(frame(2, 1), map, whole));
    const again = refiner.refine(frame(2, 7), map, whole);
    expect(Array.from(again)).not.toEqual(Array.from(first));
  });

  it('holds harder where only the colours changed (a keyframe on a still scene), not where the map moved', () => {
    // Refit on every frame, so the second frame's fit sees whether the model's map moved.
    const params = { ...EDGE_REFINE_DEFAULTS, fitEvery: 1 };
    const changed = (stillDeadband: number, secondMap: Float32Array) => {
      const refiner = new EdgeRefiner(W, H, MW, MH, { ...params, stillDeadband });
      const first = Float32Array.from(refiner.refine(frame(6, 1), modelMap(MAP_EDGE), whole));
      const second = refiner.refine(frame(6, 7), secondMap, whole);
      return { count: first.filter((v, i) => v !== second[i]).length, second: Float32Array.from(second) };
    };
    const plain = EDGE_REFINE_DEFAULTS.deadband;
    // Same map, new noise: the firmer hold lets through fewer of the colour-only changes than the plain one.
    const firm = changed(EDGE_REFINE_DEFAULTS.stillDeadband, modelMap(MAP_EDGE));
    const loose = changed(plain, modelMap(MAP_EDGE));
    expect(loose.count).toBeGreaterThan(0);
    expect(firm.count).toBeLessThan(loose.count / 2);
    // The map moved by 3 px: there the plain hold applies, so both refiners give the same pixels along the edge.
    const movedFirm = changed(EDGE_REFINE_DEFAULTS.stillDeadband, modelMap(MAP_EDGE - 3));
    const movedLoose = changed(plain, modelMap(MAP_EDGE - 3));
    for (let y = 0; y < H; y++) {
      for (let x = EDGE - 8; x < MAP_EDGE + 4; x++) expect(movedFirm.second[y * W + x], `(${x},${y})`).toBe(movedLoose.second[y * W + x]);
    }
  });

  it('writes only the region it is asked for', () => {
    const refiner = new EdgeRefiner(W, H, MW, MH);
    refiner.out.fill(-1);
    const region = { x0: 40, y0: 20, width: 48, height: 40 };
    const q = refiner.refine(frame(), modelMap(MAP_EDGE), region);
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const inside = x >= 40 && x < 88 && y >= 20 && y < 60;
        expect(q[y * W + x] === -1, `(${x},${y})`).toBe(!inside);
      }
    }
  });
});
