import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { frameAt, isBlue, isRed, makeCircleMatte, makeSolidVideo, makeTempDir, type Rgb } from '../../testing/shotstack-media.js';
import { createShotstackClient, type ShotstackClient } from '../client.js';
import { DEFAULT_READINGS } from '../readings.js';
import { bubblePlacement, buildBubbleEdit, type BubbleEditOptions } from '../timeline.js';
import { startLocalShotstack, type LocalShotstack } from './server.js';

/**
 * Golden renders of the bubble ring: blue background, red disc bubble, a yellow ring drawn by the local renderer
 * from the builder's shape asset. Probed along the bubble's axes: red inside, yellow just outside the bubble's
 * edge, blue past the ring; and at the corner, where a circle, a rounded and a square ring differ.
 */
// The preset's own size (sd 16:9): a shape asset is sized in output pixels, so it cannot be shrunk afterwards
// the way the fraction-placed bubble can.
const W = 1024;
const H = 576;
const RING = { color: '#FFFF00', widthPx: 6 };

let server: LocalShotstack;
let client: ShotstackClient;
let tmp: { dir: string; cleanup: () => Promise<void> };
const src: Record<string, string> = {};

const isYellow = ([r, g, b]: Rgb) => r > 190 && g > 190 && b < 80;

const baseOptions: BubbleEditOptions = {
  position: 'topLeft', size: 0.35, margin: 0.05, aspect: '16:9', resolution: 'sd', fps: 25,
  duration: 'bubble', backgroundAudio: false, backgroundVolume: 0, readings: DEFAULT_READINGS, ring: RING,
};

async function renderFrame(opts: Partial<BubbleEditOptions>) {
  const e = buildBubbleEdit({
    background: { src: src.bg!, durationSec: 1, hasAudio: false },
    overlay: { kind: 'luma', colorSrc: src.color!, matteSrc: src.matte! },
    overlayDurationSec: 1,
    options: { ...baseOptions, ...opts },
  });
  expect(e.output.size).toEqual({ width: W, height: H });
  const id = await client.submitRender(e);
  const done = await client.waitForRender(id, { timeoutMs: 30_000 });
  const out = join(tmp.dir, `${id}.mp4`);
  await client.downloadTo(done.url, out);
  const p = bubblePlacement({ ...baseOptions, ...opts });
  return { px: await frameAt(out, 12, W), x: p.x, y: p.y, side: p.side, ring: (opts.ring ?? RING).widthPx };
}

function probe(px: (x: number, y: number) => Rgb, points: [string, number, number, (p: Rgb) => boolean][]): string[] {
  return points.filter(([, x, y, ok]) => !ok(px(x, y))).map(([label, x, y]) => `${label} (${Math.round(x)},${Math.round(y)}) = ${px(x, y).join(',')}`);
}

beforeAll(async () => {
  tmp = await makeTempDir();
  server = await startLocalShotstack();
  client = createShotstackClient({ apiUrl: server.url, env: 'stage', pollIntervalMs: 20 });
  const f = (n: string) => join(tmp.dir, n);
  // The matte's disc fills the square to its edge (radius 0.5 of the side), like the engine's bubble.
  src.bg = await client.ingestFile(await makeSolidVideo(f('bg.mp4'), { color: 'blue', width: W, height: H, durationSec: 1 }));
  src.color = await client.ingestFile(await makeSolidVideo(f('color.mp4'), { color: 'red', width: 96, height: 96, durationSec: 1 }));
  src.matte = await client.ingestFile(await makeCircleMatte(f('matte.mp4'), { size: 96, durationSec: 1, radiusFraction: 0.5 }));
});

afterAll(async () => {
  await server?.close();
  await tmp?.cleanup();
});

describe('bubble ring rendered by the local renderer', () => {
  const ring = RING;

  it('draws a circle ring just outside a circle bubble (bottomRight)', async () => {
    const f = await renderFrame({ position: 'bottomRight', ring, shape: 'circle' });
    const cx = f.x + f.side / 2;
    const cy = f.y + f.side / 2;
    const r = f.side / 2;
    const failures = probe(f.px, [
      ['centre', cx, cy, isRed],
      ['inside left', cx - r + 6, cy, isRed],
      ['ring left', cx - r - f.ring / 2, cy, isYellow],
      ['ring top', cx, cy - r - f.ring / 2, isYellow],
      ['ring right', cx + r + f.ring / 2, cy, isYellow],
      ['ring bottom', cx, cy + r + f.ring / 2, isYellow],
      ['ring diagonal', cx - (r + f.ring / 2) / Math.SQRT2, cy - (r + f.ring / 2) / Math.SQRT2, isYellow],
      ['past the ring, left', cx - r - f.ring - 4, cy, isBlue],
      ['past the ring, top', cx, cy - r - f.ring - 4, isBlue],
      ['square corner (outside a circle ring)', f.x + 2, f.y + 2, isBlue],
      ['elsewhere', 40, 40, isBlue],
    ]);
    expect(failures).toEqual([]);
  });

  it('draws a square ring for rect and a rounded one for rounded', async () => {
    const rect = await renderFrame({ position: 'topLeft', ring, shape: 'rect' });
    const rounded = await renderFrame({ position: 'center', ring, shape: 'rounded' });
    const corner = (f: typeof rect) => [f.x - f.ring / 2, f.y - f.ring / 2] as const;
    const failures = [
      ...probe(rect.px, [
        ['rect: centre', rect.x + rect.side / 2, rect.y + rect.side / 2, isRed],
        ['rect: ring top', rect.x + rect.side / 2, rect.y - rect.ring / 2, isYellow],
        ['rect: ring corner', ...corner(rect), isYellow],
        ['rect: past the ring', rect.x + rect.side + rect.ring + 4, rect.y + rect.side / 2, isBlue],
        ['rect: elsewhere', 900, 500, isBlue],
      ]),
      ...probe(rounded.px, [
        ['rounded: centre', rounded.x + rounded.side / 2, rounded.y + rounded.side / 2, isRed],
        ['rounded: ring left', rounded.x - rounded.ring / 2, rounded.y + rounded.side / 2, isYellow],
        ['rounded: corner is cut', ...corner(rounded), isBlue],
        ['rounded: elsewhere', 20, 20, isBlue],
      ]),
    ];
    expect(failures).toEqual([]);
  });
});
