import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probeMedia } from '../../common/ffmpeg.js';
import {
  frameAt,
  isBlue,
  isGreen,
  isRed,
  makeAlphaBubble,
  makeCircleMatte,
  makeSolidVideo,
  makeTempDir,
  type Rgb,
} from '../../testing/shotstack-media.js';
import { createShotstackClient, type ShotstackClient } from '../client.js';
import { invertMatte } from '../matte.js';
import { DEFAULT_READINGS } from '../readings.js';
import { BUBBLE_POSITIONS, buildBubbleEdit, type BubbleEditInput, type BubbleEditOptions, type BubbleOverlay } from '../timeline.js';
import type { Edit } from '../types.js';
import { startLocalShotstack, type LocalShotstack } from './server.js';

/**
 * Golden tests of the builder + local renderer: a solid blue background, a red bubble masked to a disc, rendered
 * small (320×180) and read back as pixels. For each case the bubble must be red inside its disc, blue in the
 * corners of its square (the mask works) and blue just outside its square (it is where it should be, ±4 px).
 */
let server: LocalShotstack;
let client: ShotstackClient;
let tmp: { dir: string; cleanup: () => Promise<void> };
const src: Record<string, string> = {};

const W = 320;
const H = 180;

const baseOptions: BubbleEditOptions = {
  position: 'topLeft', size: 0.35, margin: 0.05, aspect: '16:9', resolution: 'sd', fps: 25,
  duration: 'bubble', backgroundAudio: true, backgroundVolume: 1, readings: DEFAULT_READINGS,
};

function edit(opts: Partial<BubbleEditOptions> = {}, over: Partial<BubbleEditInput> = {}, size = { width: W, height: H }): Edit {
  const e = buildBubbleEdit({
    background: { src: src.bg!, durationSec: 1, hasAudio: true },
    overlay: { kind: 'luma', colorSrc: src.color!, matteSrc: src.matte! },
    overlayDurationSec: 1,
    ...over,
    options: { ...baseOptions, ...opts },
  });
  // Same aspect ratio as the preset, fewer pixels: offsets and scale are fractions, so the layout scales down.
  e.output.size = size;
  return e;
}

async function render(e: Edit, via: ShotstackClient = client): Promise<string> {
  const id = await via.submitRender(e);
  const done = await via.waitForRender(id, { timeoutMs: 60_000 });
  const out = join(tmp.dir, `${id}.mp4`);
  await via.downloadTo(done.url, out);
  return out;
}

/** Expected bubble square for a position, in output pixels (size and margin are fractions of the width). */
function expectedSquare(position: BubbleEditOptions['position'], w: number, h: number) {
  const side = 0.35 * w;
  const m = 0.05 * w;
  const col = /Left|^left/.test(position) ? 0 : /Right|^right/.test(position) ? 2 : 1;
  const row = position.startsWith('top') ? 0 : position.startsWith('bottom') ? 2 : 1;
  const x = col === 0 ? m : col === 2 ? w - m - side : (w - side) / 2;
  const y = row === 0 ? m : row === 2 ? h - m - side : (h - side) / 2;
  return { x, y, side };
}

function checkBubble(px: (x: number, y: number) => Rgb, sq: { x: number; y: number; side: number }, w: number, h: number) {
  const cx = sq.x + sq.side / 2;
  const cy = sq.y + sq.side / 2;
  const inset = sq.side * 0.12;
  const failures: string[] = [];
  const want = (label: string, x: number, y: number, ok: (p: Rgb) => boolean) => {
    if (x < 0 || y < 0 || x >= w || y >= h) return;
    const p = px(x, y);
    if (!ok(p)) failures.push(`${label} (${Math.round(x)},${Math.round(y)}) = ${p.join(',')}`);
  };
  want('centre', cx, cy, isRed);
  want('inside left', sq.x + inset, cy, isRed);
  want('inside right', sq.x + sq.side - 1 - inset, cy, isRed);
  want('inside top', cx, sq.y + inset, isRed);
  want('inside bottom', cx, sq.y + sq.side - 1 - inset, isRed);
  want('square corner (masked)', sq.x + 3, sq.y + 3, isBlue);
  want('square corner (masked)', sq.x + sq.side - 4, sq.y + sq.side - 4, isBlue);
  want('outside left', sq.x - 4, cy, isBlue);
  want('outside right', sq.x + sq.side + 3, cy, isBlue);
  want('outside top', cx, sq.y - 4, isBlue);
  want('outside bottom', cx, sq.y + sq.side + 3, isBlue);
  expect(failures).toEqual([]);
}

