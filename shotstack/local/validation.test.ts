import { describe, expect, it } from 'vitest';
import { buildBubbleEdit } from '../timeline.js';
import { DEFAULT_READINGS } from '../readings.js';
import type { Edit } from '../types.js';
import { PlanError, planRender, type AssetInfo } from './plan.js';
import { validateEdit } from './validation.js';

const video = (src = 'http://127.0.0.1:1/a.mp4') => ({ type: 'video', src });
const info: AssetInfo = { width: 640, height: 360, durationSec: 3, hasAudio: true, alphaDecoder: null, hasAlpha: false };

function edit(clips: unknown[], output: Record<string, unknown> = { format: 'mp4', resolution: 'sd' }, extra: Record<string, unknown> = {}): unknown {
  return { timeline: { tracks: [{ clips }], ...extra }, output };
}

function messages(body: unknown): string[] {
  const r = validateEdit(body);
  return r.ok ? [] : r.details.map((d) => d.message);
}

describe('local renderer request validation', () => {
  it('accepts what the bubble builder emits', () => {
    const e = buildBubbleEdit({
      background: { src: 'http://127.0.0.1:1/bg.mp4', durationSec: 5, hasAudio: true },
      overlay: { kind: 'luma', colorSrc: 'http://127.0.0.1:1/c.mp4', matteSrc: 'http://127.0.0.1:1/m.mp4' },
      overlayDurationSec: 5,
      options: {
        position: 'bottomLeft', size: 0.3, margin: 0.04, aspect: '4:5', resolution: 'hd', fps: 30,
        duration: 'shorter', backgroundAudio: false, backgroundVolume: 0, readings: DEFAULT_READINGS,
      },
    });
    expect(validateEdit(e)).toMatchObject({ ok: true });
  });

  it('answers schema violations with Joi-style details', () => {
    const r = validateEdit(edit([{ asset: video(), start: -1, length: 1 }], { format: 'mp4' }));
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.details.some((d) => d.path.join('.') === 'timeline.tracks.0.clips.0.start')).toBe(true);
      expect(r.details.some((d) => /resolution/.test(d.message))).toBe(true);
    }
  });

  it('refuses features outside the supported subset, naming the field', () => {
    expect(messages(edit([{ asset: { type: 'html', html: '<p>x</p>' }, start: 0, length: 1 }]))).toEqual([
      '"timeline.tracks[0].clips[0].asset.type" "html" is not supported by the local renderer (video, luma and shape only)',
    ]);
    expect(messages(edit([{ asset: video(), start: 0, length: 1, transition: { in: 'fade' } }]))[0]).toContain('clips[0].transition');
    expect(messages(edit([{ asset: { ...video(), speed: 2 }, start: 0, length: 1 }]))[0]).toContain('asset.speed');
    expect(messages(edit([{ asset: video(), start: 0, length: 1, scale: [{ from: 0, to: 1, start: 0, length: 1 }] }]))[0]).toContain('clips[0].scale');
    expect(messages(edit([{ asset: video(), start: 0, length: 1 }], { format: 'gif', resolution: 'sd' }))[0]).toContain('output.format');
    expect(messages(edit([{ asset: video(), start: 0, length: 1 }], undefined, { soundtrack: { src: 'http://127.0.0.1:1/a.mp3' } }))[0]).toContain('timeline.soundtrack');
    expect(messages(edit([{ asset: { type: 'luma', src: 'http://127.0.0.1:1/m.mp4' }, start: 0, length: 1 }]))[0]).toContain('no video clip to mask');
    expect(messages(edit([{ asset: video('file:///etc/passwd'), start: 0, length: 1 }]))[0]).toContain('http(s) URL');
  });
});

