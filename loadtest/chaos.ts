import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { readHeartbeats } from '../pipeline/heartbeat.js';
import type { Cluster } from './cluster.js';
import type { ManagedProcess } from './processes.js';

/**
 * Faults the load test schedules while users are served, one after another, each bounded in time: a worker
 * SIGKILLed mid-job and started again, the GPU worker stopped and restarted (jobs fall back to the CPU), a burst
 * of 429/5xx answers from the renderer, a 429 from Telegram on a send, and a Redis restart (AOF on, so the queue
 * survives). Loopback only; chaos ends by itself once every event ran or the run's deadline passed.
 */
export const CHAOS_EVENTS = ['worker-kill', 'renderer-429', 'gpu-restart', 'telegram-429', 'redis-restart'] as const;
/**
 * Also by name only: a light renderer burst whose 429 carries Retry-After (as a proxy may add). Shotstack's own 429s
 * carry none, and the client then holds the API until its 60 s window resets — right, but a minute per 429 is more
 * than a short test can spend.
 */
export const EXTRA_CHAOS_EVENTS = ['renderer-429-short'] as const;
export type ChaosEvent = (typeof CHAOS_EVENTS)[number] | (typeof EXTRA_CHAOS_EVENTS)[number];

export interface ChaosRecord {
  event: ChaosEvent;
  /** Seconds since the users started. */
  atSec: number;
  ok: boolean;
  detail: string;
}

interface ChaosDeps {
  cluster: Cluster;
  redis: Redis;
  startedAt: number;
  deadline: number;
}

/**
 * The worker process running a job now (from the workers' heartbeats): a job seen running in three polls a second
 * apart, so the kill lands mid-work (overlay or render) rather than on a job about to end; the first worker after
 * `waitMs`.
 */
async function busyWorker(d: ChaosDeps, waitMs: number): Promise<{ proc: ManagedProcess; jobs: string[] }> {
  const end = Date.now() + waitMs;
  let seen = new Map<string, number>();
  while (Date.now() < end) {
    const beats = await readHeartbeats({ redis: d.redis, prefix: d.cluster.prefix }).catch(() => []);
    const now = new Map(beats.flatMap((b) => b.activeJobs).map((j) => [j, (seen.get(j) ?? 0) + 1]));
    for (const hb of beats.filter((b) => b.activeJobs.some((j) => now.get(j)! >= 3))) {
      const proc = d.cluster.workers.find((w) => w.pid === hb.pid);
      if (proc) return { proc, jobs: hb.activeJobs };
    }
    seen = now;
    await sleep(1000);
  }
  return { proc: d.cluster.workers[0]!, jobs: [] };
}

const RUN: Record<ChaosEvent, (d: ChaosDeps) => Promise<string>> = {
  async 'worker-kill'(d) {
    const { proc, jobs } = await busyWorker(d, 20_000);
    await proc.restart('SIGKILL', 2000);
    return `SIGKILL ${proc.spec.name} (running ${jobs.join(', ') || 'nothing'}), restarted after 2 s`;
  },
  async 'renderer-429'(d) {
    const respond = [
      { status: 429, count: 4 },
      { status: 503, count: 2 },
      { status: 500, count: 1 },
    ];
    await d.cluster.renderer.call('injectFaults', { respond });
    return 'renderer answers the next 4 API calls 429, then 2× 503, 1× 500';
  },
  async 'renderer-429-short'(d) {
    const respond = [
      { status: 429, count: 1, retryAfterSec: 1 },
      { status: 503, count: 1 },
    ];
    await d.cluster.renderer.call('injectFaults', { respond });
    return 'renderer answers the next API call 429 with Retry-After 1, then one 503';
  },
  async 'gpu-restart'(d) {
    await d.cluster.gpu.restart('SIGTERM', 5000);
    return 'GPU worker stopped (SIGTERM), down 5 s, started again';
  },
  async 'telegram-429'(d) {
    await d.cluster.tg.call('injectFault', { method: 'sendVideo', status: 429, description: 'Too Many Requests: retry after 2', retryAfter: 2, times: 2 });
    return 'fake Bot API answers the next 2 sendVideo calls 429 retry_after 2';
  },
  async 'redis-restart'(d) {
    await d.cluster.redis.restart('SIGTERM', 1000);
    return 'redis-server stopped (SIGTERM, AOF flushed), down 1 s, started again';
  },
};

/** Starts event i at `firstDelayMs + i × gapMs` (they may overlap: a restart takes a while); resolves when all ran. */
export async function runChaos(d: ChaosDeps, events: readonly ChaosEvent[], o: { firstDelayMs: number; gapMs: number }): Promise<ChaosRecord[]> {
  return Promise.all(
    events.map(async (event, i): Promise<ChaosRecord> => {
      await sleep(o.firstDelayMs + i * o.gapMs);
      const atSec = Math.round((Date.now() - d.startedAt) / 100) / 10;
      if (Date.now() > d.deadline - 30_000) return { event, atSec, ok: false, detail: 'skipped: too close to the deadline' };
      try {
        return { event, atSec, ok: true, detail: await RUN[event](d) };
      } catch (e) {
        return { event, atSec, ok: false, detail: (e as Error).message };
      }
    }),
  );
}
