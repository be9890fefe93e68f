import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import type { Logger } from '../../common/logger.js';
import type { RendererReadings } from '../readings.js';
import type { Edit, RenderResponseData } from '../types.js';
import type { DownloadPolicy } from './asset-download.js';
import { takeCounted, type LocalFaults } from './faults.js';
import type { LocalLimits } from './limits.js';
import { runRenderJob } from './render-job.js';
import type { LocalStore } from './store.js';

export interface RenderQueueOptions {
  store: LocalStore;
  readings: RendererReadings;
  limits: LocalLimits;
  download: DownloadPolicy;
  faults: LocalFaults;
  assetTimeoutMs: number;
  renderTimeoutMs: number;
  /** Aborted on close: stops downloads and ffmpeg. */
  signal: AbortSignal;
  /** Base of the URL a finished render is served from (known once the server listens). */
  publicUrl: () => string;
  /** Keeps each queued render for close() to wait on. */
  track: <T>(work: Promise<T>) => Promise<T>;
  log: Logger;
}

/**
 * The submitted renders, run one at a time (the machine has 2 cores and ffmpeg uses both). Each one moves its
 * record through the statuses of render-job.ts and ends `done` (with url, duration, renderTime) or `failed`.
 */
export class RenderQueue {
  private tail: Promise<void> = Promise.resolve();

  constructor(private readonly o: RenderQueueOptions) {}

  /** Queues the render of `edit`; `record` is already stored, `queued`, and is updated in place. */
  enqueue(record: RenderResponseData, edit: Edit): void {
    // Counted when a render is submitted: the next `count` submissions fail.
    const injectedFailure = takeCounted(this.o.faults.failRenders)?.message;
    this.tail = this.o.track(this.tail.then(() => this.execute(record, edit, injectedFailure)));
  }

  private async execute(record: RenderResponseData, edit: Edit, injectedFailure: string | undefined): Promise<void> {
    const { id } = record;
    const { store, log } = this.o;
    const started = Date.now();
    await this.hold();
    try {
      const result = await runRenderJob({
        id,
        edit,
        workDir: join(store.workRoot, id),
        rendersDir: store.rendersDir,
        readings: this.o.readings,
        assetTimeoutMs: this.o.assetTimeoutMs,
        renderTimeoutMs: this.o.renderTimeoutMs,
        download: this.o.download,
        ownFile: (src) => store.ownFile(src),
        limits: this.o.limits,
        signal: this.o.signal,
        log,
        injectedFailure,
        setStatus: async (status) => {
          record.status = status;
          await this.hold();
        },
      });
      Object.assign(record, {
        status: 'done',
        url: `${this.o.publicUrl()}/assets/renders/${id}.mp4`,
        duration: Math.round(result.durationSec * 100) / 100,
        renderTime: Date.now() - started,
      });
      log.info({ renderId: id, ms: Date.now() - started }, 'local render done');
    } catch (e) {
      record.status = 'failed';
      record.error = (e as Error).message;
      log.warn({ renderId: id, err: (e as Error).message }, 'local render failed');
    }
    store.markEnded(id);
  }

  /** Fault injection: keep each status visible this long, so a test can poll it. */
  private async hold(): Promise<void> {
    if (this.o.faults.statusHoldMs) await delay(this.o.faults.statusHoldMs);
  }
}
