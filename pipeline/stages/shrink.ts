import { mkdir, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { runFfmpeg } from '../../common/ffmpeg.js';
import { gatedInput } from '../../common/media-gate.js';

/**
 * Re-encodes a video to fit under `maxBytes` (the upload cap of `telegramLimits`, or less after the server refused
 * a file as too large), by average bitrate with a little headroom for the container. Returns null when the clip is
 * so long that the bitrate would be unwatchable, or when the result still does not fit.
 */
const AUDIO_BPS = 96_000;
const MIN_VIDEO_BPS = 250_000;

export async function shrinkToFit(
  input: string,
  output: string,
  maxBytes: number,
  durationSec: number,
  opts: { signal?: AbortSignal } = {},
): Promise<{ bytes: number } | null> {
  if (!(durationSec > 0)) return null;
  const videoBps = Math.floor((maxBytes * 0.9 * 8) / durationSec) - AUDIO_BPS;
  if (videoBps < MIN_VIDEO_BPS) return null;
  await mkdir(dirname(output), { recursive: true });
  await runFfmpeg(
    [
      ...gatedInput(input),
      '-map', '0:v:0', '-map', '0:a:0?',
      '-c:v', 'libx264', '-preset', 'veryfast', '-b:v', String(videoBps), '-maxrate', String(videoBps),
      '-bufsize', String(videoBps * 2), '-pix_fmt', 'yuv420p',
      '-c:a', 'aac', '-b:a', String(AUDIO_BPS),
      '-movflags', '+faststart',
      output,
    ],
    { signal: opts.signal, timeoutMs: Math.max(120_000, durationSec * 4000) },
  );
  const { size } = await stat(output);
  return size <= maxBytes ? { bytes: size } : null;
}
