import { editSchema } from '@shotstack/schemas/zod';
import { describe, expect, it } from 'vitest';
import { planRender, type AssetInfo } from './local/plan.js';
import { DEFAULT_READINGS, type RendererReadings } from './readings.js';
import {
  BUBBLE_POSITIONS,
  bubblePlacement,
  buildBubbleEdit,
  clipScale,
  matteVariantFor,
  type BubbleEditInput,
  type BubbleEditOptions,
  type BubbleOverlay,
} from './timeline.js';
import type { Clip } from './types.js';

const options: BubbleEditOptions = {
  position: 'bottomRight',
  size: 0.35,
  margin: 0.05,
  aspect: '9:16',
  resolution: 'hd',
  fps: 25,
  duration: 'bubble',
  backgroundAudio: true,
  backgroundVolume: 0.3,
  readings: DEFAULT_READINGS,
};
const under = (r: Partial<RendererReadings>): Partial<BubbleEditOptions> => ({ readings: { ...DEFAULT_READINGS, ...r } });
/** A luma overlay carrying every matte form, so any readings find theirs. */
const allMattes: BubbleOverlay = {
  kind: 'luma',
  colorSrc: 'https://c/color.mp4',
  matteSrc: 'https://c/m.mp4',
  invertedMatteSrc: 'https://c/m-inv.mp4',
  viewportMatteSrc: 'https://c/m-vp.mp4',
  invertedViewportMatteSrc: 'https://c/m-vp-inv.mp4',
};

function input(over: Partial<BubbleEditInput> = {}, opts: Partial<BubbleEditOptions> = {}): BubbleEditInput {
  return {
    background: { src: 'https://cdn.example/bg.mp4', durationSec: 12, hasAudio: true },
    overlay: { kind: 'luma', colorSrc: 'https://cdn.example/color.mp4', matteSrc: 'https://cdn.example/matte.mp4' },
    overlayDurationSec: 10,
    ...over,
    options: { ...options, ...opts },
  };
}

const squareBubble: AssetInfo = { width: 720, height: 720, durationSec: 10, hasAudio: true, alphaDecoder: null, hasAlpha: false };
const portraitBg: AssetInfo = { width: 720, height: 1280, durationSec: 12, hasAudio: true, alphaDecoder: null, hasAlpha: false };

