import { USER_MEDIA_DEMUXERS } from '../../common/media-gate.js';

/**
 * The demuxers the local renderer opens sources and render assets with (the media gate's allow-list; see
 * common/media-gate.ts for why a playlist or concat list must never be auto-detected). On top of the user-media
 * containers (mov/mp4, matroska/webm): still images, because Shotstack documents a `luma` asset as "a greyscale
 * MP4 or image" and a still matte is a fine mask (alphamerge holds its one frame for the whole clip). These image
 * demuxers read one picture from the file itself and follow no references. No other format is accepted.
 */
export const ASSET_DEMUXERS: readonly string[] = [...USER_MEDIA_DEMUXERS, 'png_pipe', 'jpeg_pipe', 'webp_pipe'];
