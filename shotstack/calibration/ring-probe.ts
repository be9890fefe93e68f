import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { ShotstackClient } from '../client.js';
import { prepareMatte } from '../matte.js';
import { decodeRgbFrame, makeCircleMatte, makeSolidVideo, type Rgb, type RgbFrame } from '../probe-media.js';
import { formatReadings, type RendererReadings } from '../readings.js';
import { bubblePlacement, buildBubbleEdit, MATTE_SOURCE_FIELD, matteVariantFor, type BubbleEditOptions, type BubbleOverlay } from '../timeline.js';
import { sampleAt, seenColour } from './pixels.js';
import { MEDIA_SIDE, PROBE_FPS, SAMPLE_AT_SEC } from './probes.js';

/**
 * The ring probe (`npm run shotstack:check -- --ring`): is the bubble ring — a `shape` asset built by bubble-ring.ts
 * — drawn just outside the bubble's edge on this service? bubble-ring.ts assumes the stroke is centred on the
 * outline and the shape centred in its bounding box; neither is documented. Not part of the calibration (no
 * reading depends on it, and the workers do not need it): an opt-in check, run after the readings are known.
 *
 * One render through the real builder (buildBubbleEdit with `ring`, the luma matte form the readings need): a red
 * disc bubble (radius 0.5 of its square, like the engine's) with a yellow ring over a blue background, at the
 * preset's own size (sd 16:9, 1024×576: shape sizes are output pixels, so the probe cannot be shrunk the way the
 * calibration's fraction-placed squares can), 1 s at 12 fps. One frame is read along the bubble's four radii, from
 * inside the bubble out past the ring: red inside, yellow across the ring's width, blue beyond it. The same
 * pattern on every side = the ring where expected; a ring off on all sides alike points at the stroke (not
 * centred on the outline), off on one side only at the box (shape not centred in it).
 *
 * Cost: 1 render, 1 s of output, 3 small uploads (background, red square, matte).
 */
export const RING_PROBE_COST = { renders: 1, outputSeconds: 1, uploads: 3 } as const;

/** The ring drawn: a colour nothing else in the frame has, thick enough to sample inside with a margin. */
export const RING_PROBE_RING = { color: '#FFFF00', widthPx: 12 } as const;

/** The probe's layout: the pipeline's defaults, sd 16:9 (1024×576), bubble 0.35 of the width at the top left. */
const LAYOUT = {
  position: 'topLeft', size: 0.35, margin: 0.05, aspect: '16:9', resolution: 'sd', fps: PROBE_FPS,
  duration: 'bubble', backgroundAudio: false, backgroundVolume: 0,
} as const satisfies Omit<BubbleEditOptions, 'readings'>;

const SECONDS = 1;

export type RingColour = 'red' | 'yellow' | 'blue';
export type RingSeen = RingColour | 'other';

export interface RingSample {
  /** e.g. `left edge+6px`: the side of the bubble and the distance outwards from its edge (negative = inside). */
  label: string;
  side: RingSide;
  /** Outwards from the bubble's edge, px (negative = inside the bubble). */
  fromEdgePx: number;
  /** Pixel coordinates, rounded. */
  at: [number, number];
  rgb: Rgb;
  seen: RingSeen;
  want: RingColour;
}

export type RingSide = 'left' | 'right' | 'top' | 'bottom';
const SIDES: Record<RingSide, [number, number]> = { left: [-1, 0], right: [1, 0], top: [0, -1], bottom: [0, 1] };

/**
 * Where each side is sampled, outwards from the bubble's edge: well inside the bubble (past its soft edge), across
 * the ring (3 px from either of its edges, and its middle) and past it; every sample at least 3 px from an edge.
 */
function distances(w: number): [number, RingColour][] {
  return [
    [-8, 'red'],
    [3, 'yellow'],
    [w / 2, 'yellow'],
    [w - 3, 'yellow'],
    [w + 6, 'blue'],
  ];
}

export interface RingProbeResult {
  /** One line for the operator. */
  verdict: string;
  /** True only when every sample shows what it should: the ring just outside the bubble's edge on every side. */
  ok: boolean;
  samples: RingSample[];
  render: { id: string; url: string };
}

export interface RingProbeOptions {
  client: ShotstackClient;
  /** The service's readings (just calibrated, stored or forced): the Edit and its matte are built for them. */
  readings: RendererReadings;
  /** Where the probe's media are made and its render downloaded (a fresh folder inside it, removed afterwards). */
  workDir: string;
  /** Progress lines (uploads, render status changes, the render's URL); default none. */
  print?: (line: string) => void;
  signal?: AbortSignal;
  /** Limit for the render (default 10 min: a sandbox queue can be slow). */
  renderTimeoutMs?: number;
}

/** Yellow by dominance (red and green both lead blue, neither leads the other), like pixels.ts's red and blue. */
export function ringSeen(rgb: Rgb): RingSeen {
  const [r, g, b] = rgb;
  if (Math.min(r, g) - b >= 80 && Math.abs(r - g) < 80) return 'yellow';
  const seen = seenColour(rgb);
  return seen === 'other' ? 'other' : seen;
}

