import type { HealthBody } from '../server/api.js';
import { GpuWorkerError, isNetworkError } from './errors.js';
import { connectionFailed } from './failures.js';
import { exchange, readJson, type HttpAnswer } from './http.js';
import type { ClientContext } from './settings.js';
import { resolveOnWorker } from './urls.js';

/** GET /health, without the token (it is public); a gateway's own headers still go with it. */
export async function health(ctx: ClientContext, opts: { signal?: AbortSignal } = {}): Promise<HealthBody> {
  const signal = opts.signal ?? AbortSignal.timeout(10_000);
  let res: HttpAnswer;
  try {
    res = await exchange({ method: 'GET', url: resolveOnWorker(ctx.base, 'health'), headers: { ...ctx.headers }, signal, idleTimeoutMs: ctx.idleTimeoutMs });
  } catch (e) {
    if (isNetworkError(e) || signal.aborted) throw connectionFailed('health', e);
    throw e;
  }
  const body = await readJson<HealthBody>(res.body);
  if (!body) throw new GpuWorkerError('unavailable', `http_${res.status}`, `health: HTTP ${res.status} without a health body`, { status: res.status });
  return body;
}
