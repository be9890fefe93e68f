import { open } from 'node:fs/promises';
import { MediaError } from './errors.js';
import { resolve } from 'node:path';

/**
 * The one gate for media that came from outside (a user's upload, a URL, a render asset). ffmpeg auto-detects
 * formats: a text file named `.mp4` that is an HLS playlist or an ffconcat list makes it open and decode *other*
 * files it names — another user's job files included. So every ffprobe/ffmpeg input of outside media is opened:
 *
 * - with a demuxer allow-list (`-format_whitelist`): the mov/mp4 family (every phone, Telegram's videos and round
 *   notes, GIF animations Telegram converts) and matroska/webm (browser and screen recordings, Android's WebM,
 *   Telegram's video stickers). Nothing else phones or Telegram send needs another demuxer; raw elementary streams
 *   (h264, hevc), image demuxers, playlists (hls, concat) and everything else are refused as `not_video`.
 *   Neither allowed demuxer follows references to other files (mov's `enable_drefs` is off by default);
 * - with protocols limited to plain files (`-protocol_whitelist file`) and the path given as `file:<absolute>`,
 *   so a name can never be read as `concat:`, `subfile:`, `data:` or a URL;
 * - with a decoder pixel cap (`-max_pixels`): a frame header that claims more than MAX_FRAME_PIXELS stops the
 *   decoder before it allocates the frame, also when the size changes mid-stream.
 */
export const USER_MEDIA_DEMUXERS = ['mov', 'matroska'] as const;

/**
 * Largest frame accepted: 4096×2304 (9.4 MP). Covers 4K UHD (3840×2160) and DCI 4K (4096×2160), the most a phone
 * records; an 8K frame is 33 MP and decoding it costs ≈ 50 MB per frame for nothing (the bubble is ≤ 1080 px).
 */
export const MAX_FRAME_PIXELS = 4096 * 2304;

/** Shortest clip accepted as a head video or background: below this there is nothing to make a bubble of. */
export const MIN_DURATION_SEC = 0.5;

export interface GateOptions {
  /** Demuxers allowed for this input (default USER_MEDIA_DEMUXERS); the local renderer adds image demuxers. */
  demuxers?: readonly string[];
  /** Decoder pixel cap (default MAX_FRAME_PIXELS). */
  maxPixels?: number;
}

/** ffmpeg/ffprobe input options for one outside file, ending with `-i file:<absolute path>`. */
export function gatedInput(path: string, o: GateOptions = {}): string[] {
  return [
    '-format_whitelist', (o.demuxers ?? USER_MEDIA_DEMUXERS).join(','),
    '-protocol_whitelist', 'file',
    '-max_pixels', String(o.maxPixels ?? MAX_FRAME_PIXELS),
    '-i', `file:${resolve(path)}`,
  ];
}

/** True when ffmpeg's format name (e.g. `mov,mp4,m4a,3gp,3g2,mj2`) names one of the allowed demuxers. */
export function isAllowedDemuxer(formatName: string, demuxers: readonly string[] = USER_MEDIA_DEMUXERS): boolean {
  return formatName.split(',').some((n) => demuxers.includes(n));
}

export function frameTooLarge(width: number, height: number, maxPixels: number = MAX_FRAME_PIXELS): MediaError {
  return new MediaError('frame_too_large', `The frame is ${width}×${height}; at most ${maxPixels} pixels are accepted.`, {
    width,
    height,
    maxPixels,
  });
}

/** The `frame_too_large` error when ffmpeg's stderr says the pixel cap stopped it, else null. */
export function pixelCapError(stderr: string, maxPixels: number = MAX_FRAME_PIXELS): MediaError | null {
  const m = /Picture size (\d+)x(\d+) exceeds specified max pixel count/.exec(stderr);
  return m ? frameTooLarge(Number(m[1]), Number(m[2]), maxPixels) : null;
}

const IMAGE_SIGNATURES: Array<{ kind: string; test: (b: Buffer) => boolean }> = [
  { kind: 'png', test: (b) => b.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) },
  { kind: 'jpeg', test: (b) => b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff },
  { kind: 'gif', test: (b) => b.subarray(0, 4).toString('latin1') === 'GIF8' },
  { kind: 'webp', test: (b) => b.subarray(0, 4).toString('latin1') === 'RIFF' && b.subarray(8, 12).toString('latin1') === 'WEBP' },
  { kind: 'bmp', test: (b) => b.subarray(0, 2).toString('latin1') === 'BM' && b.readUInt32LE(2) > 26 },
  // HEIF/AVIF photos are ISO-BMFF like MP4: told apart by the `ftyp` major brand.
  {
    kind: 'heif',
    test: (b) => b.subarray(4, 8).toString('latin1') === 'ftyp' && /^(heic|heix|hevc|heim|heis|mif1|msf1|avif|avis)$/.test(b.subarray(8, 12).toString('latin1')),
  },
];

/**
 * The kind of still image a file is (by its first bytes), or null. A photo renamed `.mp4` is refused with its own
 * message ("send a video, not a photo") instead of the generic "not a video".
 */
export async function sniffStillImage(path: string): Promise<string | null> {
  const fh = await open(path, 'r');
  try {
    const head = Buffer.alloc(16);
    const { bytesRead } = await fh.read(head, 0, 16, 0);
    if (bytesRead < 12) return null;
    return IMAGE_SIGNATURES.find((s) => s.test(head))?.kind ?? null;
  } finally {
    await fh.close();
  }
}
