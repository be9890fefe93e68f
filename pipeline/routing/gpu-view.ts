import type { GpuMemberState } from '../gpu-pool.js';

/**
 * The GPU worker a job would go to, as the pool would pick it (gpu-pool.ts: usable workers by load, least first),
 * with what the estimate needs: how busy it is, its slots, and whether it is warm.
 */
export interface GpuPick {
  host: string;
  busy: number;
  concurrency: number;
  warm: boolean;
}

/** Null when no worker is usable (all down or benched: the pool's states() reports a benched one as ok false). */
export function pickGpu(states: readonly GpuMemberState[], nowMs: number, idleWarmSec: number): GpuPick | null {
  const usable = states.filter((s) => s.ok !== false);
  if (!usable.length) return null;
  const best = usable.map((s) => ({ s, load: busyOf(s) / slotsOf(s) })).sort((a, b) => a.load - b.load)[0]!.s;
  return { host: best.host, busy: busyOf(best), concurrency: slotsOf(best), warm: isWarm(best.lastSeenAt, nowMs, idleWarmSec) };
}

/** Warm: it answered (health ok, or a finished job) within the idle window; a scale-to-zero host is cold after it. */
export function isWarm(lastSeenAt: string | null | undefined, nowMs: number, idleWarmSec: number): boolean {
  if (!lastSeenAt) return false;
  const at = Date.parse(lastSeenAt);
  return Number.isFinite(at) && nowMs - at <= idleWarmSec * 1000;
}

function busyOf(s: GpuMemberState): number {
  return Math.max(s.inFlight, s.reported ? s.reported.running + s.reported.queued : 0);
}

function slotsOf(s: GpuMemberState): number {
  return Math.max(1, s.reported?.concurrency ?? 1);
}
