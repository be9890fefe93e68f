import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probeMedia } from '../common/ffmpeg.js';
import { readFrames } from '../testing/media.js';
import { makeCircleMatte, makeTempDir } from '../testing/shotstack-media.js';
import { prepareMatte, type MatteFrame } from './matte.js';

/**
 * The matte forms made from the engine's square matte, read back as grey pixels: the viewport form must put the
 * disc exactly at the bubble's place on a black frame (white frame when inverted).
 */
let tmp: { dir: string; cleanup: () => Promise<void> };
let square: string;
// An odd corner on purpose: the canvas must not round it to even pixels.
const FRAME: MatteFrame = { width: 160, height: 96, x: 91, y: 21, side: 48 };

beforeAll(async () => {
  tmp = await makeTempDir('matte-test-');
  // Radius 0.5 of the side: the disc touches the square's edges, like the engine's bubble.
  square = await makeCircleMatte(join(tmp.dir, 'matte.mp4'), { size: 64, durationSec: 0.4, radiusFraction: 0.5 });
});
afterAll(async () => {
  await tmp?.cleanup();
});

async function greyFrame(file: string, width: number): Promise<(x: number, y: number) => number> {
  const buf = await readFrames(file, { pixFmt: 'gray', from: 2, count: 1 });
  return (x, y) => buf[y * width + x]!;
}

/** The first and last white column on row `y`. */
function whiteSpan(px: (x: number, y: number) => number, width: number, y: number, white: (v: number) => boolean): [number, number] {
  const xs = Array.from({ length: width }, (_, x) => x).filter((x) => white(px(x, y)));
  return [xs[0] ?? -1, xs.at(-1) ?? -1];
}

describe('prepareMatte', () => {
  it('square: the engine matte itself, no new file', async () => {
    expect(await prepareMatte('square', square, tmp.dir, FRAME)).toBe(square);
  });

  it('square-inverted: same size, black disc on white', async () => {
    const out = await prepareMatte('square-inverted', square, tmp.dir, FRAME);
    expect((await probeMedia(out)).video).toMatchObject({ width: 64, height: 64 });
    const px = await greyFrame(out, 64);
    expect(px(32, 32)).toBeLessThan(40);
    expect(px(2, 2)).toBeGreaterThan(215);
  });

  for (const variant of ['viewport', 'viewport-inverted'] as const) {
    it(`${variant}: a ${FRAME.width}×${FRAME.height} frame with the disc at the bubble's pixel place`, async () => {
      const out = await prepareMatte(variant, square, tmp.dir, FRAME);
      const info = await probeMedia(out);
      expect(info.video).toMatchObject({ width: FRAME.width, height: FRAME.height });
      expect(info.durationSec).toBeCloseTo(0.4, 1);
      const px = await greyFrame(out, FRAME.width);
      const inverted = variant === 'viewport-inverted';
      const shows = (v: number) => (inverted ? v < 40 : v > 215);
      // Hidden means fully hidden, the same inside the bubble's square as on the canvas around it: a few levels
      // of difference would show as a faint square outline round the bubble.
      const hides = (v: number) => (inverted ? v >= 251 : v <= 4);
      const cx = FRAME.x + FRAME.side / 2;
      const cy = FRAME.y + FRAME.side / 2;
      expect(shows(px(cx, cy)), `centre ${px(cx, cy)}`).toBe(true);
      // The disc spans the bubble's side on its middle row and column, ±2 px (soft edge, chroma-free rounding).
      const [left, right] = whiteSpan(px, FRAME.width, cy, shows);
      expect(Math.abs(left - FRAME.x)).toBeLessThanOrEqual(2);
      expect(Math.abs(right - (FRAME.x + FRAME.side - 1))).toBeLessThanOrEqual(2);
      const column = (y: number) => px(cx, y);
      const rows = Array.from({ length: FRAME.height }, (_, y) => y).filter((y) => shows(column(y)));
      expect(Math.abs(rows[0]! - FRAME.y)).toBeLessThanOrEqual(2);
      expect(Math.abs(rows.at(-1)! - (FRAME.y + FRAME.side - 1))).toBeLessThanOrEqual(2);
      // Everything else hides: the square's corners (outside the disc) and the rest of the frame.
      for (const [x, y] of [[FRAME.x + 3, FRAME.y + 3], [FRAME.x + FRAME.side - 4, FRAME.y + FRAME.side - 4], [5, 5], [FRAME.width - 3, FRAME.height - 3], [40, cy]]) {
        expect(hides(px(x!, y!)), `(${x},${y}) = ${px(x!, y!)}`).toBe(true);
      }
    });
  }
});
