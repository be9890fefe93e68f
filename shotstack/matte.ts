import { runFfmpeg, type RunOptions } from '../common/ffmpeg.js';

/**
 * Writes the inverse of a greyscale matte (white ↔ black) as H.264, for a renderer that reads luma mattes as
 * white = transparent (`SHOTSTACK_LUMA_POLARITY=white-transparent`). The engine always writes white = visible;
 * inverting here keeps that convention in one place. The matte stream is tiny, so this costs little.
 */
export async function invertMatte(srcPath: string, destPath: string, opts: RunOptions = {}): Promise<void> {
  await runFfmpeg(
    [
      '-i', srcPath,
      '-map', '0:v:0',
      '-vf', 'format=gray,negate,format=yuv420p',
      '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '18', '-threads', '2',
      '-an', '-movflags', '+faststart',
      destPath,
    ],
    { timeoutMs: opts.timeoutMs ?? 10 * 60_000, signal: opts.signal },
  );
}