describe('buildBubbleEdit', () => {
  it('emits Edits the official zod schema accepts, for every position, aspect, resolution and overlay kind', () => {
    let count = 0;
    for (const position of BUBBLE_POSITIONS) {
      for (const aspect of ['9:16', '16:9', '1:1', '4:5'] as const) {
        for (const resolution of ['sd', 'hd', '1080'] as const) {
          for (const overlay of [input().overlay, { kind: 'alpha', src: 'https://cdn.example/o.webm' } as const]) {
            const edit = buildBubbleEdit(input({ overlay }, { position, aspect, resolution }));
            const parsed = editSchema.safeParse(edit);
            expect(parsed.success, JSON.stringify(parsed.error?.issues)).toBe(true);
            count++;
          }
        }
      }
    }
    expect(count).toBe(9 * 4 * 3 * 2);
  });

  it('puts the bubble on tracks[0] (top) as a luma + colour pair with identical geometry, the background below', () => {
    const edit = buildBubbleEdit(input());
    const [top, bottom] = edit.timeline.tracks;
    expect(top!.clips.map((c) => c.asset.type)).toEqual(['luma', 'video']);
    const geometry = (c: Clip) => ({ fit: c.fit, scale: c.scale, position: c.position, offset: c.offset, start: c.start, length: c.length });
    expect(geometry(top!.clips[0]!)).toEqual(geometry(top!.clips[1]!));
    expect(top!.clips[1]!.asset).toMatchObject({ src: 'https://cdn.example/color.mp4', volume: 1 });
    expect(bottom!.clips[0]).toMatchObject({ fit: 'crop', asset: { src: 'https://cdn.example/bg.mp4', volume: 0.3 } });
    expect(edit.output).toEqual({ format: 'mp4', size: { width: 720, height: 1280 }, fps: 25 });
  });

  it('places the bubble with the margin in pixels on both axes (9:16 hd, size 0.35, margin 0.05)', () => {
    const p = (position: BubbleEditOptions['position']) => bubblePlacement({ ...options, position });
    expect(p('topLeft')).toMatchObject({ width: 720, height: 1280, side: 252, x: 36, y: 36, offset: { x: 0.05, y: -0.028125 } });
    expect(p('bottomRight')).toMatchObject({ x: 432, y: 992, offset: { x: -0.05, y: 0.028125 } });
    expect(p('center')).toMatchObject({ x: 234, y: 514, offset: { x: 0, y: 0 } });
  });

  it('lands where the local renderer computes it, for every position and aspect (builder and renderer agree)', () => {
    for (const position of BUBBLE_POSITIONS) {
      for (const aspect of ['9:16', '16:9', '1:1', '4:5'] as const) {
        const edit = buildBubbleEdit(input({}, { position, aspect }));
        const plan = planRender(edit, (src) => (src.includes('bg') ? portraitBg : squareBubble));
        const bubble = plan.clips.at(-1)!;
        const want = bubblePlacement({ ...options, position, aspect });
        expect(bubble.track).toBe(0);
        expect(Math.abs(bubble.box.width - want.side)).toBeLessThanOrEqual(2);
        expect(Math.abs(bubble.box.x - want.x)).toBeLessThanOrEqual(2);
        expect(Math.abs(bubble.box.y - want.y)).toBeLessThanOrEqual(2);
        expect(bubble.kind === 'video' && bubble.mask?.alignedWithClip).toBe(true);
        expect(plan.clips[0]!.box).toMatchObject({ x: 0, y: 0, width: want.width, height: want.height });
      }
    }
  });

  it('applies the duration rule and loops a shorter background by repeating its clip', () => {
    const short = { src: 'https://cdn.example/bg.mp4', durationSec: 4, hasAudio: true };
    const loop = buildBubbleEdit(input({ background: short }, { duration: 'bubble' }));
    expect(loop.timeline.tracks[1]!.clips.map((c) => [c.start, c.length])).toEqual([[0, 4], [4, 4], [8, 2]]);
    expect(loop.timeline.tracks[0]!.clips[1]!.length).toBe(10);

    const bg = buildBubbleEdit(input({}, { duration: 'background' }));
    expect(bg.timeline.tracks[1]!.clips.map((c) => [c.start, c.length])).toEqual([[0, 12]]);
    expect(bg.timeline.tracks[0]!.clips[1]!.length).toBe(10); // the bubble ends, the background plays on

    const shorter = buildBubbleEdit(input({ background: short }, { duration: 'shorter' }));
    expect(shorter.timeline.tracks[1]!.clips.map((c) => [c.start, c.length])).toEqual([[0, 4]]);
    expect(shorter.timeline.tracks[0]!.clips[1]!.length).toBe(4);
  });

  it('mutes the background explicitly when its audio is off or absent', () => {
    const volume = (i: BubbleEditInput) => (buildBubbleEdit(i).timeline.tracks[1]!.clips[0]!.asset as { volume?: number }).volume;
    expect(volume(input({}, { backgroundAudio: false }))).toBe(0);
    expect(volume(input({ background: { src: 'https://cdn.example/bg.mp4', durationSec: 12, hasAudio: false } }))).toBe(0);
    expect(volume(input({}, { backgroundVolume: 1 }))).toBe(1);
  });

  it('uses the inverted matte for white-transparent polarity and refuses to guess without one', () => {
    const edit = buildBubbleEdit(input({ overlay: allMattes }, under({ luma: 'white-transparent' })));
    const [luma, colour] = edit.timeline.tracks[0]!.clips;
    expect(luma!.asset).toEqual({ type: 'luma', src: 'https://c/m-inv.mp4' });
    expect(luma).toMatchObject({ fit: colour!.fit, scale: colour!.scale, position: colour!.position, offset: colour!.offset });
    expect(() => buildBubbleEdit(input({}, under({ luma: 'white-transparent' })))).toThrow(/invertedMatteSrc is required under readings luma=white-transparent/);
  });

  it('emits a single alpha clip for alpha overlays', () => {
    const edit = buildBubbleEdit(input({ overlay: { kind: 'alpha', src: 'https://c/o.mov' } }));
    expect(edit.timeline.tracks[0]!.clips).toHaveLength(1);
    expect(edit.timeline.tracks[0]!.clips[0]).toMatchObject({ asset: { type: 'video', src: 'https://c/o.mov', volume: 1 }, fit: 'contain' });
  });

  it('rejects options that cannot render', () => {
    expect(() => buildBubbleEdit(input({}, { fps: 26 }))).toThrow(/fps/);
    expect(() => buildBubbleEdit(input({}, { aspect: '16:9', size: 0.6 }))).toThrow(/does not fit/);
    expect(() => buildBubbleEdit(input({}, { size: 0 }))).toThrow(/size/);
    expect(() => buildBubbleEdit(input({}, { backgroundVolume: 2 }))).toThrow(/backgroundVolume/);
    expect(() => buildBubbleEdit(input({ overlayDurationSec: 0 }))).toThrow(/overlayDurationSec/);
  });

  it('adds a ring (shape asset, stroke only) on a track between the bubble and the background, centred on the bubble', () => {
    const ring = { color: '#FFFFFF', widthPx: 6 };
    for (const position of BUBBLE_POSITIONS) {
      for (const shape of ['circle', 'rounded', 'rect'] as const) {
        const edit = buildBubbleEdit(input({}, { position, ring, shape }));
        const parsed = editSchema.safeParse(edit);
        expect(parsed.success, JSON.stringify(parsed.error?.issues)).toBe(true);
        expect(edit.timeline.tracks.map((t) => t.clips[0]!.asset.type)).toEqual(['luma', 'shape', 'video']);
        const ringClip = edit.timeline.tracks[1]!.clips[0]!;
        expect(ringClip).toMatchObject({ start: 0, length: 10, fit: 'none', position });
        // Where the local renderer puts the ring's box and the bubble: same centre, ±1 px (rounding).
        const plan = planRender(edit, (src) => (src.includes('bg') ? portraitBg : squareBubble));
        const box = (track: number) => plan.clips.find((c) => c.track === track)!.box;
        const centre = (b: { x: number; y: number; width: number; height: number }) => [b.x + b.width / 2, b.y + b.height / 2];
        const [rx, ry] = centre(box(1));
        const [bx, by] = centre(box(0));
        expect(Math.abs(rx! - bx!), `${position} ${shape} x`).toBeLessThanOrEqual(1);
        expect(Math.abs(ry! - by!), `${position} ${shape} y`).toBeLessThanOrEqual(1);
      }
    }
  });

  it('sizes the ring from the bubble: circle radius, rectangle side, rounded corner (9:16 hd, side 252, ring 6 px)', () => {
    const ring = { color: '#00FF00', widthPx: 6 };
    const asset = (shape: 'circle' | 'rounded' | 'rect') => buildBubbleEdit(input({}, { ring, shape })).timeline.tracks[1]!.clips[0]!.asset;
    // The stroke (12 px = the ring + 6 px tucked under the bubble's soft edge) is centred on the outline,
    // so it covers 120..132 px from the centre: the bubble's edge is at 126, the ring ends 6 px outside it.
    const style = { width: 268, height: 268, fill: { color: '#00FF00', opacity: 0 }, stroke: { color: '#00FF00', width: 12 } };
    expect(asset('circle')).toEqual({ type: 'shape', shape: 'circle', ...style, circle: { radius: 126 } });
    expect(asset('rect')).toEqual({ type: 'shape', shape: 'rectangle', ...style, rectangle: { width: 252, height: 252 } });
    // The engine's default corner is 0.18 of the side (45 px at 252).
    expect(asset('rounded')).toEqual({ type: 'shape', shape: 'rectangle', ...style, rectangle: { width: 252, height: 252, cornerRadius: 45 } });
    // bottomRight, margin 36 px: the 268 px box sits 8 px further out than the bubble (36 - 6 - 2 px slack).
    const offset = buildBubbleEdit(input({}, { ring })).timeline.tracks[1]!.clips[0]!.offset!;
    expect(offset.x).toBeCloseTo(-28 / 720, 6);
    expect(offset.y).toBeCloseTo(28 / 1280, 6);
  });

  it('has no ring track without the option, and refuses a bad ring', () => {
    expect(buildBubbleEdit(input()).timeline.tracks).toHaveLength(2);
    expect(() => buildBubbleEdit(input({}, { ring: { color: 'white', widthPx: 6 } }))).toThrow(/ring.color/);
    expect(() => buildBubbleEdit(input({}, { ring: { color: '#FFFFFF', widthPx: 0 } }))).toThrow(/ring.widthPx/);
  });

  it('is pure: the same input gives the same Edit', () => {
    expect(buildBubbleEdit(input({ overlay: allMattes }, under({ lumaGeometry: 'viewport' })))).toEqual(
      buildBubbleEdit(input({ overlay: allMattes }, under({ lumaGeometry: 'viewport' }))),
    );
    expect(buildBubbleEdit(input())).toEqual(buildBubbleEdit(input()));
  });
});

