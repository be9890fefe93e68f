import { editSchema } from '@shotstack/schemas/zod';
import { ShotstackError } from '../errors.js';
import { callShotstack, readJson } from '../http.js';
import type { Edit, QueuedResponse, RenderResponse, RenderResponseData } from '../types.js';
import { pollUntil } from './polling.js';
import { getJson } from './requests.js';
import type { ClientSettings } from './settings.js';
import type { CallOptions, GetRenderOptions, RenderResult, WaitOptions } from './types.js';

/** Edit API: submit a render, read its status, wait for it to finish. */

export async function getRender(s: ClientSettings, id: string, o: GetRenderOptions = {}): Promise<RenderResponseData> {
  const operation = `GET /render/${id}`;
  const body = await getJson<RenderResponse>(s, {
    operation,
    url: `${s.editUrl}/render/${encodeURIComponent(id)}?data=${o.data ? 'true' : 'false'}`,
    api: 'edit',
    signal: o.signal,
  });
  if (!body?.response?.status) {
    throw new ShotstackError('retryable', `${operation}: answer without a status`, { operation, id });
  }
  return body.response;
}

export async function submitRender(s: ClientSettings, edit: Edit, o: CallOptions = {}): Promise<string> {
  const operation = 'POST /render';
  assertValidEdit(edit, operation);
  const payload = JSON.stringify(edit);
  const body = await callShotstack(s.http, {
    operation,
    method: 'POST',
    url: `${s.editUrl}/render`,
    headers: { ...s.jsonHeaders, 'content-type': 'application/json' },
    body: () => ({ body: payload }),
    timeoutMs: s.timeoutMs,
    signal: o.signal,
    idempotent: false,
    api: 'edit',
    read: (res) => readJson<QueuedResponse>(res, operation),
  });
  const id = body?.response?.id;
  if (!id) throw new ShotstackError('retryable', `${operation}: answer without a render id`, { operation });
  s.log.info({ renderId: id }, 'render queued');
  return id;
}

/** Rejects an Edit that @shotstack/schemas rejects, before it costs a request. */
function assertValidEdit(edit: Edit, operation: string): void {
  const checked = editSchema.safeParse(edit);
  if (checked.success) return;
  const message = checked.error.issues.map((i) => `${i.path.join('.') || '(edit)'}: ${i.message}`).join('; ');
  throw new ShotstackError('bad_request', `${operation}: the Edit does not match @shotstack/schemas — ${message}`, {
    operation,
    serviceMessage: message,
  });
}

export async function waitForRender(s: ClientSettings, id: string, o: WaitOptions = {}): Promise<RenderResult> {
  const deadline = { ms: o.timeoutMs ?? s.renderDeadlineMs, outer: o.signal, what: `waiting for render ${id}`, id };
  let last: string | undefined;
  return pollUntil(s, deadline, async (signal) => {
    const render = await getRender(s, id, { signal });
    if (render.status !== last) {
      last = render.status;
      s.log.debug({ renderId: id, status: render.status }, 'render status');
      o.onStatus?.(render.status, render);
    }
    return finishedRender(id, render);
  });
}

/** The result of a `done` render; throws for `failed`; undefined for any other status (still working). */
function finishedRender(id: string, render: RenderResponseData): RenderResult | undefined {
  if (render.status === 'done') {
    if (!render.url) throw new ShotstackError('retryable', `render ${id} is done but has no url`, { id });
    return { id, status: 'done', url: render.url, duration: render.duration, renderTime: render.renderTime };
  }
  if (render.status === 'failed') {
    const serviceMessage = render.error || 'no reason given';
    throw new ShotstackError('render_failed', `render ${id} failed: ${serviceMessage}`, { id, serviceMessage });
  }
  // Any other status, including ones newer than our types, means "still working".
  return undefined;
}
