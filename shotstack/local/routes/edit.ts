import { randomUUID } from 'node:crypto';
import type { RenderResponseData } from '../../types.js';
import { declaredTooLarge, readCapped } from '../body.js';
import { isoNow, OWNER, type LocalContext, type Route, type RouteCall } from '../context.js';
import { sendJson } from '../http.js';
import { assetSrcs } from '../render-job.js';
import { validateEdit, validationErrorBody } from '../validation.js';

/** Edit API: `POST /render` queues a render, `GET /render/{id}` reports its status. */
export const EDIT_ROUTES: readonly Route[] = [
  { method: 'POST', pattern: /^\/render$/, handle: submitRender },
  {
    method: 'GET',
    pattern: /^\/render\/([^/]+)$/,
    // Shotstack still includes the Edit (`data`) unless asked not to (a deprecated default it plans to flip).
    handle: (ctx, { res, url, params }) => getRender(ctx, res, params[0]!, url.searchParams.get('data') !== 'false'),
  },
];

async function submitRender(ctx: LocalContext, { req, res }: RouteCall): Promise<void> {
  const { limits, store } = ctx;
  const raw = declaredTooLarge(req, limits.maxEditBytes) ? null : await readCapped(req, limits.maxEditBytes);
  if (!raw) {
    const detail = { message: `"body" must be at most ${limits.maxEditBytes} bytes`, path: [], type: 'local.limit' };
    // The rest of the body is left unread: closing the connection is cheaper than draining it.
    return sendJson(res, 400, validationErrorBody([detail]), { connection: 'close' });
  }
  let body: unknown;
  try {
    body = JSON.parse(raw.toString('utf8'));
  } catch (e) {
    return sendJson(res, 400, validationErrorBody([{ message: `"body" ${(e as Error).message}`, path: [], type: 'body.invalid' }]));
  }
  const check = validateEdit(body, limits);
  if (!check.ok) return sendJson(res, 400, validationErrorBody(check.details));
  const id = randomUUID();
  const record: RenderResponseData = { id, owner: OWNER, plan: 'local', status: 'queued', created: isoNow(), data: check.edit };
  store.renders.set(id, { data: record, sourceIds: store.ownSourceIds(assetSrcs(check.edit)) });
  ctx.renderQueue.enqueue(record, check.edit);
  sendJson(res, 201, { success: true, message: 'Created', response: { message: 'Render Successfully Queued', id } });
}

function getRender(ctx: LocalContext, res: RouteCall['res'], id: string, withEdit: boolean): void {
  const record = ctx.store.renders.get(id)?.data;
  if (!record) return sendJson(res, 404, { success: false, message: 'Not Found', response: `Render ${id} not found` });
  const { data, ...status } = record;
  sendJson(res, 200, { success: true, message: 'OK', response: { ...status, ...(withEdit ? { data } : {}), updated: isoNow() } });
}
