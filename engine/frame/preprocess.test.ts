import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { media, needSharedMedia } from '../../testing/media.js';
import { MODELS } from '../models/registry.js';
import { Preprocessor, YuvPreprocessor, yuvMatrixOf } from './preprocess.js';

const clip = media('hopper_mall_720x1280.mp4');

/** Frame 45 of the clip as ffmpeg decodes it: yuv420p as it is, and rgb24 the way the RGB decoder converted it. */
function frame(pixFmt: 'yuv420p' | 'rgb24'): Buffer {
  return execFileSync('ffmpeg', ['-loglevel', 'error', '-i', clip, '-vf', 'select=eq(n\\,45),scale=720:1280:flags=area', '-frames:v', '1', '-f', 'rawvideo', '-pix_fmt', pixFmt, 'pipe:1'], {
    maxBuffer: 8 << 20,
  });
}

/** Mean and worst difference between two model inputs, in 8-bit steps. */
function diff(a: Float32Array, b: Float32Array, scale: number): { mean: number; worst: number } {
  let worst = 0;
  let sum = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]) / scale;
    worst = Math.max(worst, d);
    sum += d;
  }
  return { mean: sum / a.length, worst };
}

describe.skipIf(!needSharedMedia())('model input from YUV', () => {
  it('matches the RGB preprocessor on an ffmpeg-converted copy of the same frame, with the stream\'s matrix', () => {
    // The clip is tagged BT.709, which ffmpeg honours when it converts to RGB.
    expect(yuvMatrixOf('bt709')).toBe('bt709');
    expect(yuvMatrixOf(null)).toBe('bt601');
    const [rgb, yuv] = [frame('rgb24'), frame('yuv420p')];
    for (const spec of [MODELS.selfie_general, MODELS.selfie_landscape]) {
      const fromRgb = new Preprocessor(720, 1280, spec).run(rgb);
      const right = diff(fromRgb, new YuvPreprocessor(720, 1280, spec, 'bt709').run(yuv), spec.scale);
      // ffmpeg interpolates chroma where we take the 2×2 block's sample: small differences at colour edges only.
      expect(right.mean).toBeLessThan(1.5);
      expect(right.worst).toBeLessThan(16);
      const wrong = diff(fromRgb, new YuvPreprocessor(720, 1280, spec, 'bt601').run(yuv), spec.scale);
      expect(wrong.mean).toBeGreaterThan(right.mean * 1.5);
    }
  });
});
