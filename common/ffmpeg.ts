import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { CancelledError, FfmpegUnavailableError, isFfmpegUnavailableError, MediaError, TimeoutError, type FfmpegTool } from './errors.js';
import { frameTooLarge, gatedInput, isAllowedDemuxer, MAX_FRAME_PIXELS, pixelCapError, sniffStillImage, USER_MEDIA_DEMUXERS, type GateOptions } from './media-gate.js';

/**
 * The one module that runs ffmpeg and ffprobe. Everything else calls these functions, so arguments, timeouts,
 * cancellation and the mapping of exit codes / stderr to typed errors live in one place.
 *
 * Why not fluent-ffmpeg: it is archived (May 2025) and deprecated on npm, adds ~250 ms before ffmpeg starts
 * (it runs -formats/-encoders first) and pipes raw frames slower than a bare spawn. We run a handful of fixed
 * commands, so plain `child_process.spawn` with typed wrappers is smaller and faster.
 */

/**
 * Where the binaries are. Read from nothing at import: the entry point calls `configureFfmpeg` once with its
 * validated FFMPEG_PATH / FFPROBE_PATH (common/runtime-config.ts, `applyRuntimeConfig`); until then, and in
 * tests, `ffmpeg` and `ffprobe` from PATH.
 */
export interface FfmpegPaths {
  ffmpegPath: string;
  ffprobePath: string;
}

const DEFAULT_PATHS: FfmpegPaths = { ffmpegPath: 'ffmpeg', ffprobePath: 'ffprobe' };
let paths: FfmpegPaths = DEFAULT_PATHS;
// The start-up check of the binaries at `paths` (ensureFfmpegTools), shared by every probe until the paths change.
let toolsChecked: Promise<FfmpegVersions> | null = null;

/** Sets where ffmpeg and ffprobe are (omitted: the PATH defaults); the next probe checks the binaries again. */
export function configureFfmpeg(p: Partial<FfmpegPaths> = {}): void {
  paths = { ...DEFAULT_PATHS, ...p };
  toolsChecked = null;
}

