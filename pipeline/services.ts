import { join } from 'node:path';
import type { Logger } from '../common/logger.js';
import type { ShotstackRetryReason } from '../common/metrics/metrics.js';
import { parseWorkerUrlList } from '../gpu-worker/client/urls.js';
import { clientOptionsFromConfig, createShotstackClient, startLocalShotstack, usesLocalRenderer, type ShotstackConfig } from '../shotstack/index.js';
import type { PipelineConfig } from './config.js';
import { gpuPoolFromUrls, type GpuPool } from './gpu-pool.js';
import { localReadings, publishFixedReadings, serviceReadings } from './readings-source.js';
import { openShotstackUpkeep } from './shotstack-upkeep.js';
import type { RenderSettings } from './stages/layout.js';
import type { Renderer } from './stages/render.js';

/**
 * Builds the external services the pipeline talks to from configuration, shared by the worker and the render CLI.
 */

/** How every job renders, from the operator's env: the same for the worker and the render CLI. */
export function renderSettingsFromConfig(cfg: PipelineConfig): RenderSettings {
  return {
    resolution: cfg.PIPELINE_RESOLUTION,
    fps: cfg.PIPELINE_FPS as RenderSettings['fps'],
    overlayKind: cfg.PIPELINE_OVERLAY_KIND,
    backgroundVolume: cfg.PIPELINE_BACKGROUND_VOLUME,
    maxDurationSec: cfg.PIPELINE_MAX_INPUT_DURATION_SEC,
    maxInputBytes: cfg.PIPELINE_MAX_INPUT_BYTES,
    ...(cfg.PIPELINE_BUBBLE_RING ? { bubbleRing: cfg.PIPELINE_BUBBLE_RING } : {}),
  };
}

/**
 * The GPU workers of GPU_WORKER_URL (one or a comma list) as one pool client, or null when it is not set. `host` is
 * what the heartbeat shows: the hosts, never the token.
 */
export function gpuClientFromConfig(cfg: PipelineConfig, logger: Logger): { client: GpuPool; host: string } | null {
  if (!cfg.GPU_WORKER_URL) return null;
  if (!cfg.GPU_WORKER_TOKEN) throw new Error('GPU_WORKER_URL is set but GPU_WORKER_TOKEN is not');
  const client = gpuPoolFromUrls(parseWorkerUrlList(cfg.GPU_WORKER_URL), {
    token: cfg.GPU_WORKER_TOKEN,
    deadlineMs: cfg.GPU_WORKER_DEADLINE_MS,
    idleTimeoutMs: cfg.GPU_WORKER_IDLE_TIMEOUT_MS,
    logger: logger.child({ component: 'gpu-worker-client' }),
  });
  return { client, host: client.hosts.join(', ') };
}

export interface OpenRenderer {
  renderer: Renderer;
  close(): Promise<void>;
}

/**
 * Shotstack when a key (or an explicit SHOTSTACK_API_URL) is set; otherwise a local Shotstack-compatible renderer
 * started in this process on a free port. Its sources and renders live only as long as this process, which the
 * renderer id (its URL) tells the pipeline: after a restart, stored render ids of the old one are not polled.
 * The renderer's readings come with it (see readings-source.ts); `calibrationRedis` (the worker's Redis URL and
 * queue prefix) lets every worker share one calibration, and the bot's /mode show it.
 */
export async function openRenderer(
  cfg: ShotstackConfig,
  o: {
    dataDir?: string;
    logger: Logger;
    calibrationRedis?: { url: string; prefix: string };
    /** Counts the client's retries (operators' numbers; Metrics.shotstackRetry). */
    onShotstackRetry?: (reason: ShotstackRetryReason) => void;
  },
): Promise<OpenRenderer> {
  if (!usesLocalRenderer(cfg)) {
    const opts = clientOptionsFromConfig(cfg);
    // The same Redis as the calibration: the request budget is per key, shared by every worker.
    const upkeep = openShotstackUpkeep(cfg, { redis: o.calibrationRedis, logger: o.logger });
    const client = createShotstackClient({ ...opts, budget: upkeep.budget, logger: o.logger, onRetry: o.onShotstackRetry });
    const calibration = serviceReadings(cfg, { client, apiUrl: opts.apiUrl, logger: o.logger, redis: o.calibrationRedis });
    // Sources go once the job has its file; the hosted copy after the retention (at once for a renderer without a
    // key: its file URLs are never sent as download links).
    const cleanup = upkeep.startCleanup(client, cfg.SHOTSTACK_API_KEY ? cfg.SHOTSTACK_RENDER_RETENTION_SEC : 0);
    await publishFixedReadings(calibration.readings, o.calibrationRedis, o.logger);
    return {
      renderer: {
        client,
        id: opts.apiUrl,
        isLocal: !cfg.SHOTSTACK_API_KEY,
        readings: calibration.readings,
        discardRender: (id) => cleanup.afterDownload(id),
      },
      close: async () => {
        await calibration.close();
        await upkeep.close();
      },
    };
  }
  const { emulate, readings } = localReadings(cfg, o.logger);
  await publishFixedReadings(readings, o.calibrationRedis, o.logger);
  const local = await startLocalShotstack({
    port: 0,
    dataDir: o.dataDir ? join(o.dataDir, `local-shotstack-${process.pid}`) : undefined,
    emulate,
    logger: o.logger,
  });
  const client = createShotstackClient({ ...clientOptionsFromConfig({ ...cfg, SHOTSTACK_API_URL: local.url }), pollIntervalMs: 250, logger: o.logger, onRetry: o.onShotstackRetry });
  o.logger.info({ url: local.url }, 'no SHOTSTACK_API_KEY: rendering with the local Shotstack-compatible renderer in this process');
  return {
    renderer: {
      client,
      id: local.url,
      isLocal: true,
      readings,
      // In-process: users' videos leave this machine's disk as soon as the job has its file.
      discardRender: (id) => local.discardRender(id),
    },
    close: () => local.close(),
  };
}
