import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runFfmpeg } from '../../common/ffmpeg.js';
import { makeTempDir } from '../../testing/shotstack-media.js';
import { createShotstackClient } from '../client.js';
import { decodeRgbFrame, isBlue, isRed, makeAlphaBubble, makeCircleMatte, makeSolidVideo, pixelAt, type Rgb } from '../probe-media.js';
import { formatReadings, readingsFromList, type RendererReadings } from '../readings.js';
import type { Edit } from '../types.js';
import { startLocalShotstack, type LocalShotstack } from './server.js';

/**
 * The local renderer emulating each reading (shotstack/readings.ts), proven on pixels: a red bubble over a blue
 * background, rendered tiny through the HTTP server started with `emulate`, one frame read back. Every emulated
 * picture is checked against a render of the same Edit under the default readings, at the same points, so a
 * test fails if its emulation is removed (the two pictures would agree) or if its probe points decide nothing.
 *
 * The Edits are written by hand, not by the bubble builder: these tests are about the renderer, and a hand-made
 * Edit says exactly which fit/scale/position each clip carries.
 */
const W = 320;
const H = 180;
const SIDE = 96; // the bubble's square: colour clip, disc matte and alpha bubbles are SIDE×SIDE
const DISC_RADIUS = 0.46 * SIDE; // makeCircleMatte's and makeAlphaBubble's disc

let tmp: { dir: string; cleanup: () => Promise<void> };
/** Default readings; also the asset host the emulating renderers fetch from. */
let home: LocalShotstack;
const src: Record<string, string> = {};

type Clip = Record<string, unknown>;
type Point = [label: string, x: number, y: number, want: (p: Rgb) => boolean];

/** Bubble clips on the top track over a full-frame background; 1 s, mute. */
function overBackground(bubble: Clip[], size = { width: W, height: H }, background = src.bg!): Edit {
  const clip = (c: Clip) => ({ start: 0, length: 1, ...c });
  return {
    timeline: { tracks: [{ clips: bubble.map(clip) }, { clips: [clip({ asset: { type: 'video', src: background }, fit: 'crop' })] }] },
    output: { format: 'mp4', size, fps: 25, mute: true },
  } as Edit;
}

const video = (s: string, geometry: Clip): Clip => ({ asset: { type: 'video', src: s }, ...geometry });
const luma = (s: string, geometry: Clip): Clip => ({ asset: { type: 'luma', src: s }, ...geometry });

/** Renders `edit` on a renderer emulating `emulate` (a fresh one, so readings never leak between tests). */
async function renderUnder(emulate: Partial<RendererReadings>, edit: Edit): Promise<(x: number, y: number) => Rgb> {
  const server = await startLocalShotstack({ emulate, assetAddressAllowList: ['127.0.0.1'] });
  try {
    const client = createShotstackClient({ apiUrl: server.url, env: 'stage', pollIntervalMs: 20 });
    const done = await client.waitForRender(await client.submitRender(edit), { timeoutMs: 60_000 });
    const out = join(tmp.dir, `${done.id}.mp4`);
    await client.downloadTo(done.url, out);
    const frame = await decodeRgbFrame(out, 0.5, edit.output.size as { width: number; height: number });
    return (x, y) => pixelAt(frame, x, y);
  } finally {
    await server.close();
  }
}

function failures(px: (x: number, y: number) => Rgb, points: Point[]): string[] {
  return points.filter(([, x, y, ok]) => !ok(px(x, y))).map(([label, x, y]) => `${label} (${Math.round(x)},${Math.round(y)}) = ${px(x, y).join(',')}`);
}

/** A W×H matte: white disc of radius r at (cx, cy) on black, or the reverse when `inverted`. */
async function makeViewportMatte(path: string, o: { cx: number; cy: number; r: number; inverted?: boolean }): Promise<string> {
  const inside = `lt(hypot(X-${o.cx}\\,Y-${o.cy})\\,${o.r})`;
  const lum = o.inverted ? `255*(1-${inside})` : `255*${inside}`;
  await runFfmpeg([
    '-f', 'lavfi', '-i', `color=c=black:s=${W}x${H}:d=1:r=25,format=gray,geq=lum='${lum}'`,
    '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-threads', '2', '-an', path,
  ]);
  return path;
}

