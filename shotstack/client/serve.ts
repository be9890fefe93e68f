import type { AssetRenderResponse, AssetResponseAttributes } from '../types.js';
import { deleteQuietly404, getJson, isNotFound } from './requests.js';
import type { ClientSettings } from './settings.js';
import type { CallOptions, DeletedAssets } from './types.js';

/** Serve API: the hosted (durable) copies of a finished render — find them, delete them. */

/** The Serve API's hosted assets of a render (video, poster, thumbnail…). */
async function listRenderAssets(s: ClientSettings, renderId: string, o: CallOptions = {}): Promise<AssetResponseAttributes[]> {
  const body = await getJson<AssetRenderResponse>(s, {
    operation: `GET /serve/assets/render/${renderId}`,
    url: `${s.serveUrl}/assets/render/${encodeURIComponent(renderId)}`,
    api: 'serve',
    signal: o.signal,
  });
  return (body?.data ?? []).map((d) => d.attributes).filter((a): a is AssetResponseAttributes => Boolean(a));
}

export async function getHostedUrl(s: ClientSettings, renderId: string, o: CallOptions = {}): Promise<string | null> {
  // A render can have several hosted assets (video, poster, thumbnail): take the video.
  const video = (await listRenderAssets(s, renderId, o)).find((a) => /\.(mp4|mov|webm)$/i.test(a.filename ?? a.url ?? ''));
  return video?.status === 'ready' && video.url ? video.url : null;
}

export async function deleteRenderAssets(s: ClientSettings, renderId: string, o: CallOptions = {}): Promise<DeletedAssets> {
  let assets: AssetResponseAttributes[];
  try {
    assets = (await listRenderAssets(s, renderId, o)).filter((a) => a.id);
  } catch (e) {
    if (isNotFound(e)) return { deleted: 0, pending: 0 };
    throw e;
  }
  const result: DeletedAssets = { deleted: 0, pending: 0 };
  for (const asset of assets) {
    // A copy still being made cannot be deleted for good yet (it would land after the delete).
    if (asset.status === 'importing') {
      result.pending++;
      continue;
    }
    const gone = await deleteQuietly404(s, {
      operation: `DELETE /serve/assets/${asset.id}`,
      url: `${s.serveUrl}/assets/${encodeURIComponent(asset.id)}`,
      api: 'serve',
      signal: o.signal,
    });
    if (gone) result.deleted++;
  }
  s.log.info({ renderId, ...result }, 'hosted render assets deleted');
  return result;
}
