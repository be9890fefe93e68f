import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Rgb } from '../shotstack/probe-media.js';
import { readFrames } from './media.js';

/**
 * Test helpers for the shotstack suite. The synthetic inputs themselves (solid clips, disc matte, alpha bubbles)
 * live in shotstack/probe-media.ts, shared with `npm run shotstack:check`.
 */
export { isBlue, isGreen, isRed, makeAlphaBubble, makeCircleMatte, makeSolidVideo, type Rgb } from '../shotstack/probe-media.js';

export async function makeTempDir(prefix = 'shotstack-test-'): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Frame number `frame` decoded as rgb24, with a pixel reader. */
export async function frameAt(file: string, frame: number, width: number): Promise<(x: number, y: number) => Rgb> {
  const buf = await readFrames(file, { pixFmt: 'rgb24', from: frame, count: 1 });
  return (x, y) => {
    const i = (Math.round(y) * width + Math.round(x)) * 3;
    return [buf[i]!, buf[i + 1]!, buf[i + 2]!];
  };
}
