import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../common/logger.js';
import { isShotstackError } from '../shotstack/errors.js';
import type { MatteFrame } from '../shotstack/matte.js';
import { ensureInputs } from './ensure-inputs.js';
import { ensureOverlay } from './ensure-overlay.js';
import type { JobContext } from './job-context.js';
import { bubbleLayout, type BubbleLayout } from './stages/layout.js';
import { awaitAndDownload, ingestForRender, ingestStillValid, submitRender, type Renderer } from './stages/render.js';
import type { IngestState, RenderedState, RenderState } from './stages/state.js';
import { PipelineError } from './failures.js';

/**
 * The render stage (output video only): the stored download when it is still on disk; otherwise the render already
 * submitted (by this renderer) is polled, and only when there is none is a new one submitted. A render the renderer
 * lost is submitted once more, never a third time.
 */
export async function ensureRendered(job: JobContext): Promise<RenderedState> {
  const { data, state, deps, workDir } = job;
  const renderer = deps.renderer;
  if (!renderer) throw new PipelineError('misconfigured', 'no renderer configured for output video', false);
  const stored = await state.get('rendered');
  if (stored && existsSync(stored.path)) return stored;
  const l = job.stageLog('render');
  const dest = join(workDir, 'render', 'final.mp4');
  await mkdir(join(workDir, 'render'), { recursive: true });
  const layout = bubbleLayout(data, deps.settings);
  for (let submissions = 0; ; submissions++) {
    job.checkpoint();
    const render = await submittedOrNewRender(job, renderer, layout, l);
    const done = await downloadRender(job, renderer, render, dest, l);
    if (!done) {
      await state.delete('render', 'ingest');
      if (submissions >= 1) throw new PipelineError('renderer_unavailable', 'the renderer lost the render twice', true);
      continue;
    }
    const value: RenderedState = { ...done.rendered, ms: render.ms + done.ms };
    await state.set('rendered', value);
    l.info({ ms: value.ms, renderId: render.renderId, bytes: value.bytes }, 'render downloaded');
    return value;
  }
}

/** The stored render of this renderer (one submitted to another renderer does not count), or a freshly submitted one. */
async function submittedOrNewRender(
  job: JobContext,
  renderer: Renderer,
  layout: BubbleLayout,
  l: Logger,
): Promise<RenderState> {
  const { state, signal } = job;
  const stored = await state.get('render');
  if (stored && stored.renderer === renderer.id) return stored;
  const ingest = await ensureIngest(job, renderer, layout.placement, l);
  const inputs = await ensureInputs(job);
  const overlay = await state.get('overlay');
  if (!overlay) throw new PipelineError('internal', 'overlay state vanished before the render', true);
  job.ran.add('render');
  const t0 = Date.now();
  const renderId = await submitRender(renderer, ingest, overlay, inputs.background!, layout.edit, { signal, log: l });
  const render: RenderState = { renderer: renderer.id, renderId, submittedAt: new Date().toISOString(), ms: ingest.ms + (Date.now() - t0) };
  await state.set('render', render);
  return render;
}

/** Waits for the render and downloads it; null when the renderer no longer knows it. */
async function downloadRender(
  job: JobContext,
  renderer: Renderer,
  render: RenderState,
  dest: string,
  l: Logger,
): Promise<{ rendered: Omit<RenderedState, 'ms'>; ms: number } | null> {
  const { state, progress, signal } = job;
  job.ran.add('render');
  progress.update('render', 0.1);
  const t0 = Date.now();
  try {
    const rendered = await awaitAndDownload(renderer, render.renderId, dest, { signal, log: l, onProgress: (f) => progress.update('render', f) });
    return rendered && { rendered, ms: Date.now() - t0 };
  } catch (e) {
    // A failed render is final for this job; forget it so an admin's manual retry renders afresh.
    if (isShotstackError(e) && e.kind === 'render_failed') await state.delete('render');
    throw e;
  }
}

/** The overlay (and background) uploaded where the renderer can read them; reused while the renderer still has them. */
async function ensureIngest(job: JobContext, renderer: Renderer, frame: MatteFrame, l: Logger): Promise<IngestState> {
  const { state, progress, signal, workDir } = job;
  const stored = await state.get('ingest');
  if (stored && (await ingestStillValid(renderer, stored, { signal, log: l }))) return stored;
  const overlay = await ensureOverlay(job);
  const inputs = await ensureInputs(job);
  job.checkpoint();
  job.ran.add('render');
  progress.update('render', 0);
  const value = await ingestForRender(renderer, overlay, inputs.background!, frame, workDir, {
    signal,
    log: l,
    onProgress: (f) => progress.update('render', f),
  });
  await state.set('ingest', value);
  return value;
}
