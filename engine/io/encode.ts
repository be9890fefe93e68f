import { join } from 'node:path';
import type { Writable } from 'node:stream';
import { spawnFfmpeg } from '../../common/ffmpeg.js';
import { gatedInput } from '../../common/media-gate.js';
import type { OutputFormat } from '../types.js';

/**
 * One ffmpeg process encodes every requested bubble format at once: raw yuva420p crops arrive on stdin, are
 * scaled to the bubble size once, split, and written to each file (webm and luma stay in YUV; mov, an RGB codec, and
 * the note, overlaid on a colour, convert only the bubble). The input file is opened a second time only for its
 * audio. Alpha codecs run on the CPU by necessity: NVENC cannot write alpha.
 */
export interface EncodePlan {
  /** Side of the yuva420p squares written to stdin. */
  cropSide: number;
  /** Side of the bubble in the output files. */
  size: number;
  fps: number;
  formats: OutputFormat[];
  outDir: string;
  /** Source of the audio track, or null for silent outputs. */
  audioFrom: string | null;
  noteBackground: string;
  /** Telegram video notes: ≤ 640 px, ≤ 60 s. */
  noteMaxSide: number;
  noteMaxSec: number;
}

const X264 = ['-c:v', 'libx264', '-preset', 'veryfast', '-crf', '20', '-threads', '2'];
/**
 * The luma matte is a mask — flat black and white with one soft, moving edge — not a picture: x264's slower presets
 * spend their time on motion search and psycho-visual tuning for natural images. Measured on the engine's own matte
 * of the 10 s bench clip (720², against the alpha it came from): veryfast CRF 20 1.6 CPU-s, 0.66 MB, PSNR 45.2 dB;
 * ultrafast CRF 26 1.0 CPU-s, 1.39 MB, 49.6 dB — closer to the engine's alpha, for about 0.6 CPU-s less per 10 s.
 */
const MATTE_X264 = ['-c:v', 'libx264', '-preset', 'ultrafast', '-crf', '26', '-threads', '2'];
const MP4 = ['-movflags', '+faststart'];
const AAC = ['-c:a', 'aac', '-b:a', '128k'];

export function buildEncoderArgs(plan: EncodePlan): string[] {
  const bubbleFormats = plan.formats.filter((f) => f !== 'mask');
  const pixFmt = 'yuva420p';
  const args = [
    '-loglevel', 'error',
    '-f', 'rawvideo', '-pix_fmt', pixFmt, '-s', `${plan.cropSide}x${plan.cropSide}`, '-r', String(plan.fps),
    '-i', 'pipe:0',
  ];
  if (plan.audioFrom) args.push(...gatedInput(plan.audioFrom));
  const outputs: { label: string; args: string[] }[] = [];
  const chains: string[] = [];
  const labels: string[] = [];
  for (const f of bubbleFormats) {
    if (f === 'luma') labels.push('luma_c', 'luma_m');
    else labels.push(f);
  }
  // `format=yuva420p` after the scaler pins the scaled frames to a format with alpha: without it ffmpeg 5.1 may negotiate
  // an alpha-less format for the split's branches and `alphaextract` (luma matte) then fails.
  const scale =
    plan.cropSide === plan.size ? 'null' : `scale=${plan.size}:${plan.size}:flags=bicubic,format=${pixFmt}`;
  chains.push(`[0:v]${scale},split=${labels.length}${labels.map((l) => `[s_${l}]`).join('')}`);
  const audio = (codec: string[]) => (plan.audioFrom ? ['-map', '1:a:0?', ...codec] : []);
  for (const f of bubbleFormats) {
    switch (f) {
      case 'webm':
        chains.push('[s_webm]format=yuva420p[o_webm]');
        outputs.push({
          label: 'o_webm',
          args: [
            '-c:v', 'libvpx-vp9', '-pix_fmt', 'yuva420p',
            // realtime + cpu-used 8 is the only VP9-alpha setting that keeps up with real time on 2 cores.
            '-deadline', 'realtime', '-cpu-used', '8', '-row-mt', '1', '-crf', '30', '-b:v', '0', '-threads', '2',
            ...audio(['-c:a', 'libopus', '-b:a', '96k']),
            join(plan.outDir, 'overlay.webm'),
          ],
        });
        break;
      case 'mov':
        chains.push('[s_mov]format=argb[o_mov]');
        outputs.push({
          label: 'o_mov',
          args: ['-c:v', 'qtrle', '-pix_fmt', 'argb', ...audio(AAC), join(plan.outDir, 'overlay.mov')],
        });
        break;
      case 'luma':
        // Colour over black and a white-is-visible matte of the same size and timing: Shotstack's luma route.
        chains.push('[s_luma_c]format=yuv420p[o_luma_c]');
        chains.push('[s_luma_m]alphaextract,format=yuv420p[o_luma_m]');
        outputs.push({
          label: 'o_luma_c',
          args: [...X264, '-pix_fmt', 'yuv420p', ...audio(AAC), ...MP4, join(plan.outDir, 'color.mp4')],
        });
        outputs.push({
          label: 'o_luma_m',
          args: [...MATTE_X264, '-pix_fmt', 'yuv420p', '-an', ...MP4, join(plan.outDir, 'matte.mp4')],
        });
        break;
      case 'note': {
        const side = Math.min(plan.size, plan.noteMaxSide) & ~1;
        const bg = plan.noteBackground.replace('#', '0x');
        chains.push(
          `color=c=${bg}:s=${side}x${side}:r=${plan.fps}[n_bg]`,
          `[s_note]scale=${side}:${side}[n_fg]`,
          '[n_bg][n_fg]overlay=shortest=1:format=auto,format=yuv420p[o_note]',
        );
        outputs.push({
          label: 'o_note',
          args: [
            ...X264, '-pix_fmt', 'yuv420p', '-t', String(plan.noteMaxSec), ...audio(AAC), ...MP4,
            join(plan.outDir, 'note.mp4'),
          ],
        });
        break;
      }
    }
  }
  args.push('-filter_complex', chains.join(';'));
  for (const o of outputs) args.push('-map', `[${o.label}]`, ...o.args);
  return args;
}

