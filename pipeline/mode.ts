import { PROCESSING_MODES, type ProcessingMode } from './config.js';
import { pipelineKeys } from './keys.js';
import type { PipelineRedis } from './redis.js';

/**
 * The processing mode in effect: an admin's override stored in Redis wins over PROCESSING_MODE from the env, so
 * `/mode cpu` takes effect on every worker at its next job, without a redeploy. Clearing it returns to the env value.
 */
export interface EffectiveMode {
  mode: ProcessingMode;
  source: 'override' | 'env';
  envMode: ProcessingMode;
  override: { mode: ProcessingMode; by?: number; at: string } | null;
}

function isMode(v: unknown): v is ProcessingMode {
  return typeof v === 'string' && (PROCESSING_MODES as readonly string[]).includes(v);
}

/**
 * The override lives MODE_OVERRIDE_TTL_SEC after it was last read: every worker reads it at each heartbeat, so it
 * holds while the system runs, and only a Redis nobody has used for that long forgets it.
 */
export const MODE_OVERRIDE_TTL_SEC = 180 * 24 * 3600;

export async function getModeOverride(r: PipelineRedis): Promise<EffectiveMode['override']> {
  const raw = await r.redis.getex(pipelineKeys(r.prefix).modeOverride, 'EX', MODE_OVERRIDE_TTL_SEC);
  if (!raw) return null;
  try {
    const v = JSON.parse(raw) as { mode?: unknown; by?: number; at?: string };
    return isMode(v.mode) ? { mode: v.mode, by: v.by, at: v.at ?? '' } : null;
  } catch {
    return null;
  }
}

export async function getEffectiveMode(r: PipelineRedis, envMode: ProcessingMode): Promise<EffectiveMode> {
  const override = await getModeOverride(r);
  return override ? { mode: override.mode, source: 'override', envMode, override } : { mode: envMode, source: 'env', envMode, override: null };
}

/** Sets the override (`null` removes it). `by` is the admin's user id, kept for /mode to show who set it. */
export async function setModeOverride(r: PipelineRedis, mode: ProcessingMode | null, by?: number): Promise<void> {
  const key = pipelineKeys(r.prefix).modeOverride;
  if (mode === null) {
    await r.redis.del(key);
    return;
  }
  if (!isMode(mode)) throw new RangeError(`mode must be one of ${PROCESSING_MODES.join(', ')}`);
  await r.redis.set(key, JSON.stringify({ mode, by, at: new Date().toISOString() }), 'EX', MODE_OVERRIDE_TTL_SEC);
}
