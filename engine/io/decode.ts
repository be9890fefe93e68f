import { CancelledError } from '../../common/errors.js';
import { spawnFfmpeg } from '../../common/ffmpeg.js';
import { gatedInput } from '../../common/media-gate.js';
import { endWithoutWriter, makeFifo, openReadEnd } from './fifo.js';
import { FrameReader } from './frame-reader.js';

export interface DecodePlan {
  /** Frame size the decoder delivers (display orientation, maybe downscaled). */
  width: number;
  height: number;
  fps: number;
}

/** Frames larger than this on their shorter side are scaled down while decoding: the bubble never needs more. */
export const MAX_WORK_SIDE = 1080;

/** Work size: display size, shorter side capped at MAX_WORK_SIDE, both even. */
export function workSize(displayWidth: number, displayHeight: number): { width: number; height: number } {
  const short = Math.min(displayWidth, displayHeight);
  const k = short > MAX_WORK_SIDE ? MAX_WORK_SIDE / short : 1;
  const even = (v: number) => Math.max(2, Math.round((v * k) / 2) * 2);
  return { width: even(displayWidth), height: even(displayHeight) };
}

/** The running decoder of one render: whole frames on demand, its exit, and a kill switch. */
export interface FrameDecoder {
  /** The next planar yuv420p frame at work size, or null at the end of the stream. */
  next(): Promise<Buffer | null>;
  done: Promise<unknown>;
  kill(): void;
}

/**
 * Starts ffmpeg decoding the first video stream to planar yuv420p at a constant frame rate (VFR input gets frames
 * duplicated/dropped to the grid), at work size, in display orientation (ffmpeg applies the rotation metadata by
 * default). Nothing is converted to RGB: the models read their inputs out of these planes (YuvPreprocessor) and the
 * bubble is cut from them as they are. Frames are read on demand, so a slow consumer blocks ffmpeg (back-pressure).
 *
 * ffmpeg writes into a named pipe rather than its stdout, so that the frames can be read with `onread` straight into
 * reused buffers (FrameReader says why).
 */
export function startDecoder(inputPath: string, plan: DecodePlan, signal?: AbortSignal): FrameDecoder {
  const filters = [`fps=${plan.fps}`, `scale=${plan.width}:${plan.height}:flags=area`, 'setsar=1', 'format=yuv420p'];
  let proc: ReturnType<typeof spawnFfmpeg> | null = null;
  let reader: FrameReader | null = null;
  const started = (async () => {
    const fifo = await makeFifo('bubblecast-decode-');
    if (signal?.aborted) {
      await fifo.dispose();
      throw new CancelledError();
    }
    reader = new FrameReader(openReadEnd(fifo.path), (plan.width * plan.height * 3) / 2);
    proc = spawnFfmpeg(
      [
        '-loglevel', 'error',
        ...gatedInput(inputPath),
        '-map', '0:v:0', '-an', '-sn', '-dn',
        '-vf', filters.join(','),
        '-f', 'rawvideo', '-pix_fmt', 'yuv420p',
        `file:${fifo.path}`,
      ],
      { signal, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    const settle = () => {
      endWithoutWriter(fifo.path);
      void fifo.dispose();
    };
    proc.done.then(settle, settle);
    return { reader, done: proc.done };
  })();
  const done = started.then((s) => s.done);
  // A render that fails before it reads `done` must not leave its rejection unhandled (as spawnTool's own `done`).
  done.catch(() => undefined);
  return {
    next: async () => (await started).reader.next(),
    done,
    kill: () => {
      proc?.child.kill('SIGKILL');
      reader?.close();
    },
  };
}
