import type { LocalContext, Route, RouteCall } from '../context.js';
import { sendFile, sendJson } from '../http.js';

/** The files behind the URLs this renderer hands out: ingested sources and finished renders. */
export const FILE_ROUTES: readonly Route[] = [
  { method: 'GET', pattern: /^\/assets\/sources\/([^/]+)\/([^/]+)$/, handle: getSourceFile },
  { method: 'GET', pattern: /^\/assets\/renders\/([0-9a-f-]+)\.mp4$/, handle: getRenderFile },
];

function getSourceFile(ctx: LocalContext, { res, params: [id, fileName] }: RouteCall): Promise<void> | void {
  const source = ctx.store.sources.get(id!);
  if (!source?.file || source.fileName !== fileName) return sendJson(res, 404, { message: 'Not Found' });
  return sendFile(res, source.file);
}

function getRenderFile(ctx: LocalContext, { res, params: [id] }: RouteCall): Promise<void> | void {
  const render = ctx.store.renders.get(id!);
  if (render?.data.status !== 'done') return sendJson(res, 404, { message: 'Not Found' });
  return sendFile(res, ctx.store.renderFile(id!));
}