/** The ffmpeg and ffprobe this process runs. */
export function ffmpegPaths(): Readonly<FfmpegPaths> {
  return paths;
}

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
  /** ffprobe's `color_space` (the Y'CbCr matrix, e.g. `bt709`), or null when the stream does not say. */
  colorSpace: string | null;
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
  opts: RunOptions & { stdio?: SpawnOptions['stdio']; tool?: FfmpegTool } = {},
): { child: ChildProcess; done: Promise<{ stderr: string }> } {
  const child = spawn(cmd, args, { stdio: opts.stdio ?? ['ignore', 'pipe', 'pipe'], env: toolEnv(process.env) });
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
    child.on('error', (err) => {
      if (timer) clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      // Not installed, not executable, a wrong FFMPEG_PATH/FFPROBE_PATH: the host's problem, named as such.
      const tool = opts.tool ?? toolOf(cmd);
      reject(tool ? new FfmpegUnavailableError(tool, cmd, startFailure(err)) : new FfmpegError(`${cmd} could not start: ${err.message}`, null, ''));
    });
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

/**
 * What of our environment ffmpeg and ffprobe see. They parse what users send, so they get no secrets (bot token,
 * API keys): only what finding and running a binary needs.
 *
 * GLIBC_TUNABLES: glibc's malloc hands large freed blocks straight back to the kernel, and libvpx's VP9 encoder with
 * alpha frees and reallocates frame-sized buffers on every frame, so each frame paid for fresh zeroed pages. A fixed
 * mmap threshold of 8 MiB and a trim threshold of 64 MiB keep those blocks in the heap: measured on the engine's
 * 10 s 720² VP9α bubble, 1.4 → 0.6 system CPU-s and 3.8 → 2.7 s wall, same frames. An operator's own setting wins.
 */
const TOOL_ENV_PASSED = ['PATH', 'LD_LIBRARY_PATH', 'TMPDIR', 'HOME', 'LANG', 'LC_ALL', 'TZ', 'GLIBC_TUNABLES'];
const MALLOC_TUNABLES = 'glibc.malloc.mmap_threshold=8388608:glibc.malloc.trim_threshold=67108864';

export function toolEnv(from: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { GLIBC_TUNABLES: MALLOC_TUNABLES };
  for (const k of TOOL_ENV_PASSED) if (from[k] !== undefined) env[k] = from[k];
  return env;
}

/** Which of our two binaries `cmd` is (null for anything else spawned through spawnTool). */
function toolOf(cmd: string): FfmpegTool | null {
  return cmd === paths.ffmpegPath ? 'ffmpeg' : cmd === paths.ffprobePath ? 'ffprobe' : null;
}

function startFailure(err: NodeJS.ErrnoException): string {
  const what = err.code === 'ENOENT' ? 'not found' : err.code === 'EACCES' ? 'not executable' : 'could not start';
  return `${what} (${err.message})`;
}

export interface FfmpegVersions {
  /** First line of `ffmpeg -version` / `ffprobe -version`, e.g. `ffmpeg version 5.1.6-0+deb12u1 Copyright …`. */
  ffmpeg: string;
  ffprobe: string;
}

/**
 * Runs `<binary> -version` for ffmpeg and ffprobe and checks that each answers as itself. Entry points call it at
 * start-up (worker, bot with previews, GPU worker, render CLI) so a host without ffmpeg stops at once with
 * FfmpegUnavailableError — the binary, its variable and how to install it — instead of failing its first job.
 */
export async function checkFfmpegTools(
  tools: { ffmpeg?: string; ffprobe?: string } = {},
  opts: { timeoutMs?: number } = {},
): Promise<FfmpegVersions> {
  const one = async (tool: FfmpegTool, path: string): Promise<string> => {
    const timeoutMs = opts.timeoutMs ?? 10_000;
    let stdout = '';
    try {
      const { child, done } = spawnTool(path, ['-version'], { timeoutMs, tool });
      child.stdout?.setEncoding('utf8');
      child.stdout?.on('data', (c: string) => (stdout += c));
      await done;
    } catch (e) {
      if (isFfmpegUnavailableError(e)) throw e;
      if (e instanceof TimeoutError) throw new FfmpegUnavailableError(tool, path, `\`${path} -version\` did not answer within ${timeoutMs} ms`);
      const code = e instanceof FfmpegError ? e.exitCode : null;
      const said = e instanceof FfmpegError ? lastLines(e.stderrTail) : (e as Error).message;
      throw new FfmpegUnavailableError(tool, path, `\`${path} -version\` failed (exit code ${code})${said ? `: ${said}` : ''}`);
    }
    const first = stdout.split('\n', 1)[0]!.trim();
    if (!first.startsWith(`${tool} version`)) {
      throw new FfmpegUnavailableError(tool, path, `\`${path} -version\` does not answer as ${tool} (it printed ${JSON.stringify(first.slice(0, 80))})`);
    }
    return first;
  };
  const [ffmpeg, ffprobe] = await Promise.all([one('ffmpeg', tools.ffmpeg ?? paths.ffmpegPath), one('ffprobe', tools.ffprobe ?? paths.ffprobePath)]);
  return { ffmpeg, ffprobe };
}

/**
 * checkFfmpegTools once per process, before the first probe: a broken binary that still starts (a wrapper that
 * exits 1, a wrong library) would otherwise make every file look unreadable and be blamed on the user as
 * `not_video`. A success is remembered; a failure is checked again next time (an operator may fix the host).
 */
function ensureFfmpegTools(): Promise<FfmpegVersions> {
  toolsChecked ??= checkFfmpegTools().catch((e: unknown) => {
    toolsChecked = null;
    throw e;
  });
  return toolsChecked;
}

function lastLines(s: string, n = 3): string {
  return s.trim().split('\n').slice(-n).join(' | ');
}

/** Runs ffmpeg to completion (non-interactive, quiet banner). */
export async function runFfmpeg(args: string[], opts: RunOptions = {}): Promise<{ stderr: string }> {
  return spawnTool(paths.ffmpegPath, ['-hide_banner', '-nostdin', '-y', ...args], opts).done;
}

/** Spawns ffmpeg with stdin/stdout pipes for raw frame streaming. */
export function spawnFfmpeg(
  args: string[],
  opts: RunOptions & { stdio?: SpawnOptions['stdio'] } = {},
): { child: ChildProcess; done: Promise<{ stderr: string }> } {
  return spawnTool(paths.ffmpegPath, ['-hide_banner', '-nostdin', '-y', ...args], opts);
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
  /** Shorter clips are refused as `too_short` (a single frame is always refused). */
  minDurationSec?: number;
  /** Demuxers allowed (default USER_MEDIA_DEMUXERS); an image's own demuxer here lets that still image through. */
  demuxers?: readonly string[];
  /** Largest frame, in pixels (default MAX_FRAME_PIXELS). */
  maxPixels?: number;
}

type ProbeJson = {
  format?: { format_name?: string; duration?: string };
  streams?: Array<Record<string, any>>;
};

/** ffmpeg's demuxer for each still-image kind sniffStillImage names. */
const STILL_DEMUXER: Record<string, string> = { png: 'png_pipe', jpeg: 'jpeg_pipe', gif: 'gif', webp: 'webp_pipe', bmp: 'bmp_pipe', heif: 'heif' };

/**
 * Probes a file through the media gate (common/media-gate.ts) and refuses what the engine cannot use, with a typed
 * MediaError: empty file, still image, not an allowed video container, no video stream, frame too large, too large,
 * too short, too long. A container without a duration (raw streams are refused anyway; a live-recorded WebM has
 * none) gets it from its last video packet. A header can still lie (a 1-hour moov with no data): the decoder
 * catches that as `corrupt`, and the engine stops a stream that runs past what the probe promised as `too_long`.
 */
export async function probeMedia(path: string, limits: ProbeLimits = {}, opts: RunOptions = {}): Promise<MediaInfo> {
  const demuxers = limits.demuxers ?? USER_MEDIA_DEMUXERS;
  const maxPixels = limits.maxPixels ?? MAX_FRAME_PIXELS;
  await ensureFfmpegTools();
  const st = await stat(path);
  if (st.size === 0) throw new MediaError('empty_file', 'The file is empty (0 bytes).');
  checkSize(st.size, limits);
  const still = await sniffStillImage(path);
  if (still && !demuxers.includes(STILL_DEMUXER[still]!)) {
    throw new MediaError('still_image', `The file is a still image (${still}), not a video.`, { kind: still });
  }
  const gate = { demuxers, maxPixels };
  const json = await runProbe(gatedInput(path, gate), ['-show_format', '-show_streams'], maxPixels, opts);
  const formatName = json.format?.format_name ?? 'unknown';
  if (!isAllowedDemuxer(formatName, demuxers)) {
    throw new MediaError('not_video', `The container (${formatName}) is not one we accept.`, { formatName });
  }
  const info = describe(path, st.size, json);
  const video = info.video;
  if (!video || !video.width || !video.height) {
    // Sound without picture is a clear case of its own; a container with no usable stream at all is damaged.
    if (!info.audio) throw new MediaError('corrupt', 'The file has no usable stream (damaged or cut short).', { formatName: info.formatName });
    throw new MediaError('no_video_stream', 'The file has no video stream.', { formatName: info.formatName });
  }
  checkFramePixels(video, maxPixels);
  if (!info.durationSec && !still) info.durationSec = await lastVideoPacketEnd(path, gate, opts);
  checkDuration(info, limits, still !== null);
  return info;
}

/**
 * The limits of probeMedia checked again on its answer, without a second ffprobe: for a caller handed the media
 * gate's MediaInfo of a file (the pipeline's fetch stage, the GPU worker's upload) under limits of its own. Throws
 * the same MediaErrors; returns the info.
 */
export function checkProbedLimits(info: MediaInfo, limits: ProbeLimits = {}): MediaInfo {
  checkSize(info.sizeBytes, limits);
  const video = info.video;
  if (!video || !video.width || !video.height) throw new MediaError('no_video_stream', 'The file has no video stream.', { formatName: info.formatName });
  checkFramePixels(video, limits.maxPixels ?? MAX_FRAME_PIXELS);
  checkDuration(info, limits, false);
  return info;
}

function checkFramePixels(video: { codedWidth: number; codedHeight: number }, maxPixels: number): void {
  if (video.codedWidth * video.codedHeight > maxPixels) throw frameTooLarge(video.codedWidth, video.codedHeight, maxPixels);
}

function checkSize(sizeBytes: number, limits: ProbeLimits): void {
  if (limits.maxBytes && sizeBytes > limits.maxBytes) {
    throw new MediaError('too_large', `The file is ${sizeBytes} bytes; the limit is ${limits.maxBytes}.`, {
      sizeBytes,
      maxBytes: limits.maxBytes,
    });
  }
}

/** Runs ffprobe on gated input args; a refusal (bad container, pixel cap) becomes a MediaError. */
async function runProbe(input: string[], show: string[], maxPixels: number, opts: RunOptions): Promise<ProbeJson> {
  try {
    const { stdout } = await runCapture(paths.ffprobePath, ['-v', 'error', '-print_format', 'json', ...show, ...input], {
      timeoutMs: opts.timeoutMs ?? 30_000,
      signal: opts.signal,
    });
    return JSON.parse(stdout || '{}') as ProbeJson;
  } catch (e) {
    // exitCode null = ffprobe never ran (not installed, not on PATH): an operator problem, not the user's file.
    if (e instanceof FfmpegError && e.exitCode !== null) {
      const big = pixelCapError(e.stderrTail, maxPixels);
      if (big) throw big;
      throw new MediaError('not_video', 'This file is not a video ffmpeg can read.', { stderr: e.stderrTail });
    }
    throw e;
  }
}

function describe(path: string, sizeBytes: number, json: ProbeJson): MediaInfo {
  const streams = json.streams ?? [];
  const v = streams.find((s) => s.codec_type === 'video' && !s.disposition?.attached_pic);
  const a = streams.find((s) => s.codec_type === 'audio');
  return {
    path,
    sizeBytes,
    formatName: json.format?.format_name ?? 'unknown',
    durationSec: Number(json.format?.duration ?? v?.duration ?? 0) || 0,
    video: v ? describeVideo(v) : null,
    audio: a
      ? { index: a.index, codec: a.codec_name, channels: a.channels ?? 0, sampleRate: Number(a.sample_rate ?? 0) }
      : null,
  };
}

/** One video stream of ffprobe's answer: size as displayed (rotation applied), rates, alpha side channel. */
function describeVideo(v: Record<string, any>): VideoStreamInfo {
  const rotation = readRotation(v);
  const swap = Math.abs(rotation) % 180 === 90;
  return {
    index: v.index,
    codec: v.codec_name,
    pixFmt: v.pix_fmt ?? 'unknown',
    colorSpace: v.color_space ?? null,
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

/**
 * Duration from the packets themselves, for a container that does not state one. Reads packet headers only (no
 * decoding), bounded by the file-size limit; a file with no timed video packets has no usable duration.
 */
async function lastVideoPacketEnd(path: string, gate: GateOptions, opts: RunOptions): Promise<number> {
  const json = (await runProbe(
    gatedInput(path, gate),
    ['-select_streams', 'v:0', '-show_entries', 'packet=pts_time,duration_time'],
    gate.maxPixels ?? MAX_FRAME_PIXELS,
    opts,
  )) as { packets?: Array<{ pts_time?: string; duration_time?: string }> };
  let end = 0;
  for (const p of json.packets ?? []) {
    const t = Number(p.pts_time ?? NaN) + (Number(p.duration_time ?? 0) || 0);
    if (Number.isFinite(t) && t > end) end = t;
  }
  if (!end) throw new MediaError('corrupt', 'The video has no timed frames: its length cannot be known.');
  return end;
}

function checkDuration(info: MediaInfo, limits: ProbeLimits, isStill: boolean): void {
  const { durationSec } = info;
  const singleFrame = info.video?.frameCount === 1;
  if (!isStill && (singleFrame || (limits.minDurationSec && durationSec < limits.minDurationSec))) {
    throw new MediaError(
      'too_short',
      `The video lasts ${durationSec.toFixed(2)} s${singleFrame ? ' (one frame)' : ''}; at least ${limits.minDurationSec ?? 0} s is needed.`,
      { durationSec, minDurationSec: limits.minDurationSec },
    );
  }
  if (limits.maxDurationSec && durationSec > limits.maxDurationSec) {
    throw new MediaError(
      'too_long',
      `The video lasts ${durationSec.toFixed(1)} s; the limit is ${limits.maxDurationSec} s.`,
      { durationSec, maxDurationSec: limits.maxDurationSec },
    );
  }
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
