import { spawnFfmpeg } from '../common/ffmpeg.js';

/**
 * Reads ground-truth alpha and predicted masks as 8-bit gray frames, on the grid the engine renders on.
 *
 * The engine decodes its input with `fps=F,scale=W:H:flags=area` (engine/io/decode.ts) and writes one mask frame per
 * output frame. Reading the ground truth through the same two filters, with the same F string, picks the same
 * source frames: the `.alpha.mkv` carries the mp4's timestamps to the millisecond, and the sampling step of
 * `samplingFps` keeps every source frame well away from the fps filter's rounding boundary, so a 1 ms
 * difference cannot move a frame to the neighbouring slot. (The shared iou.mjs pairs frames by index, which is the
 * same thing when F is the clip's own rate.)
 */
export interface Grid {
  width: number;
  height: number;
  fps: number;
}

/** Ground truth → gray frames resampled to the engine's grid (time: fps filter; space: area scale, as the decoder). */
export function readGroundTruth(file: string, grid: Grid): Promise<Uint8Array[]> {
  const vf = `fps=${grid.fps},scale=${grid.width}:${grid.height}:flags=area,format=gray`;
  return readGray(file, grid.width, grid.height, ['-vf', vf]);
}

/**
 * The engine's `mask.mp4` → gray frames, one per rendered frame (no resampling). `format=gray` turns its
 * limited-range luma into full range, as iou.mjs does.
 */
export function readMask(file: string, width: number, height: number): Promise<Uint8Array[]> {
  return readGray(file, width, height, ['-vf', 'format=gray', '-fps_mode', 'passthrough']);
}

/** Any video → gray frames of `width`×`height` after the given output arguments (a filter, a frame-rate mode). */
export async function readGray(file: string, width: number, height: number, filter: string[]): Promise<Uint8Array[]> {
  const { child, done } = spawnFfmpeg(
    ['-loglevel', 'error', '-i', file, '-map', '0:v:0', ...filter, '-f', 'rawvideo', '-pix_fmt', 'gray', 'pipe:1'],
    { stdio: ['ignore', 'pipe', 'pipe'], timeoutMs: 120_000 },
  );
  const chunks: Buffer[] = [];
  child.stdout!.on('data', (c: Buffer) => chunks.push(c));
  await done;
  const all = Buffer.concat(chunks);
  const size = width * height;
  if (all.length % size !== 0) throw new Error(`${file}: ${all.length} bytes is not a whole number of ${width}×${height} frames`);
  const frames: Uint8Array[] = [];
  for (let o = 0; o < all.length; o += size) frames.push(all.subarray(o, o + size));
  return frames;
}