/** The samples of one probe frame (exported for tests of the verdict). */
export function ringSamples(frame: RgbFrame): RingSample[] {
  const p = bubblePlacement(LAYOUT);
  if (frame.width !== p.width || frame.height !== p.height) {
    throw new Error(`ring probe: expected a ${p.width}×${p.height} frame, got ${frame.width}×${frame.height}`);
  }
  const r = p.side / 2;
  const cx = p.x + r;
  const cy = p.y + r;
  const samples: RingSample[] = [];
  for (const [side, [dx, dy]] of Object.entries(SIDES) as [RingSide, [number, number]][]) {
    for (const [d, want] of distances(RING_PROBE_RING.widthPx)) {
      // Continuous coordinates; the pixel whose centre is nearest lies at −0.5.
      const x = cx + dx * (r + d) - 0.5;
      const y = cy + dy * (r + d) - 0.5;
      const rgb = sampleAt(frame, x, y);
      samples.push({
        label: `${side} edge${d >= 0 ? '+' : ''}${d}px`,
        side,
        fromEdgePx: d,
        at: [Math.round(x), Math.round(y)],
        rgb,
        seen: ringSeen(rgb),
        want,
      });
    }
  }
  return samples;
}

/** The verdict on a frame's samples. */
export function ringVerdict(samples: RingSample[], readings: RendererReadings): { verdict: string; ok: boolean } {
  const off = samples.filter((s) => s.seen !== s.want);
  if (!off.length) return { ok: true, verdict: 'ring where expected (stroke centred on the outline, shape centred in its box)' };
  const bubbleOff = off.filter((s) => s.want === 'red');
  if (bubbleOff.length) {
    return {
      ok: false,
      verdict:
        `inconclusive: the bubble itself is not where the layout puts it (${bubbleOff.map((s) => s.label).join(', ')}), so the ` +
        `ring cannot be judged against it — are the readings (${formatReadings(readings)}) this service's? Look at the render`,
    };
  }
  if (!samples.some((s) => s.seen === 'yellow')) return { ok: false, verdict: 'ring MISSING: no sample shows the ring colour; look at the render' };
  const sidesOff = new Set(off.map((s) => s.side));
  const hint =
    sidesOff.size === Object.keys(SIDES).length
      ? 'off on every side: the stroke is probably not centred on the outline (or drawn at another width)'
      : `off on the ${[...sidesOff].join(' and ')} side only: the shape is probably not centred in its box`;
  return {
    ok: false,
    verdict: `ring MISPLACED (${hint}): expected yellow from edge+0 to edge+${RING_PROBE_RING.widthPx}px, off at ${off.map((s) => s.label).join(', ')}`,
  };
}

export async function runRingProbe(o: RingProbeOptions): Promise<RingProbeResult> {
  const print = o.print ?? (() => undefined);
  const signal = o.signal;
  const p = bubblePlacement(LAYOUT);
  await mkdir(o.workDir, { recursive: true });
  const dir = await mkdtemp(join(o.workDir, 'bubblecast-ring-probe-'));
  try {
    const file = (name: string) => join(dir, name);
    // One at a time: each ffmpeg uses both cores of a small box.
    const bg = await makeSolidVideo(file('bg.mp4'), { color: 'blue', width: p.width, height: p.height, durationSec: SECONDS, fps: PROBE_FPS });
    const color = await makeSolidVideo(file('red.mp4'), { color: 'red', width: MEDIA_SIDE, height: MEDIA_SIDE, durationSec: SECONDS, fps: PROBE_FPS });
    // The disc touches the square's edges (radius 0.5), like the engine's bubble, so the ring hugs the disc.
    const square = await makeCircleMatte(file('matte.mp4'), { size: MEDIA_SIDE, durationSec: SECONDS, fps: PROBE_FPS, radiusFraction: 0.5 });
    const variant = matteVariantFor(o.readings);
    const matte = await prepareMatte(variant, square, dir, { width: p.width, height: p.height, x: p.x, y: p.y, side: p.side }, { signal });

    print(`ring probe: uploading ${RING_PROBE_COST.uploads} files (matte form ${variant})`);
    const [bgSrc, colorSrc, matteSrc] = await Promise.all([bg, color, matte].map((f) => o.client.ingestFile(f, { signal })));
    const overlay: BubbleOverlay = { kind: 'luma', colorSrc: colorSrc!, [MATTE_SOURCE_FIELD[variant]]: matteSrc! };
    const edit = buildBubbleEdit({
      background: { src: bgSrc!, durationSec: SECONDS, hasAudio: false },
      overlay,
      overlayDurationSec: SECONDS,
      options: { ...LAYOUT, readings: o.readings, ring: { ...RING_PROBE_RING }, shape: 'circle' },
    });
    edit.output.mute = true;

    const id = await o.client.submitRender(edit, { signal });
    print(`ring probe: render ${id} submitted`);
    let last = '';
    const done = await o.client.waitForRender(id, {
      signal,
      timeoutMs: o.renderTimeoutMs ?? 10 * 60_000,
      onStatus: (s) => {
        if (s !== last) print(`  ring: ${(last = s)}`);
      },
    });
    print(`  ring: ${done.url}`);
    const out = file('ring.mp4');
    await o.client.downloadTo(done.url, out, { signal });
    const samples = ringSamples(await decodeRgbFrame(out, SAMPLE_AT_SEC, p));
    return { ...ringVerdict(samples, o.readings), samples, render: { id, url: done.url } };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
