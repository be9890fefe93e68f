import { copyFile, link, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { probeMedia, type MediaInfo } from '../../common/ffmpeg.js';
import { downloadAsset, type DownloadPolicy } from './asset-download.js';
import { ASSET_DEMUXERS } from './asset-formats.js';
import type { AssetInfo } from './plan.js';

/**
 * The "fetching" stage of a local render: get each distinct asset URL once and probe it through the media gate.
 * URLs this renderer issued itself (ingested sources, finished renders) are read from its own store, not fetched:
 * the real service reads its own storage too, and it keeps a strict download policy (public addresses only)
 * from breaking the common case. Every other URL is downloaded under the policy (asset-download.ts). Errors
 * carry the messages a Shotstack user would see: the render fails with them.
 */
export class AssetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AssetError';
  }
}

export interface FetchedAsset {
  path: string;
  info: AssetInfo;
}

export interface FetchOptions {
  timeoutMs: number;
  signal?: AbortSignal;
  download: DownloadPolicy;
  /**
   * For a URL under this renderer's own address: its file, or null when it names nothing (expired, deleted,
   * unknown). `undefined` means "not one of ours": fetch it.
   */
  ownFile?: (src: string) => string | null | undefined;
}

const ALPHA_PIX_FMTS = /^(yuva|gbrap|ya\d|argb$|rgba$|bgra$|abgr$|rgba64|bgra64|pal8$)/;

export function assetInfoFrom(media: MediaInfo): AssetInfo {
  const v = media.video!;
  const alphaDecoder = v.alphaMode ? (v.codec === 'vp8' ? 'libvpx' : v.codec === 'vp9' ? 'libvpx-vp9' : null) : null;
  return {
    width: v.width,
    height: v.height,
    durationSec: media.durationSec,
    hasAudio: media.audio !== null,
    alphaDecoder,
    hasAlpha: v.alphaMode || ALPHA_PIX_FMTS.test(v.pixFmt),
  };
}

export async function fetchAssets(srcs: string[], dir: string, opts: FetchOptions): Promise<Map<string, FetchedAsset>> {
  await mkdir(dir, { recursive: true });
  const out = new Map<string, FetchedAsset>();
  let n = 0;
  for (const src of new Set(srcs)) {
    // No extension: ffmpeg's image2 demuxer would pick a file by its name; these are detected by content only.
    const path = join(dir, `asset-${n++}`);
    const signal = opts.signal ? AbortSignal.any([opts.signal, AbortSignal.timeout(opts.timeoutMs)]) : AbortSignal.timeout(opts.timeoutMs);
    await obtain(src, path, opts, signal);
    out.set(src, { path, info: assetInfoFrom(await probeAsset(src, path, opts)) });
  }
  return out;
}

async function obtain(src: string, path: string, opts: FetchOptions, signal: AbortSignal): Promise<void> {
  const own = opts.ownFile?.(src);
  if (own === null) throw new AssetError(`Unable to download asset ${src}: HTTP 404`);
  if (own !== undefined) {
    return linkOrCopy(own, path).catch(() => {
      throw new AssetError(`Unable to download asset ${src}: HTTP 404`); // removed between lookup and link
    });
  }
  try {
    await downloadAsset(src, path, opts.download, signal);
  } catch (e) {
    throw new AssetError(`Unable to download asset ${src}: ${(e as Error).message}`);
  }
}

/** A hard link keeps the file readable for this render even if the source expires meanwhile, at no copy cost. */
async function linkOrCopy(from: string, to: string): Promise<void> {
  try {
    await link(from, to);
  } catch {
    await copyFile(from, to);
  }
}

async function probeAsset(src: string, path: string, opts: FetchOptions): Promise<MediaInfo> {
  try {
    return await probeMedia(path, { demuxers: ASSET_DEMUXERS }, { signal: opts.signal });
  } catch (e) {
    throw new AssetError(`Asset ${src} is not a video or image the renderer can read (${(e as Error).message})`);
  }
}