describe('buildBubbleEdit under each renderer reading', () => {
  const sizes = { '16:9': [1280, 720], '9:16': [720, 1280], '1:1': [720, 720] } as const;

  it('scales the bubble by what the renderer multiplies: the fitted square, the width or the height', () => {
    // size 0.35 of the width: 448 px at 16:9, 252 px at 9:16 and 1:1.
    const want = {
      fit: { '16:9': 448 / 720, '9:16': 252 / 720, '1:1': 252 / 720 },
      width: { '16:9': 0.35, '9:16': 0.35, '1:1': 0.35 },
      height: { '16:9': 448 / 720, '9:16': 252 / 1280, '1:1': 252 / 720 },
    } as const;
    for (const scale of ['fit', 'width', 'height'] as const) {
      for (const aspect of ['16:9', '9:16', '1:1'] as const) {
        const [luma, colour] = buildBubbleEdit(input({}, { aspect, ...under({ scale }) })).timeline.tracks[0]!.clips;
        expect(colour!.scale, `${scale} ${aspect}`).toBeCloseTo(want[scale][aspect], 6);
        expect(luma!.scale, `${scale} ${aspect}`).toBe(colour!.scale);
        const [W, H] = sizes[aspect];
        expect(clipScale({ side: 0.35 * W, width: W, height: H }, scale)).toBeCloseTo(want[scale][aspect], 6);
      }
    }
  });

  it('lands where a renderer with those readings puts it, for every scale base, geometry, position and aspect', () => {
    for (const scale of ['fit', 'width', 'height'] as const) {
      for (const lumaGeometry of ['clip', 'viewport'] as const) {
        const readings = { ...DEFAULT_READINGS, scale, lumaGeometry };
        for (const position of BUBBLE_POSITIONS) {
          for (const aspect of ['9:16', '16:9', '1:1', '4:5'] as const) {
            const edit = buildBubbleEdit(input({ overlay: allMattes }, { position, aspect, readings }));
            const viewport = bubblePlacement({ ...options, position, aspect });
            const matteInfo = (src: string) =>
              src.includes('m-vp') ? { ...squareBubble, width: viewport.width, height: viewport.height } : squareBubble;
            const plan = planRender(edit, (src) => (src.includes('bg') ? portraitBg : matteInfo(src)), readings);
            const bubble = plan.clips.at(-1)!;
            const label = `${scale} ${lumaGeometry} ${position} ${aspect}`;
            expect(Math.abs(bubble.box.width - viewport.side), label).toBeLessThanOrEqual(2);
            expect(Math.abs(bubble.box.x - viewport.x), label).toBeLessThanOrEqual(2);
            expect(Math.abs(bubble.box.y - viewport.y), label).toBeLessThanOrEqual(2);
            if (bubble.kind !== 'video' || !bubble.mask) throw new Error(`${label}: the bubble has no mask`);
            // Clip geometry: the matte follows the bubble; viewport geometry: it covers the frame (its disc is
            // drawn at the bubble's place).
            const maskBox = lumaGeometry === 'clip' ? bubble.box : { x: 0, y: 0, width: viewport.width, height: viewport.height };
            expect(bubble.mask.box, label).toMatchObject(maskBox);
          }
        }
      }
    }
  });

  it('under viewport geometry: a viewport-size matte in a luma clip with neutral geometry; the colour clip keeps its place', () => {
    for (const luma of ['white-visible', 'white-transparent'] as const) {
      const edit = buildBubbleEdit(input({ overlay: allMattes }, under({ luma, lumaGeometry: 'viewport', scale: 'width' })));
      const [lumaClip, colour] = edit.timeline.tracks[0]!.clips;
      expect(lumaClip).toEqual({
        asset: { type: 'luma', src: luma === 'white-visible' ? 'https://c/m-vp.mp4' : 'https://c/m-vp-inv.mp4' },
        start: 0,
        length: 10,
        fit: 'crop',
        position: 'center',
      });
      expect(colour).toMatchObject({ fit: 'contain', scale: 0.35, position: 'bottomRight', offset: { x: -0.05, y: 0.028125 } });
      expect(editSchema.safeParse(edit).success).toBe(true);
    }
    expect(() => buildBubbleEdit(input({}, under({ lumaGeometry: 'viewport' })))).toThrow(/viewportMatteSrc is required under readings luma=white-visible, luma-geometry=viewport/);
  });

  it('names the matte form each combination of luma readings needs', () => {
    expect(matteVariantFor({ luma: 'white-visible', lumaGeometry: 'clip' })).toBe('square');
    expect(matteVariantFor({ luma: 'white-transparent', lumaGeometry: 'clip' })).toBe('square-inverted');
    expect(matteVariantFor({ luma: 'white-visible', lumaGeometry: 'viewport' })).toBe('viewport');
    expect(matteVariantFor({ luma: 'white-transparent', lumaGeometry: 'viewport' })).toBe('viewport-inverted');
  });

  it('refuses an alpha overlay the renderer would flatten, naming the reading', () => {
    const mov: BubbleOverlay = { kind: 'alpha', src: 'https://c/o.mov', format: 'mov' };
    const webm: BubbleOverlay = { kind: 'alpha', src: 'https://c/o.webm', format: 'webm' };
    const unsaid: BubbleOverlay = { kind: 'alpha', src: 'https://c/o' };
    const refused = (overlay: BubbleOverlay, r: Partial<RendererReadings>) => () => buildBubbleEdit(input({ overlay }, under(r)));
    expect(refused(mov, { alphaMov: 'lost' })).toThrow(RangeError);
    expect(refused(mov, { alphaMov: 'lost' })).toThrow(/alpha-mov=lost/);
    expect(refused(webm, { alphaWebm: 'lost' })).toThrow(/alpha-webm=lost/);
    expect(refused(unsaid, { alphaWebm: 'lost' })).toThrow(/alpha-webm=lost/);
    // A lost format the overlay is not in does not matter.
    expect(refused(mov, { alphaWebm: 'lost' })).not.toThrow();
    expect(refused(webm, { alphaMov: 'lost' })).not.toThrow();
  });

  it('emits Edits the official schema accepts under every reading', () => {
    for (const luma of ['white-visible', 'white-transparent'] as const) {
      for (const lumaGeometry of ['clip', 'viewport'] as const) {
        for (const scale of ['fit', 'width', 'height'] as const) {
          for (const overlay of [allMattes, { kind: 'alpha', src: 'https://c/o.mov', format: 'mov' } as const]) {
            const parsed = editSchema.safeParse(buildBubbleEdit(input({ overlay }, under({ luma, lumaGeometry, scale }))));
            expect(parsed.success, JSON.stringify(parsed.error?.issues)).toBe(true);
          }
        }
      }
    }
  });
});