describe('shape assets (the bubble ring)', () => {
  const ring = {
    type: 'shape', shape: 'circle', width: 120, height: 120,
    fill: { color: '#FFFFFF', opacity: 0 }, stroke: { color: '#FFFFFF', width: 8 }, circle: { radius: 52 },
  };
  const clip = (asset: Record<string, unknown>, over: Record<string, unknown> = {}) => ({ asset, start: 0, length: 1, fit: 'none', ...over });

  it('accepts the ring the builder emits, circle and rectangle', () => {
    expect(messages(edit([clip(ring)]))).toEqual([]);
    const { circle: _c, ...rest } = ring;
    expect(messages(edit([clip({ ...rest, shape: 'rectangle', rectangle: { width: 100, height: 100, cornerRadius: 18 } })]))).toEqual([]);
  });

  it('refuses what it would have to guess, naming the field', () => {
    const { fill: _f, ...noFill } = ring;
    expect(messages(edit([clip(noFill)]))).toEqual([
      '"timeline.tracks[0].clips[0].asset.fill" must be given for the local renderer (Shotstack does not document a default fill)',
    ]);
    expect(messages(edit([clip({ ...ring, shape: 'line', line: { length: 100, thickness: 4 } })])).join()).toContain('"line" is not supported');
    expect(messages(edit([clip(ring, { fit: 'crop' })]))[0]).toContain('clips[0].fit" must be "none"');
    expect(messages(edit([clip(ring, { scale: 2 })]))[0]).toContain('clips[0].scale');
    expect(messages(edit([clip(ring, { length: 'auto' })]))[0]).toContain('clips[0].length');
    expect(messages(edit([clip({ ...ring, stroke: { color: 'white', width: 8 } })]))[0]).toContain('asset.stroke.color');
    expect(messages(edit([clip(ring, { filter: 'blur' })]))[0]).toContain('clips[0].filter');
  });

  it('plans the shape at its bounding box, placed like any asset', () => {
    const p = planRender(edit([clip(ring, { position: 'topLeft', offset: { x: 0.1, y: -0.1 } })]) as Edit, () => info);
    expect(p.clips[0]).toMatchObject({ kind: 'shape', box: { width: 120, height: 120, x: 102, y: 58 }, drawing: { outline: { kind: 'circle', radius: 52 } } });
  });
});

describe('render plan timing', () => {
  const plan = (clips: unknown[]) => planRender(edit(clips) as Edit, () => info);

  it('resolves start "auto", length "auto" (minus trim) and length "end"', () => {
    const p = planRender(
      {
        timeline: {
          tracks: [
            { clips: [{ asset: { type: 'video', src: 'http://h/o.mp4' }, start: 1, length: 'end' }] },
            {
              clips: [
                { asset: { type: 'video', src: 'http://h/a.mp4', trim: 1 }, start: 0, length: 'auto' },
                { asset: { type: 'video', src: 'http://h/b.mp4' }, start: 'auto', length: 2 },
              ],
            },
          ],
        },
        output: { format: 'mp4', resolution: 'sd' },
      } as Edit,
      () => info,
    );
    expect(p.clips.map((c) => [c.kind === 'video' ? c.src.slice(-5) : c.kind, c.start, c.length])).toEqual([
      ['a.mp4', 0, 2],
      ['b.mp4', 2, 2],
      ['o.mp4', 1, 3],
    ]);
    expect(p.durationSec).toBe(4);
    expect({ width: p.width, height: p.height }).toEqual({ width: 1024, height: 576 });
  });

  it('refuses overlapping clips on one track', () => {
    expect(() => plan([{ asset: video(), start: 0, length: 2 }, { asset: video(), start: 1, length: 2 }])).toThrow(PlanError);
  });

  it('sizes clips by fit, scale, position and offset (+y is up)', () => {
    const box = (clip: Record<string, unknown>) => plan([{ asset: video(), start: 0, length: 1, ...clip }]).clips[0]!.box;
    expect(box({})).toMatchObject({ width: 1024, height: 576, x: 0, y: 0 }); // crop (default) fills the frame
    expect(box({ fit: 'none' })).toMatchObject({ width: 640, height: 360, x: 192, y: 108 });
    expect(box({ fit: 'contain', scale: 0.5, position: 'bottomRight' })).toMatchObject({ width: 512, height: 288, x: 512, y: 288 });
    expect(box({ fit: 'none', position: 'topLeft', offset: { x: 0.1, y: -0.1 } })).toMatchObject({ x: 102, y: 58 });
  });
});
