import type { OverlayPath } from '../contract.js';
import type { PipelineRedis } from '../redis.js';
import { absPctError } from './estimate.js';
import { routingKeys } from './keys.js';

/**
 * How wrong the router's estimates were: per path, the mean absolute percentage error (MAPE) of the estimate of
 * the path that ran against its real time, over the last ERROR_WINDOW_HOURS. One Redis hash per path and UTC hour
 * ({sumPct, n}), expiring an hour after it leaves the window, so the window slides without a cleanup job.
 */
export const ERROR_WINDOW_HOURS = 24;

export interface PathError {
  /** Estimates measured against a finished overlay in the window. */
  count: number;
  /** Mean absolute % error, or null when count is 0. */
  mapePct: number | null;
}

export type EstimateErrors = Record<OverlayPath, PathError>;

const hourOf = (ms: number) => Math.floor(ms / 3600_000);

export async function recordEstimateError(r: PipelineRedis, path: OverlayPath, estimateSec: number, actualSec: number, nowMs = Date.now()): Promise<number> {
  const pct = absPctError(estimateSec, actualSec);
  const key = routingKeys(r.prefix).error(path, hourOf(nowMs));
  await r.redis
    .multi()
    .hincrbyfloat(key, 'sumPct', pct)
    .hincrby(key, 'n', 1)
    .expire(key, (ERROR_WINDOW_HOURS + 1) * 3600)
    .exec();
  return pct;
}

export async function readEstimateErrors(r: PipelineRedis, nowMs = Date.now()): Promise<EstimateErrors> {
  const keys = routingKeys(r.prefix);
  const now = hourOf(nowMs);
  const hours = Array.from({ length: ERROR_WINDOW_HOURS }, (_, i) => now - i);
  const read = async (path: OverlayPath): Promise<PathError> => {
    const m = r.redis.multi();
    for (const h of hours) m.hmget(keys.error(path, h), 'sumPct', 'n');
    const rows = ((await m.exec()) ?? []).map(([, v]) => (v as Array<string | null>) ?? [null, null]);
    const sum = rows.reduce((a, [s]) => a + Number(s ?? 0), 0);
    const count = rows.reduce((a, [, n]) => a + Number(n ?? 0), 0);
    return { count, mapePct: count ? Math.round((sum / count) * 10) / 10 : null };
  };
  const [gpu, cpu] = await Promise.all([read('gpu'), read('cpu')]);
  return { gpu, cpu };
}
