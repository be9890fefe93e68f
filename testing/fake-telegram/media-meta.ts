import { probeMedia } from '../../common/ffmpeg.js';
import type { StoredFile } from './types.js';

export interface MediaMeta {
  width: number;
  height: number;
  duration: number;
}

/** What the real server reports about a video it received; zeros when the bytes are not media it can read. */
export async function mediaMeta(f: Pick<StoredFile, 'path'>): Promise<MediaMeta> {
  try {
    const info = await probeMedia(f.path);
    return { width: info.video?.width ?? 0, height: info.video?.height ?? 0, duration: Math.round(info.durationSec) };
  } catch {
    return { width: 0, height: 0, duration: 0 };
  }
}
