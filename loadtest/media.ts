import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { runFfmpeg } from '../common/ffmpeg.js';
import { media } from '../testing/media.js';

/**
 * The clips the simulated users send, cut from ../shared/media into the run's folder: short (2 s) and small, so one
 * job takes a few seconds on a 2-core CPU; the unusual-but-valid inputs (rotation, VFR, HEVC) keep what makes them
 * unusual. Bad files are sent as they are.
 */
export interface LoadMedia {
  heads: string[];
  backgrounds: string[];
  bad: string[];
}

const X264 = ['-c:v', 'libx264', '-preset', 'ultrafast', '-crf', '23', '-pix_fmt', 'yuv420p'];

export async function prepareMedia(dir: string): Promise<LoadMedia> {
  await mkdir(dir, { recursive: true });
  const out = (name: string) => join(dir, name);
  const jobs: Array<[string, string[]]> = [
    ['static.mp4', ['-i', media('hopper_static_720x720.mp4'), '-t', '2', '-vf', 'scale=360:360', ...X264, '-c:a', 'aac']],
    ['mall.mp4', ['-i', media('hopper_mall_720x1280.mp4'), '-t', '2', '-vf', 'scale=360:640', ...X264, '-c:a', 'aac']],
    // ffmpeg applies the display matrix while re-encoding: the clip arrives upright, as a phone's would.
    ['rotated.mp4', ['-i', media('rotated_phone.mp4'), '-t', '2', '-vf', 'scale=-2:480', ...X264]],
    ['vfr.mp4', ['-i', media('vfr.mp4'), '-t', '2', '-vf', 'scale=-2:480', '-fps_mode', 'passthrough', ...X264]],
    // HEVC (hvc1, moov at the end) copied as is: 2 s already.
    ['hevc.mp4', ['-i', media('hevc_720x1280.mp4'), '-c', 'copy']],
    ['bg-astronaut.mp4', ['-i', media('astronaut_gradient_1280x720.mp4'), '-t', '2', '-vf', 'scale=640:360', ...X264, '-an']],
    ['bg-blue.mp4', ['-f', 'lavfi', '-i', 'color=c=0x2050c0:s=640x360:d=2:r=25', '-f', 'lavfi', '-i', 'sine=f=330:d=2', ...X264, '-c:a', 'aac', '-shortest']],
  ];
  for (const [name, args] of jobs) await runFfmpeg(['-y', '-v', 'error', ...args, out(name)]);
  return {
    heads: ['static.mp4', 'mall.mp4', 'rotated.mp4', 'vfr.mp4', 'hevc.mp4'].map(out),
    backgrounds: ['bg-astronaut.mp4', 'bg-blue.mp4'].map(out),
    bad: ['zero.mp4', 'not_video.mp4', 'audio_only.mp4', 'corrupt.mp4', 'long_header_only.mp4', 'no_person_1280x720.mp4'].map((f) => media(`bad/${f}`)),
  };
}
