import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { probeMedia } from '../common/ffmpeg.js';

/** A clip of the shared media with exact ground truth: `<name>.mp4` beside `<name>.alpha.mkv`. */
export interface GtClip {
  name: string;
  video: string;
  alpha: string;
  /** Display size (rotation applied), nominal frame rate and length of the video. */
  width: number;
  height: number;
  fps: number;
  durationSec: number;
}

/** Every clip in `mediaDir` (top level only: `bad/` holds refusals) that has a ground truth, sorted by name. */
export async function findClips(mediaDir: string, only: readonly string[] = []): Promise<GtClip[]> {
  const names = (await readdir(mediaDir))
    .filter((f) => f.endsWith('.alpha.mkv'))
    .map((f) => f.slice(0, -'.alpha.mkv'.length))
    .filter((n) => only.length === 0 || only.some((o) => n === o || n.startsWith(`${o}_`)))
    .sort();
  const missing = only.filter((o) => !names.some((n) => n === o || n.startsWith(`${o}_`)));
  if (missing.length) throw new Error(`no clip with ground truth named ${missing.join(', ')} in ${mediaDir}`);
  return Promise.all(
    names.map(async (name) => {
      const video = join(mediaDir, `${name}.mp4`);
      const info = await probeMedia(video);
      const v = info.video!;
      const alpha = join(mediaDir, `${name}.alpha.mkv`);
      const fps = v.fps > 0 ? v.fps : v.avgFps;
      return { name, video, alpha, width: v.width, height: v.height, fps, durationSec: info.durationSec };
    }),
  );
}

/**
 * The output rate that samples about `frames` frames spread over the whole clip: the clip's rate divided by an
 * ODD whole step. The engine's fps filter then takes one source frame per step, and with an odd step no source frame
 * sits exactly halfway between two output slots, so the millisecond timestamps of the ground truth and the
 * exact ones of the mp4 pick the same frames (see ground-truth.ts).
 */
export function samplingFps(clip: Pick<GtClip, 'fps' | 'durationSec'>, frames: number): number {
  const total = Math.max(1, Math.round(clip.durationSec * clip.fps));
  let step = Math.max(1, Math.round(total / Math.max(1, frames)));
  if (step % 2 === 0) step += 1;
  return clip.fps / step;
}
