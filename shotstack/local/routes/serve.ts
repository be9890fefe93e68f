import type { ServerResponse } from 'node:http';
import { isoNow, OWNER, type LocalContext, type Route } from '../context.js';
import { hostedAssetId } from '../hosted-asset.js';
import { sendJson } from '../http.js';

/** Serve API: the hosted copy of a finished render, and its deletion. */
export const SERVE_ROUTES: readonly Route[] = [
  { method: 'GET', pattern: /^\/assets\/render\/([^/]+)$/, handle: (ctx, { res, params }) => getHostedAssets(ctx, res, params[0]!) },
  { method: 'DELETE', pattern: /^\/assets\/([^/]+)$/, handle: (ctx, { res, params }) => deleteHostedAsset(ctx, res, params[0]!) },
];

function getHostedAssets(ctx: LocalContext, res: ServerResponse, renderId: string): void {
  const record = ctx.store.renders.get(renderId)?.data;
  if (record?.status !== 'done') return sendJson(res, 404, { message: 'Not Found' });
  const attributes = {
    id: hostedAssetId(renderId),
    owner: OWNER,
    region: 'local',
    renderId,
    filename: `${renderId}.mp4`,
    url: record.url,
    status: 'ready',
    created: record.created,
    updated: isoNow(),
  };
  sendJson(res, 200, { data: [{ type: 'asset', attributes }] });
}

/** Serve API `DELETE /assets/{id}`: here the hosted copy is the render's only file, so the render goes with it. */
async function deleteHostedAsset(ctx: LocalContext, res: ServerResponse, assetId: string): Promise<void> {
  const { renders } = ctx.store;
  const renderId = [...renders.keys()].find((id) => renders.get(id)?.data.status === 'done' && hostedAssetId(id) === assetId);
  if (!renderId) return sendJson(res, 404, { message: 'Not Found' });
  await ctx.store.removeRender(renderId);
  res.writeHead(204).end();
}
