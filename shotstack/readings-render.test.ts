import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { frameAt, isBlue, isRed, makeCircleMatte, makeSolidVideo, makeTempDir, type Rgb } from '../testing/shotstack-media.js';
import { createShotstackClient } from './client.js';
import { startLocalShotstack } from './local/server.js';
import { prepareMatte, type MatteFrame } from './matte.js';
import { DEFAULT_READINGS, formatReadings, type RendererReadings } from './readings.js';
import {
  bubblePlacement,
  buildBubbleEdit,
  MATTE_SOURCE_FIELD,
  matteVariantFor,
  type BubbleEditOptions,
  type BubbleOverlay,
} from './timeline.js';

/**
 * The final video is right under each reading: the builder's Edit for readings R, rendered by the local renderer
 * told to behave like a service with readings R (`emulate`), shows a red disc bubble exactly where the layout
 * puts it over a blue background. And the same Edit built for the wrong readings does not — so the pixel check
 * can tell, and the readings are what makes the difference.
 */
let tmp: { dir: string; cleanup: () => Promise<void> };
const files: Record<string, string> = {};

/** Rendered at a quarter of the preset's pixels (same aspect): offsets and scales are fractions, so it scales. */
const SMALL = { '16:9': { width: 320, height: 180 }, '9:16': { width: 180, height: 320 } } as const;
type Aspect = keyof typeof SMALL;

const baseOptions: Omit<BubbleEditOptions, 'readings'> = {
  position: 'topLeft', size: 0.3, margin: 0.05, aspect: '16:9', resolution: 'sd', fps: 25,
  duration: 'bubble', backgroundAudio: false, backgroundVolume: 0,
};

beforeAll(async () => {
  tmp = await makeTempDir('readings-render-');
  const f = (n: string) => join(tmp.dir, n);
  files.bg169 = await makeSolidVideo(f('bg169.mp4'), { color: 'blue', ...SMALL['16:9'], durationSec: 1 });
  files.bg916 = await makeSolidVideo(f('bg916.mp4'), { color: 'blue', ...SMALL['9:16'], durationSec: 1 });
  files.color = await makeSolidVideo(f('color.mp4'), { color: 'red', width: 96, height: 96, durationSec: 1 });
  files.matte = await makeCircleMatte(f('matte.mp4'), { size: 96, durationSec: 1 });
});
afterAll(async () => {
  await tmp?.cleanup();
});

/** The bubble square in the small output. */
function square(options: Omit<BubbleEditOptions, 'readings'>): MatteFrame {
  const p = bubblePlacement(options);
  const small = SMALL[options.aspect as Aspect];
  const k = small.width / p.width;
  return { ...small, x: p.x * k, y: p.y * k, side: p.side * k };
}

/** Builds the Edit for `builtFor`, renders it on a renderer emulating `service`, returns the file and the bubble square. */
async function renderUnder(service: Partial<RendererReadings>, builtFor: RendererReadings, opts: Partial<BubbleEditOptions>) {
  const options = { ...baseOptions, ...opts };
  const sq = square(options);
  const server = await startLocalShotstack({ emulate: service });
  try {
    const client = createShotstackClient({ apiUrl: server.url, env: 'stage', pollIntervalMs: 20 });
    const variant = matteVariantFor(builtFor);
    const dir = join(tmp.dir, `${formatReadings(builtFor).replace(/[=,]/g, '_')}-${options.aspect.replace(':', 'x')}`);
    await mkdir(dir, { recursive: true });
    const mattePath = await prepareMatte(variant, files.matte!, dir, sq);
    const [bg, color, matte] = await Promise.all(
      [options.aspect === '16:9' ? files.bg169! : files.bg916!, files.color!, mattePath].map((p) => client.ingestFile(p)),
    );
    const overlay: BubbleOverlay = { kind: 'luma', colorSrc: color, [MATTE_SOURCE_FIELD[variant]]: matte };
    const edit = buildBubbleEdit({
      background: { src: bg, durationSec: 1, hasAudio: false },
      overlay,
      overlayDurationSec: 1,
      options: { ...options, readings: builtFor },
    });
    edit.output.size = { width: sq.width, height: sq.height };
    const id = await client.submitRender(edit);
    const done = await client.waitForRender(id, { timeoutMs: 60_000 });
    const out = join(dir, 'final.mp4');
    await client.downloadTo(done.url, out);
    return { out, sq };
  } finally {
    await server.close();
  }
}

/** What is wrong with the frame: red inside the disc, blue in the square's corners and just outside it. */
function bubbleProblems(px: (x: number, y: number) => Rgb, sq: MatteFrame): string[] {
  const cx = sq.x + sq.side / 2;
  const cy = sq.y + sq.side / 2;
  const inset = sq.side * 0.12;
  const problems: string[] = [];
  const want = (label: string, x: number, y: number, ok: (p: Rgb) => boolean) => {
    if (x < 0 || y < 0 || x >= sq.width || y >= sq.height) return;
    const p = px(x, y);
    if (!ok(p)) problems.push(`${label} (${Math.round(x)},${Math.round(y)}) = ${p.join(',')}`);
  };
  want('centre', cx, cy, isRed);
  want('inside left', sq.x + inset, cy, isRed);
  want('inside right', sq.x + sq.side - 1 - inset, cy, isRed);
  want('inside top', cx, sq.y + inset, isRed);
  want('inside bottom', cx, sq.y + sq.side - 1 - inset, isRed);
  want('square corner', sq.x + 3, sq.y + 3, isBlue);
  want('square corner', sq.x + sq.side - 4, sq.y + sq.side - 4, isBlue);
  want('outside left', sq.x - 4, cy, isBlue);
  want('outside right', sq.x + sq.side + 3, cy, isBlue);
  want('outside top', cx, sq.y - 4, isBlue);
  want('outside bottom', cx, sq.y + sq.side + 3, isBlue);
  want('far corner', 2, sq.height - 3, isBlue);
  return problems;
}

const ALL_THREE: Partial<RendererReadings> = { luma: 'white-transparent', scale: 'width', lumaGeometry: 'viewport' };

describe('the final video under each renderer reading (builder → local renderer emulating it)', () => {
  const cases: [string, Partial<RendererReadings>, Partial<BubbleEditOptions>][] = [
    ['default readings', {}, { position: 'topLeft' }],
    ['luma=white-transparent', { luma: 'white-transparent' }, { position: 'right' }],
    ['luma-geometry=viewport', { lumaGeometry: 'viewport' }, { position: 'bottomRight' }],
    ['scale=width', { scale: 'width' }, { position: 'top' }],
    ['scale=height at 9:16', { scale: 'height' }, { position: 'bottomLeft', aspect: '9:16' }],
    ['white-transparent + scale=width + viewport', ALL_THREE, { position: 'bottomRight' }],
  ];
  for (const [label, service, opts] of cases) {
    it(label, async () => {
      const { out, sq } = await renderUnder(service, { ...DEFAULT_READINGS, ...service }, opts);
      expect(bubbleProblems(await frameAt(out, 12, sq.width), sq)).toEqual([]);
    });
  }

  it('an Edit built for the default readings is wrong on a service with the other three (the check can fail)', async () => {
    const { out, sq } = await renderUnder(ALL_THREE, DEFAULT_READINGS, { position: 'bottomRight' });
    expect(bubbleProblems(await frameAt(out, 12, sq.width), sq).length).toBeGreaterThan(3);
  });
});