beforeAll(async () => {
  tmp = await makeTempDir('shotstack-emulate-');
  const f = (n: string) => join(tmp.dir, n);
  const made = {
    bg: await makeSolidVideo(f('bg.mp4'), { color: 'blue', width: W, height: H, durationSec: 1 }),
    bgPortrait: await makeSolidVideo(f('bg-portrait.mp4'), { color: 'blue', width: H, height: W, durationSec: 1 }),
    color: await makeSolidVideo(f('color.mp4'), { color: 'red', width: SIDE, height: SIDE, durationSec: 1 }),
    matte: await makeCircleMatte(f('matte.mp4'), { size: SIDE, durationSec: 1 }),
    viewportMatte: await makeViewportMatte(f('viewport-matte.mp4'), { cx: W / 2, cy: H / 2, r: DISC_RADIUS }),
    viewportMatteInverted: await makeViewportMatte(f('viewport-matte-inv.mp4'), { cx: W / 2, cy: H / 2, r: DISC_RADIUS, inverted: true }),
    webm: await makeAlphaBubble(f('bubble.webm'), { color: 'red', size: SIDE, durationSec: 1, format: 'webm' }),
    mov: await makeAlphaBubble(f('bubble.mov'), { color: 'red', size: SIDE, durationSec: 1, format: 'mov' }),
  };
  home = await startLocalShotstack();
  const client = createShotstackClient({ apiUrl: home.url, env: 'stage', pollIntervalMs: 20 });
  for (const [name, path] of Object.entries(made)) src[name] = await client.ingestFile(path);
});

afterAll(async () => {
  await home?.close();
  await tmp?.cleanup();
});

// The bubble as the builder places it: fit contain, a scale that makes the square SIDE px (scale=fit), centred.
const BUBBLE = { fit: 'contain', scale: SIDE / Math.min(W, H), position: 'center' };
const CX = W / 2;
const CY = H / 2;
const square = { x: CX - SIDE / 2, y: CY - SIDE / 2 };
const disc = (label: string, want: (p: Rgb) => boolean): Point[] => [
  [`${label}: centre`, CX, CY, want],
  [`${label}: inside right`, CX + DISC_RADIUS * 0.75, CY, want],
];
const corners = (label: string, want: (p: Rgb) => boolean): Point[] => [
  [`${label}: square corner`, square.x + 3, square.y + 3, want],
  [`${label}: square corner`, square.x + SIDE - 4, square.y + SIDE - 4, want],
];
const outside: Point[] = [['outside the square', square.x - 4, CY, isBlue], ['far corner', 4, 4, isBlue]];

describe('luma=white-transparent', () => {
  it('negates the matte: a white-visible matte shows the background in the disc and the bubble in the corners', async () => {
    const edit = overBackground([video(src.color!, BUBBLE), luma(src.matte!, BUBBLE)]);
    const emulated = await renderUnder({ luma: 'white-transparent' }, edit);
    const control = await renderUnder({}, edit);
    expect([
      ...failures(emulated, [...disc('emulated', isBlue), ...corners('emulated', isRed), ...outside]),
      ...failures(control, [...disc('default', isRed), ...corners('default', isBlue), ...outside]),
    ]).toEqual([]);
  });
});

describe('luma-geometry=viewport', () => {
  it('stretches a bubble-size matte over the viewport: a huge disc, the whole square shows', async () => {
    const edit = overBackground([video(src.color!, BUBBLE), luma(src.matte!, BUBBLE)]);
    const emulated = await renderUnder({ lumaGeometry: 'viewport' }, edit);
    const control = await renderUnder({}, edit);
    expect([
      ...failures(emulated, [...disc('emulated', isRed), ...corners('emulated', isRed), ...outside]),
      ...failures(control, [...disc('default', isRed), ...corners('default', isBlue), ...outside]),
    ]).toEqual([]);
  });

  it('masks with a viewport-size matte whose disc is drawn at the bubble`s place, whatever the luma clip says', async () => {
    // The luma clip carries the bubble's geometry, as the builder writes it: under clip geometry that shrinks
    // the viewport matte into the bubble's box, and its disc shrinks with it (inside right falls outside it).
    const edit = overBackground([video(src.color!, BUBBLE), luma(src.viewportMatte!, BUBBLE)]);
    const emulated = await renderUnder({ lumaGeometry: 'viewport' }, edit);
    const control = await renderUnder({}, edit);
    expect([
      ...failures(emulated, [...disc('emulated', isRed), ...corners('emulated', isBlue), ...outside]),
      ...failures(control, [['default: centre', CX, CY, isRed], ['default: inside right', CX + DISC_RADIUS * 0.75, CY, isBlue]]),
    ]).toEqual([]);
  });
});