/** Args for the uncropped greyscale mask video (lossless, so evaluation measures the engine, not x264). */
export function buildMaskEncoderArgs(width: number, height: number, fps: number, outPath: string): string[] {
  return [
    '-loglevel', 'error',
    '-f', 'rawvideo', '-pix_fmt', 'gray', '-s', `${width}x${height}`, '-r', String(fps), '-i', 'pipe:0',
    '-c:v', 'libx264', '-preset', 'ultrafast', '-qp', '0', '-pix_fmt', 'yuv420p', '-threads', '2',
    ...MP4, outPath,
  ];
}

/**
 * A running encoder fed from a small ring of frame buffers. A buffer handed to `stdin.write` is referenced, not
 * copied, so a slot is reused only after its previous write has been flushed into the pipe; with `depth` slots
 * the engine can compose up to `depth - 1` frames ahead of ffmpeg (bounded memory, real back-pressure).
 */
export class Encoder {
  private readonly stdin: Writable;
  private readonly slots: Buffer[];
  private readonly pending: Promise<void>[];
  private next = 0;
  private failure: Error | null = null;

  private constructor(
    private readonly proc: ReturnType<typeof spawnFfmpeg>,
    frameBytes: number,
    depth: number,
  ) {
    this.stdin = proc.child.stdin!;
    // ffmpeg exiting early (bad args, disk full) surfaces through `done`; keep EPIPE from crashing the process.
    this.stdin.on('error', (e) => (this.failure ??= e));
    proc.done.catch((e: Error) => (this.failure ??= e));
    this.slots = Array.from({ length: depth }, () => Buffer.allocUnsafeSlow(frameBytes));
    this.pending = this.slots.map(() => Promise.resolve());
  }

  static start(args: string[], frameBytes: number, signal?: AbortSignal, depth = 3): Encoder {
    return new Encoder(spawnFfmpeg(args, { signal, stdio: ['pipe', 'ignore', 'pipe'] }), frameBytes, depth);
  }

  /** A buffer to fill with the next frame; waits while ffmpeg is `depth` frames behind. */
  async acquire(): Promise<Buffer> {
    const i = this.next;
    await Promise.race([this.pending[i], this.proc.done.then(() => undefined, () => undefined)]);
    if (this.failure) {
      // A broken pipe only says ffmpeg went away; its exit status and stderr say why.
      await this.proc.done;
      throw this.failure;
    }
    return this.slots[i];
  }

  /** Queues the buffer returned by the last `acquire()`. */
  write(buf: Buffer): void {
    const i = this.next;
    if (buf !== this.slots[i]) throw new Error('write() expects the buffer from the last acquire()');
    this.pending[i] = new Promise((resolve) => this.stdin.write(buf, () => resolve()));
    this.next = (i + 1) % this.slots.length;
  }

  async end(): Promise<void> {
    this.stdin.end();
    await this.proc.done;
  }

  kill(): void {
    this.proc.child.kill('SIGKILL');
  }
}
