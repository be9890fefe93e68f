import { mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { probeMedia, runFfmpeg } from '../../common/ffmpeg.js';
import type { Logger } from '../../common/logger.js';
import type { RendererReadings } from '../readings.js';
import type { Edit, RenderStatus } from '../types.js';
import type { DownloadPolicy } from './asset-download.js';
import { fetchAssets } from './assets.js';
import { buildRenderArgs } from './ffmpeg-args.js';
import { checkPlanLimits, type LocalLimits } from './limits.js';
import { planRender } from './plan.js';

/**
 * One local render, through the statuses the real service reports: fetching (download + probe the assets),
 * rendering (one ffmpeg run), saving (move into the served folder). `queued` is set by the caller on submit.
 * Any thrown error becomes the render's `failed` status with the error's message.
 */
export interface RenderJobContext {
  id: string;
  edit: Edit;
  workDir: string;
  /** Where finished renders are served from; the output lands at `${rendersDir}/${id}.mp4`. */
  rendersDir: string;
  /** How this renderer reads what Shotstack's docs leave open (the service it emulates). */
  readings: RendererReadings;
  assetTimeoutMs: number;
  renderTimeoutMs: number;
  /** How assets are downloaded (public addresses only, capped; see asset-download.ts). */
  download: DownloadPolicy;
  /** The file behind one of this renderer's own URLs (see LocalStore.ownFile). */
  ownFile: (src: string) => string | null | undefined;
  limits: LocalLimits;
  signal: AbortSignal;
  log: Logger;
  setStatus: (status: RenderStatus) => Promise<void>;
  /** Fault injection: fail during `rendering` with this message. */
  injectedFailure?: string;
}

export interface RenderJobResult {
  file: string;
  durationSec: number;
}

export class InjectedRenderFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InjectedRenderFailure';
  }
}

/** Every asset URL of an Edit. Shape assets have no file to fetch: they are drawn by ffmpeg. */
export function assetSrcs(edit: Edit): string[] {
  return edit.timeline.tracks.flatMap((t) => t.clips.flatMap((c) => ('src' in c.asset && typeof c.asset.src === 'string' ? [c.asset.src] : [])));
}

export async function runRenderJob(ctx: RenderJobContext): Promise<RenderJobResult> {
  await mkdir(ctx.workDir, { recursive: true });
  try {
    await ctx.setStatus('fetching');
    const assets = await fetchAssets(assetSrcs(ctx.edit), join(ctx.workDir, 'assets'), {
      timeoutMs: ctx.assetTimeoutMs,
      signal: ctx.signal,
      download: ctx.download,
      ownFile: ctx.ownFile,
    });
    const asset = (src: string) => {
      const a = assets.get(src);
      if (!a) throw new Error(`asset ${src} was not fetched`);
      return a;
    };
    const plan = planRender(ctx.edit, (src) => asset(src).info, ctx.readings);
    checkPlanLimits(plan, ctx.limits);

    await ctx.setStatus('rendering');
    if (ctx.injectedFailure !== undefined) throw new InjectedRenderFailure(ctx.injectedFailure);
    const tmpOut = join(ctx.workDir, 'output.mp4');
    const args = buildRenderArgs(plan, (src) => asset(src).path, tmpOut);
    const started = Date.now();
    await runFfmpeg(args, { timeoutMs: ctx.renderTimeoutMs, signal: ctx.signal });
    ctx.log.debug({ renderId: ctx.id, ms: Date.now() - started, clips: plan.clips.length }, 'ffmpeg render finished');

    await ctx.setStatus('saving');
    await mkdir(ctx.rendersDir, { recursive: true });
    const file = join(ctx.rendersDir, `${ctx.id}.mp4`);
    await rename(tmpOut, file);
    const probed = await probeMedia(file);
    return { file, durationSec: probed.durationSec };
  } finally {
    await rm(ctx.workDir, { recursive: true, force: true });
  }
}
