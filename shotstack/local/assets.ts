import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { probeMedia, type MediaInfo } from '../../common/ffmpeg.js';
import type { AssetInfo } from './plan.js';

/**
 * The "fetching" stage of a local render: download each distinct asset URL once (with fetch, like the real
 * service fetches public URLs) and probe it. Errors carry the messages a Shotstack user would see.
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

export async function fetchAssets(
  srcs: string[],
  dir: string,
  opts: { timeoutMs: number; signal?: AbortSignal },
): Promise<Map<string, FetchedAsset>> {
  await mkdir(dir, { recursive: true });
  const out = new Map<string, FetchedAsset>();
  let n = 0;
  for (const src of new Set(srcs)) {
    const path = join(dir, `asset-${n++}`);
    const signal = opts.signal ? AbortSignal.any([opts.signal, AbortSignal.timeout(opts.timeoutMs)]) : AbortSignal.timeout(opts.timeoutMs);
    let res: Response;
    try {
      res = await fetch(src, { signal });
    } catch (e) {
      throw new AssetError(`Unable to download asset ${src}: ${(e as Error).message}`);
    }
    if (!res.ok || !res.body) throw new AssetError(`Unable to download asset ${src}: HTTP ${res.status}`);
    await pipeline(Readable.fromWeb(res.body as WebReadableStream<Uint8Array>), createWriteStream(path));
    let media: MediaInfo;
    try {
      media = await probeMedia(path, {}, { signal: opts.signal });
    } catch (e) {
      throw new AssetError(`Asset ${src} is not a video or image the renderer can read (${(e as Error).message})`);
    }
    out.set(src, { path, info: assetInfoFrom(media) });
  }
  return out;
}
