import { join } from 'node:path';
import { runFfmpeg, type RunOptions } from '../common/ffmpeg.js';
import type { MatteVariant } from './timeline.js';

/**
 * The matte forms a renderer's readings may need (see `matteVariantFor` in timeline.ts), made from the engine's
 * square matte (white = visible) with ffmpeg. The engine always writes one convention; adapting it here keeps the
 * renderer's quirks out of the engine. Matte streams are greyscale and small, so this costs little.
 */

const ENCODE = ['-c:v', 'libx264', '-preset', 'veryfast', '-crf', '18', '-threads', '2', '-an', '-movflags', '+faststart'];
const DEFAULT_TIMEOUT_MS = 10 * 60_000;

/** Where the bubble lies in the output, in pixels: the viewport size and the bubble square's corner and side. */
export interface MatteFrame {
  width: number;
  height: number;
  x: number;
  y: number;
  side: number;
}

/** Writes the inverse of a greyscale matte (white ↔ black), for a renderer that reads white as transparent. */
export async function invertMatte(srcPath: string, destPath: string, opts: RunOptions = {}): Promise<void> {
  await runFfmpeg(
    ['-i', srcPath, '-map', '0:v:0', '-vf', 'format=gray,negate,format=yuv420p', ...ENCODE, destPath],
    { timeoutMs: opts.timeoutMs ?? DEFAULT_TIMEOUT_MS, signal: opts.signal },
  );
}

/**
 * Writes a viewport-size matte: the square matte scaled to the bubble's side and drawn at its pixel place on a
 * black `width`×`height` canvas (black = nothing shows), for a renderer that stretches every luma clip over the
 * viewport. `invert` flips the whole frame afterwards (for a white-transparent renderer the canvas must be white).
 */
export async function viewportMatte(
  srcPath: string,
  destPath: string,
  frame: MatteFrame,
  opts: RunOptions & { invert?: boolean } = {},
): Promise<void> {
  const side = Math.round(frame.side);
  // The renderer rounds the bubble's corner to whole pixels too; clamping only absorbs that rounding.
  const x = Math.min(Math.max(0, Math.round(frame.x)), frame.width - side);
  const y = Math.min(Math.max(0, Math.round(frame.y)), frame.height - side);
  const filter = [
    `scale=${side}:${side}`,
    // Padded in the matte's own (limited-range) YUV, 4:4:4 so an odd corner stays where it is: the canvas black is
    // then exactly the matte's black. (Padding the grey form instead writes 16 beside the matte's 0: a faint
    // square outline round the bubble once read as a matte.)
    'format=yuv444p',
    `pad=${frame.width}:${frame.height}:${x}:${y}:color=black`,
    'format=gray',
    ...(opts.invert ? ['negate'] : []),
    'format=yuv420p',
  ].join(',');
  await runFfmpeg(['-i', srcPath, '-map', '0:v:0', '-vf', filter, ...ENCODE, destPath], {
    timeoutMs: opts.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    signal: opts.signal,
  });
}

/**
 * The matte file of form `variant`, made from the engine's square matte into `outDir` (the square form is the
 * engine's file itself). `frame` places the bubble for the viewport forms.
 */
export async function prepareMatte(
  variant: MatteVariant,
  squareMatte: string,
  outDir: string,
  frame: MatteFrame,
  opts: RunOptions = {},
): Promise<string> {
  switch (variant) {
    case 'square':
      return squareMatte;
    case 'square-inverted': {
      const dest = join(outDir, 'matte.inverted.mp4');
      await invertMatte(squareMatte, dest, opts);
      return dest;
    }
    case 'viewport':
    case 'viewport-inverted': {
      const dest = join(outDir, `matte.${variant}.mp4`);
      await viewportMatte(squareMatte, dest, frame, { ...opts, invert: variant === 'viewport-inverted' });
      return dest;
    }
  }
}