beforeAll(async () => {
  tmp = await makeTempDir();
  const f = (n: string) => join(tmp.dir, n);
  const made = {
    bg: await makeSolidVideo(f('bg.mp4'), { color: 'blue', width: W, height: H, durationSec: 1, audio: true }),
    bgPortrait: await makeSolidVideo(f('bg-portrait.mp4'), { color: 'blue', width: H, height: W, durationSec: 1 }),
    bgShort: await makeSolidVideo(f('bg-short.mp4'), { color: 'green', width: W, height: H, durationSec: 0.5 }),
    color: await makeSolidVideo(f('color.mp4'), { color: 'red', width: 96, height: 96, durationSec: 1, audio: true }),
    matte: await makeCircleMatte(f('matte.mp4'), { size: 96, durationSec: 1 }),
    webm: await makeAlphaBubble(f('bubble.webm'), { color: 'red', size: 96, durationSec: 1, format: 'webm' }),
    mov: await makeAlphaBubble(f('bubble.mov'), { color: 'red', size: 96, durationSec: 1, format: 'mov' }),
  };
  await invertMatte(made.matte, f('matte-inverted.mp4'));
  server = await startLocalShotstack();
  client = createShotstackClient({ apiUrl: server.url, env: 'stage', pollIntervalMs: 20 });
  for (const [name, path] of Object.entries({ ...made, matteInverted: f('matte-inverted.mp4') })) {
    src[name] = await client.ingestFile(path);
  }
});

afterAll(async () => {
  await server?.close();
  await tmp?.cleanup();
});

describe('bubble positions rendered by the local renderer', () => {
  for (const position of BUBBLE_POSITIONS) {
    it(`16:9 ${position}`, async () => {
      const out = await render(edit({ position }));
      checkBubble(await frameAt(out, 12, W), expectedSquare(position, W, H), W, H);
    });
  }

  for (const position of ['topRight', 'bottomLeft'] as const) {
    it(`9:16 ${position}`, async () => {
      const e = edit({ position, aspect: '9:16' }, { background: { src: src.bgPortrait!, durationSec: 1, hasAudio: false } }, { width: H, height: W });
      const out = await render(e);
      checkBubble(await frameAt(out, 12, H), expectedSquare(position, H, W), H, W);
    });
  }
});

describe('overlay kinds, polarity, timing', () => {
  const alphaCases: [string, BubbleOverlay, BubbleEditOptions['position']][] = [
    ['WebM VP9 alpha', { kind: 'alpha', src: '' }, 'center'],
    ['MOV qtrle alpha', { kind: 'alpha', src: '' }, 'bottomRight'],
  ];
  for (const [label, , position] of alphaCases) {
    it(`keeps the alpha of a ${label} bubble`, async () => {
      const overlay: BubbleOverlay = { kind: 'alpha', src: label.startsWith('WebM') ? src.webm! : src.mov! };
      const out = await render(edit({ position }, { overlay }));
      checkBubble(await frameAt(out, 12, W), expectedSquare(position, W, H), W, H);
    });
  }

  it('renders the same picture with white-transparent polarity and the inverted matte', async () => {
    // Its assets live on the first renderer, a loopback peer: allowed explicitly (the default is public only).
    const inverted = await startLocalShotstack({ emulate: { luma: 'white-transparent' }, assetAddressAllowList: ['127.0.0.1'] });
    try {
      const via = createShotstackClient({ apiUrl: inverted.url, env: 'stage', pollIntervalMs: 20 });
      const overlay: BubbleOverlay = { kind: 'luma', colorSrc: src.color!, matteSrc: src.matte!, invertedMatteSrc: src.matteInverted! };
      const out = await render(edit({ position: 'right', readings: { ...DEFAULT_READINGS, luma: 'white-transparent' } }, { overlay }), via);
      checkBubble(await frameAt(out, 12, W), expectedSquare('right', W, H), W, H);
    } finally {
      await inverted.close();
    }
  });

  it('loops a shorter background to the bubble length', async () => {
    const e = edit({ position: 'topLeft' }, { background: { src: src.bgShort!, durationSec: 0.5, hasAudio: false } });
    expect(e.timeline.tracks[1]!.clips).toHaveLength(2);
    const out = await render(e);
    expect((await probeMedia(out)).durationSec).toBeCloseTo(1, 1);
    const late = await frameAt(out, 20, W); // 0.8 s: in the second repetition
    expect(isGreen(late(300, 170))).toBe(true);
    expect(isRed(late(72, 72))).toBe(true);
  });

  it('honours start, length "auto" and "end"', async () => {
    const e = edit({ position: 'center' });
    for (const clip of e.timeline.tracks[0]!.clips) Object.assign(clip, { start: 0.4, length: 'end' });
    e.timeline.tracks[1]!.clips[0]!.length = 'auto';
    const out = await render(e);
    expect((await probeMedia(out)).durationSec).toBeCloseTo(1, 1);
    expect(isBlue((await frameAt(out, 5, W))(160, 90))).toBe(true); // 0.2 s: the bubble has not started
    expect(isRed((await frameAt(out, 15, W))(160, 90))).toBe(true); // 0.6 s: it has
  });
});
