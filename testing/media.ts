import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Test helpers for the shared media folder (../shared beside the repo) and for reading pixels back. */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const sharedDir = resolve(repoRoot, '..', 'shared');
export const mediaDir = join(sharedDir, 'media');
/** A file every media test needs; its absence means the whole folder is missing. */
const MEDIA_MARKER = join(mediaDir, 'hopper_mall_720x1280.mp4');
export const hasSharedMedia = existsSync(MEDIA_MARKER);
export const SKIP_NO_MEDIA = '../shared/media is absent: media tests skipped';

/** CI runs say so with CI=true (`.ci/run` exports it; so do the common CI services). */
function inCi(): boolean {
  return ['true', '1'].includes((process.env.CI ?? '').toLowerCase());
}

const warned = new Set<string>();

/**
 * The one gate for tests that need the shared media (../shared beside the repository): use it as
 * `describe.skipIf(!needSharedMedia())(…)` (or `it.skipIf`). True when `path` (default: the media folder's marker
 * file) exists. When it does not:
 * - locally it warns once, naming the path, and returns false: those tests skip, saying why;
 * - in CI (CI=true) it throws: the test file fails with the reason, instead of the run passing with the media
 *   tests quietly skipped.
 */
export function needSharedMedia(path: string = MEDIA_MARKER): boolean {
  if (existsSync(path)) return true;
  const reason = `${path} is missing: the test media live in ../shared beside the repository (see ../shared/README.md)`;
  if (inCi()) throw new Error(`${reason}. CI=true: a missing ../shared fails the run instead of skipping the media tests`);
  if (!warned.has(path)) {
    warned.add(path);
    console.warn(`${reason}; the tests that need it are skipped (${SKIP_NO_MEDIA})`);
  }
  return false;
}

export function media(name: string): string {
  return join(mediaDir, name);
}

function capture(cmd: string, args: string[]): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    let err = '';
    p.stdout.on('data', (c: Buffer) => chunks.push(c));
    p.stderr.on('data', (c: Buffer) => (err += c));
    p.on('error', reject);
    p.on('close', (code) => (code === 0 ? resolve(Buffer.concat(chunks)) : reject(new Error(`${cmd} ${code}: ${err}`))));
  });
}

/**
 * Decodes frames [from, from+count) as raw pixels. `libvpx` forces the libvpx VP9 decoder, the only one that
 * returns the alpha side channel of a WebM.
 */
export async function readFrames(
  file: string,
  opts: { pixFmt: 'rgba' | 'rgb24' | 'gray'; from?: number; count?: number; libvpx?: boolean },
): Promise<Buffer> {
  const from = opts.from ?? 0;
  const args = ['-v', 'error', ...(opts.libvpx ? ['-c:v', 'libvpx-vp9'] : []), '-i', file];
  args.push('-vf', `select=gte(n\\,${from})`, '-fps_mode', 'passthrough');
  if (opts.count) args.push('-frames:v', String(opts.count));
  args.push('-f', 'rawvideo', '-pix_fmt', opts.pixFmt, '-');
  return capture('ffmpeg', args);
}

export async function probeStreams(file: string): Promise<Array<Record<string, any>>> {
  const out = await capture('ffprobe', ['-v', 'error', '-print_format', 'json', '-show_streams', '-count_frames', file]);
  return JSON.parse(out.toString()).streams;
}

export interface IouReport {
  mean_iou: number;
  min_iou: number;
  mean_abs_error: number;
  frames_compared?: number;
  [k: string]: unknown;
}

/** Scores a predicted mask/alpha video against a ground-truth .alpha.mkv with the shared iou.mjs. */
export async function scoreIou(pred: string, gt: string): Promise<IouReport> {
  const out = await capture(process.execPath, [join(mediaDir, 'iou.mjs'), pred, gt]);
  return JSON.parse(out.toString());
}
