import { editSchema } from '@shotstack/schemas/zod';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../common/config.js';
import { DEFAULT_READINGS } from '../../shotstack/readings.js';
import { bubblePlacement, buildBubbleEdit } from '../../shotstack/timeline.js';
import { loadPipelineConfig } from '../config.js';
import { parseJobData } from '../contract.js';
import { renderSettingsFromConfig } from '../services.js';
import { bubbleLayout, engineOptionsFor, overlayKindUnder, requiredOverlayFiles } from './layout.js';

/** PIPELINE_BUBBLE_RING, from the environment to the Edit the render stage submits. */
const ref = (id: string) => ({ source: 'telegram' as const, fileId: `AgAC${id}xyz`, fileUniqueId: `u${id}abc`, kind: 'video' as const });
const settingsFor = (env: Record<string, string>) => renderSettingsFromConfig(loadPipelineConfig.parse(env));

describe('PIPELINE_BUBBLE_RING', () => {
  it('is off when unset or empty', () => {
    expect(settingsFor({}).bubbleRing).toBeUndefined();
    expect(settingsFor({ PIPELINE_BUBBLE_RING: '' }).bubbleRing).toBeUndefined();
    const data = parseJobData({ chatId: 1, userId: 2, head: ref('a'), background: ref('b') });
    expect(bubbleLayout(data, settingsFor({})).edit.ring).toBeUndefined();
  });

  it('parses WIDTH:#RRGGBB and refuses anything else, naming the variable', () => {
    expect(settingsFor({ PIPELINE_BUBBLE_RING: '6:#ffffff' }).bubbleRing).toEqual({ widthPx: 6, color: '#FFFFFF' });
    for (const bad of ['6', '#FFFFFF', '6:white', '0:#FFFFFF', '65:#FFFFFF', '6:#FFF', ' x:#FFFFFF']) {
      const error = (() => {
        try {
          settingsFor({ PIPELINE_BUBBLE_RING: bad });
        } catch (e) {
          return e;
        }
      })();
      expect(error, bad).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).message, bad).toMatch(/PIPELINE_BUBBLE_RING: PIPELINE_BUBBLE_RING (must be WIDTH:#RRGGBB|width must be 1\.\.64)/);
    }
  });

  it('reaches the timeline options with the job\'s shape, and the Edit validates', () => {
    const settings = settingsFor({ PIPELINE_BUBBLE_RING: '6:#FFCC00' });
    for (const shape of ['circle', 'rounded', 'rect'] as const) {
      const data = parseJobData({ chatId: 1, userId: 2, head: ref('a'), background: ref('b'), options: { shape } });
      const { edit } = bubbleLayout(data, settings);
      expect(edit).toMatchObject({ ring: { widthPx: 6, color: '#FFCC00' }, shape, cornerRadius: 0.18 });
      const built = buildBubbleEdit({
        background: { src: 'https://cdn.example/bg.mp4', durationSec: 5, hasAudio: true },
        overlay: { kind: 'luma', colorSrc: 'https://cdn.example/c.mp4', matteSrc: 'https://cdn.example/m.mp4' },
        overlayDurationSec: 5,
        options: { ...edit, readings: DEFAULT_READINGS },
      });
      expect(built.timeline.tracks[1]!.clips[0]!.asset).toMatchObject({ type: 'shape', stroke: { color: '#FFCC00' } });
      expect(editSchema.safeParse(built).success).toBe(true);
    }
  });
});

describe('bubble layout and the renderer readings', () => {
  const data = parseJobData({ chatId: 1, userId: 2, head: ref('a'), background: ref('b'), output: 'video' });

  it('carries the bubble placement (a viewport-size matte is drawn from it) and leaves the readings to the render stage', () => {
    const layout = bubbleLayout(data, settingsFor({}));
    expect(layout.placement).toEqual(bubblePlacement(layout.edit));
    expect(layout.placement).toMatchObject({ width: layout.width, height: layout.height, side: layout.bubblePx });
    expect('readings' in layout.edit).toBe(false);
  });

  it('PIPELINE_OVERLAY_KIND=alpha becomes the luma pair only when the renderer loses a MOV\'s alpha', () => {
    expect(overlayKindUnder('alpha', { alphaMov: 'kept' })).toBe('alpha');
    expect(overlayKindUnder('alpha', { alphaMov: 'lost' })).toBe('luma');
    expect(overlayKindUnder('luma', { alphaMov: 'lost' })).toBe('luma');
    expect(overlayKindUnder('luma', { alphaMov: 'kept' })).toBe('luma');
    const alpha = settingsFor({ PIPELINE_OVERLAY_KIND: 'alpha' });
    const fallen = { ...alpha, overlayKind: overlayKindUnder(alpha.overlayKind, { alphaMov: 'lost' }) };
    expect(requiredOverlayFiles(data, alpha)).toEqual(['overlay.mov']);
    expect(requiredOverlayFiles(data, fallen)).toEqual(['color.mp4', 'matte.mp4']);
    expect(engineOptionsFor(data, fallen).formats).toEqual(['luma']);
  });
});

describe('GPU_WORKER_URL', () => {
  it('must be https (http only to loopback), refused at start naming the variable', () => {
    for (const ok of ['https://gpu.example.com', 'http://127.0.0.1:8080', 'http://localhost:9000/']) {
      expect(loadPipelineConfig.parse({ GPU_WORKER_URL: ok }).GPU_WORKER_URL, ok).toBe(ok);
    }
    for (const bad of ['http://gpu.example.com', 'http://10.0.0.5:8080', 'https://user:pw@gpu.example.com']) {
      expect(() => loadPipelineConfig.parse({ GPU_WORKER_URL: bad }), bad).toThrow(/GPU_WORKER_URL: GPU worker URL/);
    }
  });
});
