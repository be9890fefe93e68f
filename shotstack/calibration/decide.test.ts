import { describe, expect, it } from 'vitest';
import type { RgbFrame } from '../probe-media.js';
import type { RendererReadings } from '../readings.js';
import { decideReadings, type ProbeFrames } from './decide.js';
import { ALPHA_DISC, ALPHA_LAYOUT, expectedSide, LUMA_LAYOUT, MATTE_DISC, PROBE_SIZES, type Spot } from './probes.js';

/**
 * decide.ts from synthetic frames: a tiny painter draws what a service with given readings would show for each
 * probe (probes.ts describes the layout), optionally with a fault; the decision must name exactly those readings,
 * or refuse with a reason when the pixels do not fit any reading.
 */
type Colour = [number, number, number];
const RED: Colour = [250, 12, 8];
const BLUE: Colour = [6, 10, 248];

interface Tweaks {
  /** Readings the 9:16 probe is painted with instead (a service that contradicts itself). */
  tall?: Partial<RendererReadings>;
  ignoreMatte?: boolean;
  /** Multiplies every square's side in the 1:1 probe. */
  squareSideFactor?: number;
  /** Moves the 16:9 reference square right by this many pixels. */
  referenceShiftPx?: number;
  /** Paints the alpha WebM square in this colour instead of red. */
  webmColour?: Colour;
}

function blankFrame(width: number, height: number): RgbFrame {
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < data.length; i += 3) data.set(BLUE, i);
  return { width, height, data };
}

/** Paints, for every pixel centre inside the square of `side` centred on `spot`, the colour `colourAt` gives (null = leave). */
function paintSquare(f: RgbFrame, spot: Spot, side: number, colourAt: (x: number, y: number, cx: number, cy: number) => Colour | null, shiftPx = 0) {
  const cx = spot.x * f.width + shiftPx;
  const cy = spot.y * f.height;
  for (let y = 0; y < f.height; y++) {
    for (let x = 0; x < f.width; x++) {
      if (Math.abs(x + 0.5 - cx) >= side / 2 || Math.abs(y + 0.5 - cy) >= side / 2) continue;
      const c = colourAt(x + 0.5, y + 0.5, cx, cy);
      if (c) f.data.set(c, (y * f.width + x) * 3);
    }
  }
}

function paintLuma(name: 'wide' | 'tall', r: RendererReadings, t: Tweaks): RgbFrame {
  const { width: W, height: H } = PROBE_SIZES[name];
  const f = blankFrame(W, H);
  const side = expectedSide(r.scale, PROBE_SIZES[name]);
  const { squares } = LUMA_LAYOUT[name];
  paintSquare(f, squares.reference, side, () => RED, name === 'wide' ? t.referenceShiftPx : 0);
  const white = (x: number, y: number, cx: number, cy: number) =>
    r.lumaGeometry === 'clip'
      ? Math.hypot(x - cx, y - cy) < MATTE_DISC * side
      : ((x - W / 2) / (MATTE_DISC * W)) ** 2 + ((y - H / 2) / (MATTE_DISC * H)) ** 2 < 1;
  const masked = (x: number, y: number, cx: number, cy: number) =>
    t.ignoreMatte || white(x, y, cx, cy) === (r.luma === 'white-visible') ? RED : null;
  paintSquare(f, squares.centred, side, masked);
  paintSquare(f, squares.outer, side, masked);
  return f;
}

function paintAlpha(r: RendererReadings, t: Tweaks): RgbFrame {
  const f = blankFrame(PROBE_SIZES.square.width, PROBE_SIZES.square.height);
  const side = expectedSide(r.scale, PROBE_SIZES.square) * (t.squareSideFactor ?? 1);
  const { squares } = ALPHA_LAYOUT;
  paintSquare(f, squares.reference, side, () => RED);
  for (const format of ['webm', 'mov'] as const) {
    const colour = format === 'webm' ? (t.webmColour ?? RED) : RED;
    const kept = (format === 'webm' ? r.alphaWebm : r.alphaMov) === 'kept';
    paintSquare(f, squares[format], side, (x, y, cx, cy) => (!kept || Math.hypot(x - cx, y - cy) < ALPHA_DISC * side ? colour : null));
  }
  return f;
}

function paintProbes(r: RendererReadings, t: Tweaks = {}): ProbeFrames {
  return { wide: paintLuma('wide', r, t), tall: paintLuma('tall', { ...r, ...t.tall }, t), square: paintAlpha(r, t) };
}

