import { describe, expect, it } from 'vitest';
import { DEFAULT_READINGS, type RendererReadings, type ScaleBase } from '../readings.js';
import type { Edit } from '../types.js';
import { planRender, type AssetInfo, type PlannedVideoClip } from './plan.js';

/**
 * The render plan under each renderer reading (shotstack/readings.ts): pure maths, no ffmpeg. The renders that
 * show ffmpeg draws what these plans say are in emulate.test.ts.
 */
const VIEWPORTS = { '16:9': { width: 1280, height: 720 }, '9:16': { width: 720, height: 1280 }, '1:1': { width: 720, height: 720 } } as const;

const opaque = (width: number, height: number): AssetInfo => ({ width, height, durationSec: 5, hasAudio: false, alphaDecoder: null, hasAlpha: false });

function readings(over: Partial<RendererReadings>): RendererReadings {
  return { ...DEFAULT_READINGS, ...over };
}

function oneTrack(clips: Record<string, unknown>[], size: { width: number; height: number }): Edit {
  return {
    timeline: { tracks: [{ clips: clips.map((c) => ({ start: 0, length: 1, ...c })) }] },
    output: { format: 'mp4', size, fps: 25 },
  } as Edit;
}

/** The first video clip of a one-clip Edit, planned with `info` as its asset under `r`. */
function planVideo(clip: Record<string, unknown>, info: AssetInfo, size: { width: number; height: number }, r: RendererReadings): PlannedVideoClip {
  const plan = planRender(oneTrack([{ asset: { type: 'video', src: 'http://h/v.mp4' }, ...clip }], size), () => info, r);
  return plan.clips.find((c): c is PlannedVideoClip => c.kind === 'video')!;
}

describe('scale readings', () => {
  // What each reading promises, stated independently of the plan's own code.
  const promisedSquareSide = (base: ScaleBase, scale: number, v: { width: number; height: number }) =>
    base === 'fit' ? Math.min(v.width, v.height) * scale : base === 'width' ? v.width * scale : v.height * scale;

  for (const [aspect, viewport] of Object.entries(VIEWPORTS)) {
    for (const base of ['fit', 'width', 'height'] as const) {
      it(`${aspect}, scale=${base}: a square with fit contain and scale 0.35 has the promised side, and is anchored with it`, () => {
        const clip = planVideo({ fit: 'contain', scale: 0.35, position: 'bottomRight' }, opaque(720, 720), viewport, readings({ scale: base }));
        const side = promisedSquareSide(base, 0.35, viewport);
        expect(Math.abs(clip.box.width - side)).toBeLessThanOrEqual(1);
        expect(clip.box.height).toBe(clip.box.width);
        expect(clip.box.scaledWidth).toBe(clip.box.width); // contain: nothing is cropped
        expect({ x: clip.box.x, y: clip.box.y }).toEqual({ x: viewport.width - clip.box.width, y: viewport.height - clip.box.height });
      });
    }
  }

  it('keeps the fitted aspect of a non-square asset: width or height becomes scale × the output side', () => {
    const v = VIEWPORTS['9:16'];
    const asset = opaque(640, 360);
    const byWidth = planVideo({ fit: 'contain', scale: 0.35 }, asset, v, readings({ scale: 'width' })).box;
    expect(Math.abs(byWidth.width - 0.35 * v.width)).toBeLessThanOrEqual(1);
    expect(Math.abs(byWidth.height - (0.35 * v.width * 360) / 640)).toBeLessThanOrEqual(1);
    const byHeight = planVideo({ fit: 'contain', scale: 0.35 }, asset, v, readings({ scale: 'height' })).box;
    expect(Math.abs(byHeight.height - 0.35 * v.height)).toBeLessThanOrEqual(1);
    expect(Math.abs(byHeight.width - (0.35 * v.height * 640) / 360)).toBeLessThanOrEqual(1);
  });

  it('applies the same rule to fit none (the native size is the fitted box)', () => {
    const v = VIEWPORTS['16:9'];
    const asset = opaque(200, 100);
    expect(planVideo({ fit: 'none', scale: 0.5 }, asset, v, readings({ scale: 'fit' })).box).toMatchObject({ width: 100, height: 50 });
    expect(planVideo({ fit: 'none', scale: 0.5 }, asset, v, readings({ scale: 'width' })).box).toMatchObject({ width: 640, height: 320 });
    expect(planVideo({ fit: 'none', scale: 0.5 }, asset, v, readings({ scale: 'height' })).box).toMatchObject({ width: 720, height: 360 });
  });

  it('gives crop and cover boxes (the viewport itself) the same size under every reading', () => {
    const v = VIEWPORTS['9:16'];
    const asset = opaque(1280, 720);
    for (const fit of ['crop', 'cover'] as const) {
      const boxes = (['fit', 'width', 'height'] as const).map((base) => planVideo({ fit, scale: 0.5 }, asset, v, readings({ scale: base })).box);
      expect(boxes[0]).toMatchObject({ width: 360, height: 640 });
      expect(boxes[1]).toEqual(boxes[0]);
      expect(boxes[2]).toEqual(boxes[0]);
    }
  });

  it('leaves clips without an explicit scale at their fitted box under every reading', () => {
    const v = VIEWPORTS['16:9'];
    for (const base of ['fit', 'width', 'height'] as const) {
      expect(planVideo({ fit: 'contain' }, opaque(720, 720), v, readings({ scale: base })).box).toMatchObject({ width: 720, height: 720, x: 280 });
    }
  });
});

