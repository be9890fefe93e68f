import type { Logger } from '../../common/logger.js';
import type { GpuWorkerClient } from '../../gpu-worker/client/index.js';
import type { GpuHealthSnapshot } from '../heartbeat.js';

/**
 * Asks the GPU worker's /health every interval, so admins see its state and provider in the heartbeat, and auto
 * mode can skip a GPU that is known to be down instead of waiting for it to time out on a job.
 */
export class GpuHealthMonitor {
  private snapshot: GpuHealthSnapshot;
  private timer: NodeJS.Timeout | null = null;
  private inFlight: Promise<void> | null = null;

  constructor(
    private readonly client: GpuWorkerClient | null,
    host: string | null,
    private readonly intervalMs: number,
    private readonly log: Logger,
  ) {
    this.snapshot = { configured: client !== null, host, lastCheckAt: null, ok: null, status: null, provider: null, gpuName: null };
  }

  start(): void {
    if (!this.client || this.timer) return;
    void this.check();
    this.timer = setInterval(() => void this.check(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  current(): GpuHealthSnapshot {
    return { ...this.snapshot };
  }

  /** False only when the last check failed; null before the first check or without a GPU worker. */
  healthy(): boolean | null {
    return this.snapshot.ok;
  }

  check(): Promise<void> {
    if (!this.client) return Promise.resolve();
    this.inFlight ??= this.runCheck().finally(() => (this.inFlight = null));
    return this.inFlight;
  }

  private async runCheck(): Promise<void> {
    const at = new Date().toISOString();
    try {
      const h = await this.client!.health({ signal: AbortSignal.timeout(Math.min(10_000, this.intervalMs)) });
      const ok = h.status === 'ok' || h.status === 'starting';
      if (ok !== this.snapshot.ok) this.log.info({ status: h.status, provider: h.provider }, 'gpu worker health changed');
      this.snapshot = { ...this.snapshot, lastCheckAt: at, ok, status: h.status, provider: h.provider, gpuName: h.gpuName };
    } catch (e) {
      const reason = (e as { reason?: string }).reason ?? (e as Error).name;
      if (this.snapshot.ok !== false) this.log.warn({ reason }, 'gpu worker health check failed');
      this.snapshot = { ...this.snapshot, lastCheckAt: at, ok: false, status: `unreachable:${reason}`, provider: null };
    }
  }
}
