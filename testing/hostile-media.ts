import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runFfmpeg } from '../common/ffmpeg.js';
import { media } from './media.js';

/**
 * Files an attacker (or an unlucky phone) sends, made at test time with real ffmpeg. `canary` is another user's
 * job file: a clip of one distinctive colour the hostile inputs try to make ffmpeg read.
 */
export const CANARY_RGB = [0xd4, 0x1e, 0x9b] as const;

export interface HostileSet {
  canary: string;
  /** name → path; every one must be refused with `expected[name]`. */
  files: Record<string, string>;
  expected: Record<string, string>;
}

const x264 = ['-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p'];

export async function makeCanary(dir: string): Promise<string> {
  await mkdir(join(dir, 'other-user', 'inputs'), { recursive: true });
  const canary = join(dir, 'other-user', 'inputs', 'head.mp4');
  await runFfmpeg(['-loglevel', 'error', '-f', 'lavfi', '-i', `color=c=0x${hex(CANARY_RGB)}:s=320x240:d=2:r=25`, ...x264, canary]);
  return canary;
}

/** Every hostile input of the suite, written into `dir`, with the MediaError code each must be refused with. */
export async function makeHostileSet(dir: string, opts: { longerThanSec: number }): Promise<HostileSet> {
  const canary = await makeCanary(dir);
  const f = (name: string) => join(dir, name);
  const text = async (name: string, body: string) => (await writeFile(f(name), body), f(name));
  const ff = async (name: string, args: string[]) => (await runFfmpeg(['-loglevel', 'error', ...args, f(name)]), f(name));
  const files: Record<string, string> = {
    hls_playlist: await text('hls.mp4', `#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\n${canary}\n#EXT-X-ENDLIST\n`),
    ffconcat_list: await text('concat.mp4', `ffconcat version 1.0\nfile '${canary}'\n`),
    hls_with_protocol_tricks: await text(
      'tricks.mp4',
      `#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:5,\nsubfile:,start,0,end,0,:${canary}\n#EXTINF:5,\nconcat:${canary}|${canary}\n#EXTINF:5,\ndata:video/mp4;base64,AAAA\n#EXT-X-ENDLIST\n`,
    ),
    raw_h264_long: await ff('raw.mp4', ['-f', 'lavfi', '-i', `testsrc2=s=160x120:r=25:d=${opts.longerThanSec + 5}`, ...x264, '-f', 'h264']),
    png_renamed: await ff('png.mp4', ['-f', 'lavfi', '-i', 'testsrc2=s=320x240', '-frames:v', '1', '-f', 'image2', '-c:v', 'png']),
    jpeg_renamed: await ff('jpeg.mp4', ['-f', 'lavfi', '-i', 'testsrc2=s=320x240', '-frames:v', '1', '-f', 'image2', '-c:v', 'mjpeg']),
    gif_renamed: await ff('gif.mp4', ['-f', 'lavfi', '-i', 'testsrc2=s=320x240:d=1', '-f', 'gif']),
    single_frame_mp4: await ff('one.mp4', ['-f', 'lavfi', '-i', 'testsrc2=s=320x240', '-frames:v', '1', ...x264]),
    huge_frame_8k: await ff('8k.mp4', ['-f', 'lavfi', '-i', 'color=s=7680x4320:d=0.6:r=5', ...x264]),
    zero_duration_mp4: await ff('zero.mp4', ['-f', 'lavfi', '-i', 'testsrc2=s=320x240', '-frames:v', '0', ...x264]),
    truncated_moov: await truncatedMoov(f('trunc.mp4')),
  };
  return {
    canary,
    files,
    expected: {
      hls_playlist: 'not_video',
      ffconcat_list: 'not_video',
      hls_with_protocol_tricks: 'not_video',
      raw_h264_long: 'not_video',
      png_renamed: 'still_image',
      jpeg_renamed: 'still_image',
      gif_renamed: 'still_image',
      single_frame_mp4: 'too_short',
      huge_frame_8k: 'frame_too_large',
      zero_duration_mp4: 'corrupt',
      truncated_moov: 'corrupt',
    },
  };
}

/** A camera-style MP4 (moov at the end) cut inside its moov: the index that says where frames are is missing. */
async function truncatedMoov(path: string): Promise<string> {
  const whole = await readFile(media('hevc_720x1280.mp4'));
  const moov = whole.lastIndexOf(Buffer.from('moov'));
  await writeFile(path, whole.subarray(0, moov + 64));
  return path;
}

/**
 * A Matroska file whose header claims `claimSec` while its frames last the whole source (10 s of a real person):
 * the decoder, not the probe, has to notice that it runs long.
 */
export async function makeLyingDurationMkv(dir: string, claimSec: number): Promise<string> {
  const honest = join(dir, 'honest.mkv');
  await runFfmpeg(['-loglevel', 'error', '-i', media('hopper_mall_720x1280.mp4'), '-c', 'copy', honest]);
  const bytes = Buffer.from(await readFile(honest));
  // Segment Info → Duration: element id 0x4489, size 8, a big-endian double in TimecodeScale units (1 ms).
  const at = bytes.indexOf(Buffer.from([0x44, 0x89, 0x88]));
  if (at < 0) throw new Error('no 8-byte Duration element in the Matroska header');
  bytes.writeDoubleBE(claimSec * 1000, at + 3);
  const lying = join(dir, 'lying.mkv');
  await writeFile(lying, bytes);
  return lying;
}

function hex(rgb: readonly number[]): string {
  return rgb.map((v) => v.toString(16).padStart(2, '0')).join('');
}