describe('luma readings', () => {
  const bubble = { fit: 'contain', scale: 0.35, position: 'topLeft', offset: { x: 0.05, y: -0.05 } };
  const bubbleTrack = (lumaClip: Record<string, unknown>) => [
    { asset: { type: 'video', src: 'http://h/color.mp4' }, ...bubble },
    { asset: { type: 'luma', src: 'http://h/matte.mp4' }, ...lumaClip },
  ];
  const maskOf = (clips: Record<string, unknown>[], v: { width: number; height: number }, r: RendererReadings) => {
    const plan = planRender(oneTrack(clips, v), () => opaque(96, 96), r);
    const video = plan.clips.find((c): c is PlannedVideoClip => c.kind === 'video')!;
    return { video, mask: video.mask! };
  };

  for (const [aspect, v] of Object.entries(VIEWPORTS)) {
    it(`${aspect}: clip geometry places the matte like its clip; viewport geometry stretches it over the viewport`, () => {
      const clip = maskOf(bubbleTrack(bubble), v, readings({ lumaGeometry: 'clip' }));
      expect(clip.mask.box).toEqual(clip.video.box);
      expect(clip.mask.alignedWithClip).toBe(true);

      const viewport = maskOf(bubbleTrack(bubble), v, readings({ lumaGeometry: 'viewport' }));
      expect(viewport.video.box).toEqual(clip.video.box); // the masked clip itself is placed as before
      expect(viewport.mask.box).toEqual({ scaledWidth: v.width, scaledHeight: v.height, width: v.width, height: v.height, x: 0, y: 0 });
      expect(viewport.mask.alignedWithClip).toBe(false);
    });
  }

  it('viewport geometry ignores the luma clip`s own fit, scale, position and offset', () => {
    const v = VIEWPORTS['16:9'];
    const r = readings({ lumaGeometry: 'viewport' });
    const a = maskOf(bubbleTrack({ fit: 'none', scale: 3, position: 'right', offset: { x: 0.4 } }), v, r).mask.box;
    const b = maskOf(bubbleTrack({}), v, r).mask.box;
    expect(a).toEqual(b);
  });

  it('negates the matte under white-transparent only', () => {
    const v = VIEWPORTS['1:1'];
    expect(maskOf(bubbleTrack(bubble), v, readings({ luma: 'white-visible' })).mask.negate).toBe(false);
    expect(maskOf(bubbleTrack(bubble), v, readings({ luma: 'white-transparent' })).mask.negate).toBe(true);
  });
});

describe('alpha readings', () => {
  const webm: AssetInfo = { ...opaque(96, 96), alphaDecoder: 'libvpx-vp9', hasAlpha: true };
  const mov: AssetInfo = { ...opaque(96, 96), hasAlpha: true };
  const alphaOf = (info: AssetInfo, r: Partial<RendererReadings>) => {
    const c = planVideo({ fit: 'contain', scale: 0.5 }, info, VIEWPORTS['1:1'], readings(r));
    return { hasAlpha: c.hasAlpha, decoder: c.decoder };
  };

  it('keeps a VP9 alpha with its alpha decoder unless alpha-webm=lost (then ffmpeg`s own decoder, opaque)', () => {
    expect(alphaOf(webm, {})).toEqual({ hasAlpha: true, decoder: 'libvpx-vp9' });
    expect(alphaOf(webm, { alphaMov: 'lost' })).toEqual({ hasAlpha: true, decoder: 'libvpx-vp9' });
    expect(alphaOf(webm, { alphaWebm: 'lost' })).toEqual({ hasAlpha: false, decoder: null });
  });

  it('keeps a pixel-format alpha (MOV qtrle argb) unless alpha-mov=lost', () => {
    expect(alphaOf(mov, {})).toEqual({ hasAlpha: true, decoder: null });
    expect(alphaOf(mov, { alphaWebm: 'lost' })).toEqual({ hasAlpha: true, decoder: null });
    expect(alphaOf(mov, { alphaMov: 'lost' })).toEqual({ hasAlpha: false, decoder: null });
  });

  it('leaves an opaque video opaque under every reading', () => {
    expect(alphaOf(opaque(96, 96), { alphaWebm: 'kept', alphaMov: 'kept' })).toEqual({ hasAlpha: false, decoder: null });
  });
});

it('plans with DEFAULT_READINGS when given none', () => {
  const edit = oneTrack([{ asset: { type: 'video', src: 'http://h/v.mp4' }, fit: 'contain', scale: 0.35 }], VIEWPORTS['16:9']);
  const info = () => ({ ...opaque(96, 96), alphaDecoder: 'libvpx-vp9' as const, hasAlpha: true });
  expect(planRender(edit, info)).toEqual(planRender(edit, info, DEFAULT_READINGS));
  expect(planRender(edit, info)).not.toEqual(planRender(edit, info, readings({ scale: 'width' })));
});
