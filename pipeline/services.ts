import { join } from 'node:path';
import type { Logger } from '../common/logger.js';
import { createGpuWorkerClient, type GpuWorkerClient } from '../gpu-worker/client/index.js';
import { clientOptionsFromConfig, createShotstackClient, startLocalShotstack, usesLocalRenderer, type ShotstackConfig } from '../shotstack/index.js';
import type { PipelineConfig } from './config.js';
import type { RenderSettings } from './stages/layout.js';
import type { Renderer } from './stages/render.js';

/**
 * Builds the external services the pipeline talks to from configuration, shared by the worker and the render CLI.
 */

/** How every job renders, from the operator's env: the same for the worker and the render CLI. */
export function renderSettingsFromConfig(cfg: PipelineConfig, shotstackCfg: ShotstackConfig): RenderSettings {
  return {
    resolution: cfg.PIPELINE_RESOLUTION,
    fps: cfg.PIPELINE_FPS as RenderSettings['fps'],
    overlayKind: cfg.PIPELINE_OVERLAY_KIND,
    backgroundVolume: cfg.PIPELINE_BACKGROUND_VOLUME,
    lumaPolarity: shotstackCfg.SHOTSTACK_LUMA_POLARITY,
    maxDurationSec: cfg.PIPELINE_MAX_INPUT_DURATION_SEC,
    maxInputBytes: cfg.PIPELINE_MAX_INPUT_BYTES,
    ...(cfg.PIPELINE_BUBBLE_RING ? { bubbleRing: cfg.PIPELINE_BUBBLE_RING } : {}),
  };
}

/** The GPU worker client, or null when GPU_WORKER_URL is not set. */
export function gpuClientFromConfig(cfg: PipelineConfig, logger: Logger): { client: GpuWorkerClient; host: string } | null {
  if (!cfg.GPU_WORKER_URL) return null;
  if (!cfg.GPU_WORKER_TOKEN) throw new Error('GPU_WORKER_URL is set but GPU_WORKER_TOKEN is not');
  const client = createGpuWorkerClient({
    url: cfg.GPU_WORKER_URL,
    token: cfg.GPU_WORKER_TOKEN,
    deadlineMs: cfg.GPU_WORKER_DEADLINE_MS,
    idleTimeoutMs: cfg.GPU_WORKER_IDLE_TIMEOUT_MS,
    logger: logger.child({ component: 'gpu-worker-client' }),
  });
  return { client, host: new URL(cfg.GPU_WORKER_URL).host };
}

export interface OpenRenderer {
  renderer: Renderer;
  close(): Promise<void>;
}

/**
 * Shotstack when a key (or an explicit SHOTSTACK_API_URL) is set; otherwise a local Shotstack-compatible renderer
 * started in this process on a free port. Its sources and renders live only as long as this process, which the
 * renderer id (its URL) tells the pipeline: after a restart, stored render ids of the old one are not polled.
 */
export async function openRenderer(cfg: ShotstackConfig, o: { dataDir?: string; logger: Logger }): Promise<OpenRenderer> {
  if (!usesLocalRenderer(cfg)) {
    const opts = clientOptionsFromConfig(cfg);
    const client = createShotstackClient({ ...opts, logger: o.logger });
    return {
      renderer: { client, id: opts.apiUrl, isLocal: !cfg.SHOTSTACK_API_KEY, lumaPolarity: cfg.SHOTSTACK_LUMA_POLARITY },
      close: async () => undefined,
    };
  }
  const local = await startLocalShotstack({
    port: 0,
    dataDir: o.dataDir ? join(o.dataDir, `local-shotstack-${process.pid}`) : undefined,
    lumaPolarity: cfg.SHOTSTACK_LUMA_POLARITY,
    logger: o.logger,
  });
  const client = createShotstackClient({ ...clientOptionsFromConfig({ ...cfg, SHOTSTACK_API_URL: local.url }), pollIntervalMs: 250, logger: o.logger });
  o.logger.info({ url: local.url }, 'no SHOTSTACK_API_KEY: rendering with the local Shotstack-compatible renderer in this process');
  return {
    renderer: {
      client,
      id: local.url,
      isLocal: true,
      lumaPolarity: cfg.SHOTSTACK_LUMA_POLARITY,
      // In-process: users' videos leave this machine's disk as soon as the job has its file.
      discardRender: (id) => local.discardRender(id),
    },
    close: () => local.close(),
  };
}
