import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { CancelledError, MediaError, TimeoutError } from './errors.js';
import { loadRuntimeConfig } from './runtime-config.js';

/**
 * The one module that runs ffmpeg and ffprobe. Everything else calls these functions, so arguments, timeouts,
 * cancellation and the mapping of exit codes / stderr to typed errors live in one place.
 *
 * Why not fluent-ffmpeg: it is archived (May 2025) and deprecated on npm, adds ~250 ms before ffmpeg starts
 * (it runs -formats/-encoders first) and pipes raw frames slower than a bare spawn. We run a handful of fixed
 * commands, so plain `child_process.spawn` with typed wrappers is smaller and faster.
 */

export const FFMPEG = loadRuntimeConfig().FFMPEG_PATH;
export const FFPROBE = loadRuntimeConfig().FFPROBE_PATH;

export class FfmpegError extends Error {
  constructor(
    message: string,
    readonly exitCode: number | null,
    readonly stderrTail: string,
  ) {
    super(message);
    this.name = 'FfmpegError';
  }
}

export interface RunOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface VideoStreamInfo {
  index: number;
  codec: string;
  pixFmt: string;
  /** Size as displayed, i.e. after applying the rotation metadata. */
  width: number;
  height: number;
  codedWidth: number;
  codedHeight: number;
  /** Degrees the player rotates the coded picture (0, 90, 180, 270). */
  rotation: number;
  /** Nominal frame rate (r_frame_rate) and average (avg_frame_rate); they differ for VFR input. */
  fps: number;
  avgFps: number;
  frameCount: number | null;
  /** 1 when a VP8/VP9 stream carries an alpha side channel (decode with libvpx to see it). */
  alphaMode: boolean;
}

export interface MediaInfo {
  path: string;
  sizeBytes: number;
  formatName: string;
  durationSec: number;
  video: VideoStreamInfo | null;
  audio: { index: number; codec: string; channels: number; sampleRate: number } | null;
}

function parseRate(r: string | undefined): number {
  if (!r) return 0;
  const [n, d] = r.split('/').map(Number);
  if (!d) return Number.isFinite(n) ? n : 0;
  return n / d;
}

function tail(text: string, max = 2000): string {
  return text.length > max ? text.slice(-max) : text;
}

/** Spawns a process that is killed (SIGKILL) when the signal aborts or the timeout fires. */
export function spawnTool(
  cmd: string,
  args: string[],
  opts: RunOptions & { stdio?: SpawnOptions['stdio'] } = {},
): { child: ChildProcess; done: Promise<{ stderr: string }> } {
  const child = spawn(cmd, args, { stdio: opts.stdio ?? ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    stderr = tail(stderr + chunk, 16_000);
  });
  let reason: Error | null = null;
  const kill = (err: Error) => {
    if (reason) return;
    reason = err;
    child.kill('SIGKILL');
  };
  const onAbort = () => kill(new CancelledError());
  if (opts.signal?.aborted) onAbort();
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  const timer =
    opts.timeoutMs && opts.timeoutMs > 0
      ? setTimeout(() => kill(new TimeoutError(`${cmd} ran past ${opts.timeoutMs} ms`, opts.timeoutMs!)), opts.timeoutMs)
      : null;
  const done = new Promise<{ stderr: string }>((resolve, reject) => {
    child.on('error', (err) => reject(new FfmpegError(`${cmd} could not start: ${err.message}`, null, '')));
    child.on('close', (code) => {
      if (timer) clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      if (reason) return reject(reason);
      if (code === 0) return resolve({ stderr });
      reject(new FfmpegError(`${cmd} exited with ${code}: ${lastLines(stderr)}`, code, tail(stderr)));
    });
  });
  // Callers that only need `done` must still see its rejection; this no-op keeps Node from flagging it early.
  done.catch(() => undefined);
  return { child, done };
}

function lastLines(s: string, n = 3): string {
  return s.trim().split('\n').slice(-n).join(' | ');
}

/** Runs ffmpeg to completion (non-interactive, quiet banner). */
export async function runFfmpeg(args: string[], opts: RunOptions = {}): Promise<{ stderr: string }> {
  return spawnTool(FFMPEG, ['-hide_banner', '-nostdin', '-y', ...args], opts).done;
}

/** Spawns ffmpeg with stdin/stdout pipes for raw frame streaming. */
export function spawnFfmpeg(
  args: string[],
  opts: RunOptions & { stdio?: SpawnOptions['stdio'] } = {},
): { child: ChildProcess; done: Promise<{ stderr: string }> } {
  return spawnTool(FFMPEG, ['-hide_banner', '-nostdin', '-y', ...args], opts);
}

