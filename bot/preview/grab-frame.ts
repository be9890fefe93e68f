import { spawnFfmpeg } from '../../common/ffmpeg.js';
import { gatedInput } from '../../common/media-gate.js';

/**
 * One decoded frame as raw RGB24 at the given size, `atSec` into the video (display orientation: ffmpeg applies
 * the rotation metadata). Returns null when the video has no frame there (shorter than `atSec`).
 */
export async function grabFrameRgb(
  path: string,
  atSec: number,
  width: number,
  height: number,
  signal?: AbortSignal,
): Promise<Buffer | null> {
  const { child, done } = spawnFfmpeg(
    [
      '-loglevel', 'error',
      '-ss', atSec.toFixed(3),
      ...gatedInput(path),
      '-map', '0:v:0', '-an', '-sn', '-dn',
      '-frames:v', '1',
      '-vf', `scale=${width}:${height}:flags=area,setsar=1,format=rgb24`,
      '-f', 'rawvideo', '-pix_fmt', 'rgb24',
      'pipe:1',
    ],
    { signal, timeoutMs: 20_000 },
  );
  const chunks: Buffer[] = [];
  child.stdout!.on('data', (c: Buffer) => chunks.push(c));
  await done;
  const frame = Buffer.concat(chunks);
  return frame.length === width * height * 3 ? frame : null;
}
