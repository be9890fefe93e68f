import { access, mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { makeAlphaBubble, makeCircleMatte, makeSolidVideo } from '../probe-media.js';
import { ALPHA_DISC, MATTE_DISC, MEDIA_SIDE, PROBE_SECONDS } from './probes.js';

/**
 * The four files a calibration uploads (probes.ts): a red square, a disc matte of the same size and two red
 * squares whose alpha is a disc (WebM VP9, MOV qtrle). They never change for a given probe design, so they are
 * made once per folder and reused; the folder's name carries the design's numbers, so a new design makes new files.
 */
export interface ProbeMediaFiles {
  red: string;
  matte: string;
  webm: string;
  mov: string;
}

const NAMES: ProbeMediaFiles = { red: 'red.mp4', matte: 'matte.mp4', webm: 'alpha.webm', mov: 'alpha.mov' };

export function probeMediaDir(root: string): string {
  return join(root, `bubblecast-calibration-media-s${MEDIA_SIDE}-m${MATTE_DISC}-a${ALPHA_DISC}-d${PROBE_SECONDS}`);
}

function filesIn(dir: string): ProbeMediaFiles {
  return Object.fromEntries(Object.entries(NAMES).map(([k, name]) => [k, join(dir, name)])) as unknown as ProbeMediaFiles;
}

async function complete(files: ProbeMediaFiles): Promise<boolean> {
  const present = await Promise.all(Object.values(files).map((f) => access(f).then(() => true, () => false)));
  return present.every(Boolean);
}

async function makeAll(dir: string): Promise<void> {
  const f = filesIn(dir);
  const durationSec = PROBE_SECONDS;
  // One at a time: each ffmpeg uses both cores of a small box.
  await makeSolidVideo(f.red, { color: 'red', width: MEDIA_SIDE, height: MEDIA_SIDE, durationSec });
  await makeCircleMatte(f.matte, { size: MEDIA_SIDE, durationSec, radiusFraction: MATTE_DISC });
  await makeAlphaBubble(f.webm, { color: 'red', size: MEDIA_SIDE, durationSec, format: 'webm', radiusFraction: ALPHA_DISC });
  await makeAlphaBubble(f.mov, { color: 'red', size: MEDIA_SIDE, durationSec, format: 'mov', radiusFraction: ALPHA_DISC });
}

/**
 * The probe files under `root`, made when missing. They are made in a fresh folder and moved into place whole,
 * so a concurrent calibration never sees half a set.
 */
export async function ensureProbeMedia(root: string): Promise<ProbeMediaFiles> {
  const dir = probeMediaDir(root);
  const files = filesIn(dir);
  if (await complete(files)) return files;
  await mkdir(dirname(dir), { recursive: true });
  const fresh = await mkdtemp(`${dir}.tmp-`);
  try {
    await makeAll(fresh);
    if (await complete(files)) return files; // another run finished first
    await rm(dir, { recursive: true, force: true }); // an incomplete set (a file deleted under it)
    await rename(fresh, dir);
    return files;
  } finally {
    await rm(fresh, { recursive: true, force: true });
  }
}
