/**
 * Typed errors shared by every part. The bot translates `MediaError.code` into a human message in the user's
 * language; the pipeline marks jobs failing with a MediaError as unrecoverable (retrying cannot fix the input).
 */
export type MediaErrorCode =
  | 'empty_file' // zero bytes
  | 'not_video' // not a media container ffmpeg can read (or one the media gate does not allow)
  | 'still_image' // a photo or GIF, maybe renamed .mp4
  | 'no_video_stream' // a valid container without video (e.g. an audio file)
  | 'corrupt' // decodes partially or not at all
  | 'too_long' // duration above the configured limit (also found while decoding, when the header lied)
  | 'too_short' // a clip under MIN_DURATION_SEC: a single frame, or too short to make a bubble of
  | 'too_large' // file size above the configured limit
  | 'too_small' // frame smaller than the engine can use
  | 'frame_too_large' // frame larger than MAX_FRAME_PIXELS (refused before decoding)
  | 'no_person'; // segmentation found nobody in most frames

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