async function runCapture(cmd: string, args: string[], opts: RunOptions): Promise<{ stdout: string; stderr: string }> {
  const { child, done } = spawnTool(cmd, args, opts);
  let stdout = '';
  child.stdout?.setEncoding('utf8');
  child.stdout?.on('data', (c: string) => (stdout += c));
  const { stderr } = await done;
  return { stdout, stderr };
}

export interface ProbeLimits {
  maxBytes?: number;
  maxDurationSec?: number;
}

/**
 * Probes a file and refuses what the engine cannot use, with a typed MediaError:
 * empty file, not a media file, no video stream, too large, too long.
 * Note that a header can lie (a 1-hour moov with no data): decode-time checks catch that as `corrupt`.
 */
export async function probeMedia(path: string, limits: ProbeLimits = {}, opts: RunOptions = {}): Promise<MediaInfo> {
  const st = await stat(path);
  if (st.size === 0) throw new MediaError('empty_file', 'The file is empty (0 bytes).');
  if (limits.maxBytes && st.size > limits.maxBytes) {
    throw new MediaError('too_large', `The file is ${st.size} bytes; the limit is ${limits.maxBytes}.`, {
      sizeBytes: st.size,
      maxBytes: limits.maxBytes,
    });
  }
  let stdout: string;
  try {
    ({ stdout } = await runCapture(
      FFPROBE,
      ['-v', 'error', '-print_format', 'json', '-show_format', '-show_streams', path],
      { timeoutMs: opts.timeoutMs ?? 30_000, signal: opts.signal },
    ));
  } catch (e) {
    // exitCode null = ffprobe never ran (not installed, not on PATH): an operator problem, not the user's file.
    if (e instanceof FfmpegError && e.exitCode !== null) {
      throw new MediaError('not_video', 'This file is not a video ffmpeg can read.', { stderr: e.stderrTail });
    }
    throw e;
  }
  const json = JSON.parse(stdout || '{}') as {
    format?: { format_name?: string; duration?: string };
    streams?: Array<Record<string, any>>;
  };
  const streams = json.streams ?? [];
  const v = streams.find((s) => s.codec_type === 'video' && !s.disposition?.attached_pic);
  const a = streams.find((s) => s.codec_type === 'audio');
  const durationSec = Number(json.format?.duration ?? v?.duration ?? 0) || 0;
  const info: MediaInfo = {
    path,
    sizeBytes: st.size,
    formatName: json.format?.format_name ?? 'unknown',
    durationSec,
    video: null,
    audio: a
      ? { index: a.index, codec: a.codec_name, channels: a.channels ?? 0, sampleRate: Number(a.sample_rate ?? 0) }
      : null,
  };
  if (v) {
    const rotation = readRotation(v);
    const swap = Math.abs(rotation) % 180 === 90;
    info.video = {
      index: v.index,
      codec: v.codec_name,
      pixFmt: v.pix_fmt ?? 'unknown',
      codedWidth: v.width,
      codedHeight: v.height,
      width: swap ? v.height : v.width,
      height: swap ? v.width : v.height,
      rotation: ((rotation % 360) + 360) % 360,
      fps: parseRate(v.r_frame_rate),
      avgFps: parseRate(v.avg_frame_rate),
      frameCount: v.nb_frames ? Number(v.nb_frames) : null,
      alphaMode: v.tags?.alpha_mode === '1' || v.tags?.ALPHA_MODE === '1',
    };
  }
  if (!info.video || !info.video.width || !info.video.height) {
    throw new MediaError('no_video_stream', 'The file has no video stream.', { formatName: info.formatName });
  }
  if (limits.maxDurationSec && durationSec > limits.maxDurationSec) {
    throw new MediaError(
      'too_long',
      `The video lasts ${durationSec.toFixed(1)} s; the limit is ${limits.maxDurationSec} s.`,
      { durationSec, maxDurationSec: limits.maxDurationSec },
    );
  }
  return info;
}

function readRotation(stream: Record<string, any>): number {
  // ffmpeg ≥ 5 reports a display matrix side data with `rotation` (counter-clockwise, negative for the
  // iPhone "rotate=90" convention); older builds put a `rotate` tag (clockwise).
  const sd = (stream.side_data_list ?? []) as Array<Record<string, any>>;
  const dm = sd.find((d) => typeof d.rotation === 'number');
  if (dm) return -Math.round(dm.rotation);
  if (stream.tags?.rotate) return Number(stream.tags.rotate) || 0;
  return 0;
}
