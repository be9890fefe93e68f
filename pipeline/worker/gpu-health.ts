import type { Logger } from '../../common/logger.js';
import type { GpuWorkerClient } from '../../gpu-worker/client/index.js';
import { createGpuPool, isGpuPool, type GpuMemberState, type GpuPool } from '../gpu-pool.js';
import type { GpuHealthSnapshot } from '../heartbeat.js';

/**
 * Asks every GPU worker's /health each interval, so admins see each one's state and provider in the heartbeat, and
 * auto mode can skip the GPU when all are known to be down instead of waiting for them to time out on a job.
 * The state lives in the pool (gpu-pool.ts), which also benches a worker that fails a job; a plain client (tests,
 * older callers) is wrapped as a pool of one.
 */
export class GpuHealthMonitor {
  private readonly pool: GpuPool | null;
  private timer: NodeJS.Timeout | null = null;
  private inFlight: Promise<void> | null = null;

  constructor(
    client: GpuWorkerClient | null,
    host: string | null,
    private readonly intervalMs: number,
    log: Logger,
  ) {
    this.pool = client === null ? null : isGpuPool(client) ? client : createGpuPool([{ host: host ?? '?', client }], { logger: log });
  }

  start(): void {
    if (!this.pool || this.timer) return;
    void this.check();
    this.timer = setInterval(() => void this.check(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  current(): GpuHealthSnapshot {
    return snapshotOf(this.pool);
  }

  /** False when no worker may take a job (all failed their check or are benched); null before the first check. */
  healthy(): boolean | null {
    return this.pool ? this.pool.usable() : null;
  }

  check(): Promise<void> {
    if (!this.pool) return Promise.resolve();
    this.inFlight ??= this.pool.checkAll(Math.min(10_000, this.intervalMs)).finally(() => (this.inFlight = null));
    return this.inFlight;
  }
}

/**
 * The heartbeat's GPU part: one entry per worker, plus the summary fields older bots read (the hosts, healthy when
 * any is, the first healthy worker's provider).
 */
export function snapshotOf(pool: GpuPool | null): GpuHealthSnapshot {
  if (!pool) return { configured: false, host: null, lastCheckAt: null, ok: null, status: null, provider: null, gpuName: null, workers: [] };
  const workers = pool.states();
  const lead = workers.find((w) => w.ok === true) ?? workers[0]!;
  const checks = workers.map((w) => w.lastCheckAt).filter((t): t is string => t !== null).sort();
  return {
    configured: true,
    host: pool.hosts.join(', '),
    lastCheckAt: checks.at(-1) ?? null,
    ok: pool.usable(),
    status: workers.length > 1 ? `${workers.filter((w) => w.ok === true).length}/${workers.length} healthy` : lead.status,
    provider: lead.provider,
    gpuName: lead.gpuName,
    workers: workers.map(memberSnapshot),
  };
}

function memberSnapshot(w: GpuMemberState): NonNullable<GpuHealthSnapshot['workers']>[number] {
  return { host: w.host, ok: w.ok, status: w.status, provider: w.provider, gpuName: w.gpuName, inFlight: w.inFlight, downUntil: w.downUntil };
}
