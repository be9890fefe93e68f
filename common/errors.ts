/**
 * Typed errors shared by every part. The bot translates `MediaError.code` into a human message in the user's
 * language; the pipeline marks jobs failing with a MediaError as unrecoverable (retrying cannot fix the input).
 */
export const MEDIA_ERROR_CODES = [
  'empty_file', // zero bytes
  'not_video', // not a media container ffmpeg can read (or one the media gate does not allow)
  'still_image', // a photo or GIF, maybe renamed .mp4
  'no_video_stream', // a valid container without video (e.g. an audio file)
  'corrupt', // decodes partially or not at all
  'too_long', // duration above the configured limit (also found while decoding, when the header lied)
  'too_short', // a clip under MIN_DURATION_SEC: a single frame, or too short to make a bubble of
  'too_large', // file size above the configured limit
  'too_small', // frame smaller than the engine can use
  'frame_too_large', // frame larger than MAX_FRAME_PIXELS (refused before decoding)
  'no_person', // segmentation found nobody in most frames
] as const;

/**
 * Every reason an input file can be refused: the one list the pipeline's failure codes, the GPU worker's API and
 * the user texts (a `Record<MediaErrorCode, …>` in pipeline/messages.ts) derive from.
 */
export type MediaErrorCode = (typeof MEDIA_ERROR_CODES)[number];

export function isMediaErrorCode(code: unknown): code is MediaErrorCode {
  return typeof code === 'string' && (MEDIA_ERROR_CODES as readonly string[]).includes(code);
}

export class MediaError extends Error {
  constructor(
    readonly code: MediaErrorCode,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'MediaError';
  }
}

/** A run that was cancelled through its AbortSignal. */
export class CancelledError extends Error {
  constructor(message = 'cancelled') {
    super(message);
    this.name = 'CancelledError';
  }
}

/** An external process or request that ran past its deadline. */
export class TimeoutError extends Error {
  constructor(
    message: string,
    readonly timeoutMs: number,
  ) {
    super(message);
    this.name = 'TimeoutError';
  }
}

export function isMediaError(e: unknown): e is MediaError {
  return e instanceof Error && e.name === 'MediaError' && typeof (e as MediaError).code === 'string';
}

/** The two binaries bubblecast runs, and the variable that points at each. */
export type FfmpegTool = 'ffmpeg' | 'ffprobe';
export const FFMPEG_TOOL_VARIABLE: Record<FfmpegTool, 'FFMPEG_PATH' | 'FFPROBE_PATH'> = { ffmpeg: 'FFMPEG_PATH', ffprobe: 'FFPROBE_PATH' };

/** How to get ffmpeg (it brings ffprobe), in the words every operator-facing message uses. */
export const FFMPEG_INSTALL_HINT =
  'Install ffmpeg (it includes ffprobe): `sudo apt-get install -y ffmpeg` on Debian/Ubuntu, `brew install ffmpeg` on macOS ' +
  '(`npm run setup` checks and, as root, installs it), or point FFMPEG_PATH/FFPROBE_PATH at working binaries.';

/**
 * ffmpeg or ffprobe cannot run on this host: not installed, a wrong FFMPEG_PATH/FFPROBE_PATH, or a binary that does
 * not work. The operator's problem, never the user's file: the pipeline reports it as `pipeline:misconfigured`
 * (the user reads the "our side" text), logs and the CLI show this message, which names the binary, its variable
 * and how to install it.
 */
export class FfmpegUnavailableError extends Error {
  readonly variable: 'FFMPEG_PATH' | 'FFPROBE_PATH';
  constructor(
    readonly tool: FfmpegTool,
    /** What was run: the variable's value, or the default name looked up on PATH. */
    readonly path: string,
    readonly reason: string,
  ) {
    const variable = FFMPEG_TOOL_VARIABLE[tool];
    const where = path === tool ? `\`${tool}\` looked up on PATH; ${variable} not set` : `${variable}=${path}`;
    super(`${tool} cannot run (${where}): ${reason}. ${FFMPEG_INSTALL_HINT}`);
    this.name = 'FfmpegUnavailableError';
    this.variable = variable;
  }
}

export function isFfmpegUnavailableError(e: unknown): e is FfmpegUnavailableError {
  return e instanceof Error && e.name === 'FfmpegUnavailableError' && typeof (e as FfmpegUnavailableError).tool === 'string';
}
