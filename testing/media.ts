import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Test helpers for the shared media folder (../shared beside the repo) and for reading pixels back. */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const sharedDir = resolve(repoRoot, '..', 'shared');
export const mediaDir = join(sharedDir, 'media');
export const hasSharedMedia = existsSync(join(mediaDir, 'hopper_mall_720x1280.mp4'));
export const SKIP_NO_MEDIA = '../shared/media is absent: media tests skipped';

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