function allReadings(): RendererReadings[] {
  const out: RendererReadings[] = [];
  for (const luma of ['white-visible', 'white-transparent'] as const)
    for (const lumaGeometry of ['clip', 'viewport'] as const)
      for (const scale of ['fit', 'width', 'height'] as const)
        for (const alphaWebm of ['kept', 'lost'] as const)
          for (const alphaMov of ['kept', 'lost'] as const) out.push({ luma, lumaGeometry, scale, alphaWebm, alphaMov });
  return out;
}

const BASE: RendererReadings = { luma: 'white-visible', lumaGeometry: 'clip', scale: 'fit', alphaWebm: 'kept', alphaMov: 'lost' };

describe('decideReadings', () => {
  it('names exactly the readings the frames were painted with, for all 48 combinations', () => {
    for (const r of allReadings()) {
      const d = decideReadings(paintProbes(r));
      expect({ r, problems: d.problems }).toEqual({ r, problems: [] });
      expect(d.readings).toEqual(r);
    }
  });

  it('reads through a semi-transparent white watermark over the whole frame', () => {
    for (const r of [BASE, { ...BASE, luma: 'white-transparent', lumaGeometry: 'viewport', scale: 'width' } as const]) {
      const frames = paintProbes(r);
      for (const f of Object.values(frames)) for (let i = 0; i < f.data.length; i++) f.data[i] = Math.round(f.data[i]! * 0.6 + 255 * 0.4);
      expect(decideReadings(frames).readings).toEqual(r);
    }
  });

  it('refuses when the matte was ignored', () => {
    const d = decideReadings(paintProbes(BASE, { ignoreMatte: true }));
    expect(d.readings).toBeUndefined();
    expect(d.decided.luma).toBeUndefined();
    expect(d.problems.join('\n')).toMatch(/luma matte was ignored/);
    // the other readings are still decided
    expect(d.decided).toMatchObject({ scale: 'fit', alphaWebm: 'kept', alphaMov: 'lost' });
  });

  it('refuses when the 16:9 and 9:16 probes read the luma differently', () => {
    const d = decideReadings(paintProbes(BASE, { tall: { luma: 'white-transparent' } }));
    expect(d.readings).toBeUndefined();
    expect(d.problems.join('\n')).toMatch(/probes disagree.*16:9 reads white-visible\/clip, 9:16 reads white-transparent\/clip/);
  });

  it('refuses a scale the 16:9 and 9:16 sides do not both fit', () => {
    // width at 16:9 and height at 9:16 is no single reading (the side is 0.25 of the long side in both)
    const d = decideReadings(paintProbes({ ...BASE, scale: 'width' }, { tall: { scale: 'height' } }));
    expect(d.decided.scale).toBeUndefined();
    expect(d.problems.join('\n')).toMatch(/scale: the reference measures \d+ px at 16:9 and \d+ px at 9:16, which fits no reading/);
  });

  it('refuses when the 1:1 side matches no reading', () => {
    const d = decideReadings(paintProbes(BASE, { squareSideFactor: 1.4 }));
    expect(d.decided.scale).toBeUndefined();
    expect(d.problems.join('\n')).toMatch(/at 1:1 the reference is \d+ px, but every scale reading gives 60 px/);
  });

  it('refuses when position + offset did not put the reference where documented', () => {
    const d = decideReadings(paintProbes(BASE, { referenceShiftPx: 12 }));
    expect(d.readings).toBeUndefined();
    expect(d.problems.join('\n')).toMatch(/wide probe: the reference square is centred at .* position\/offset are not read as documented/);
  });

  it('calls a colour that is neither red nor blue inconclusive, never a reading', () => {
    const purple: Colour = [150, 20, 150];
    const d = decideReadings(paintProbes(BASE, { webmColour: purple }));
    expect(d.decided.alphaWebm).toBeUndefined();
    expect(d.decided.alphaMov).toBe('lost');
    expect(d.problems.join('\n')).toMatch(/alpha-webm: the video is not drawn: its centre \(\d+, \d+\) rgb\(150, 20, 150\)/);
  });

  it('refuses a frame of another size and a frame without the blue background', () => {
    const frames = paintProbes(BASE);
    frames.tall = blankFrame(176, 320);
    frames.square.data.fill(30);
    const d = decideReadings(frames);
    expect(d.problems.join('\n')).toMatch(/tall probe: the frame is 176×320, not the 180×320/);
    expect(d.problems.join('\n')).toMatch(/square probe: the background at .* is not the timeline's blue/);
    expect(d.decided).toEqual({});
  });
});