describe('scale readings', () => {
  /** Width and height of the red box around the frame's centre, counted along its axes. */
  function redBox(px: (x: number, y: number) => Rgb, size: { width: number; height: number }) {
    const run = (dx: number, dy: number) => {
      let n = 0;
      const cx = size.width / 2;
      const cy = size.height / 2;
      while (n < Math.max(size.width, size.height) && isRed(px(cx + dx * (n + 1), cy + dy * (n + 1)))) n++;
      return n;
    };
    return { width: run(-1, 0) + run(1, 0) + 1, height: run(0, -1) + run(0, 1) + 1 };
  }

  const cases = [
    { aspect: '16:9', size: { width: W, height: H }, bg: 'bg' },
    { aspect: '9:16', size: { width: H, height: W }, bg: 'bgPortrait' },
  ] as const;
  for (const { aspect, size, bg } of cases) {
    it(`${aspect}: a square with fit contain and scale 0.35 is 0.35 of min(W,H) / W / H under fit / width / height`, async () => {
      const edit = overBackground([video(src.color!, { fit: 'contain', scale: 0.35, position: 'center' })], size, src[bg]);
      const promised = { fit: Math.min(size.width, size.height) * 0.35, width: size.width * 0.35, height: size.height * 0.35 };
      const measured: Record<string, { width: number; height: number }> = {};
      for (const base of ['fit', 'width', 'height'] as const) measured[base] = redBox(await renderUnder({ scale: base }, edit), size);
      for (const base of ['fit', 'width', 'height'] as const) {
        expect(Math.abs(measured[base]!.width - promised[base]), `${base}: ${JSON.stringify(measured[base])}`).toBeLessThanOrEqual(3);
        expect(Math.abs(measured[base]!.height - promised[base]), `${base}: ${JSON.stringify(measured[base])}`).toBeLessThanOrEqual(3);
      }
    });
  }
});

describe('alpha readings', () => {
  const NATIVE = { fit: 'none', position: 'center' };
  for (const [format, reading] of [['webm', 'alphaWebm'], ['mov', 'alphaMov']] as const) {
    it(`${format}: alpha-${format}=lost composites the bubble opaque (its colour as stored); kept keeps the disc`, async () => {
      const edit = overBackground([video(src[format]!, NATIVE)]);
      const lost = await renderUnder({ [reading]: 'lost' }, edit);
      const kept = await renderUnder({ [reading]: 'kept' }, edit);
      // The other format's reading does not touch this one.
      const otherLost = await renderUnder({ [reading === 'alphaWebm' ? 'alphaMov' : 'alphaWebm']: 'lost' }, edit);
      expect([
        ...failures(lost, [...disc('lost', isRed), ...corners('lost', isRed), ...outside]),
        ...failures(kept, [...disc('kept', isRed), ...corners('kept', isBlue), ...outside]),
        ...failures(otherLost, [...disc('other lost', isRed), ...corners('other lost', isBlue)]),
      ]).toEqual([]);
    });
  }
});

describe('every non-default reading at once', () => {
  it('renders the bubble right from an Edit written for those readings, and wrong under the defaults', async () => {
    const readings = readingsFromList('luma=white-transparent,luma-geometry=viewport,scale=width,alpha-webm=lost,alpha-mov=lost');
    expect(formatReadings(readings)).toContain('scale=width');
    // scale is read against the output width; the matte is viewport-size, disc at the bubble, white = transparent.
    const bubble = { fit: 'contain', scale: SIDE / W, position: 'center' };
    const edit = overBackground([video(src.color!, bubble), luma(src.viewportMatteInverted!, bubble)]);
    const emulated = await renderUnder(readings, edit);
    const control = await renderUnder({}, edit);
    expect([
      ...failures(emulated, [...disc('emulated', isRed), ...corners('emulated', isBlue), ...outside]),
      // Defaults: the square is SIDE·H/W px (inside right is off it) and the inverted matte hides the centre.
      ...failures(control, [['default: centre', CX, CY, isBlue], ['default: inside right', CX + DISC_RADIUS * 0.75, CY, isBlue]]),
    ]).toEqual([]);
  });
});
