import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { probeMedia } from '../common/ffmpeg.js';
import { MIN_DURATION_SEC } from '../common/media-gate.js';
import type { Logger } from '../common/logger.js';
import { CONTRACT_VERSION, type InputRef, type JobData, type JobResult, type OverlayRecord, type Stage } from './contract.js';
import type { Deliver, Deliverable } from './stages/deliver.js';
import { bubbleLayout, engineOptionsFor, requiredOverlayFiles, type RenderSettings } from './stages/layout.js';
import type { OverlayProducer } from './stages/overlay.js';
import type { ProgressTracker } from './stages/progress.js';
import { awaitAndDownload, ingestForRender, ingestStillValid, submitRender, type Renderer } from './stages/render.js';
import { overlaySettingsFor } from './stages/renderer-readings.js';
import type { InputsState, LocalMedia, OverlayState, RenderedState, StateStore } from './stages/state.js';
import { isShotstackError } from '../shotstack/errors.js';
import type { MatteFrame } from '../shotstack/matte.js';
import { PipelineError } from './failures.js';

/**
 * The job, stage by stage: fetch → overlay → render (video output only) → deliver. It is written backwards, as
 * "ensure X": each stage first looks for its own stored output (and that the files it names still exist), and only
 * when that is missing asks for its inputs and does the work. So a retry — after a crash, a Shotstack 5xx, a
 * worker restart — resumes after the last finished stage, and a render already submitted is polled, not paid for
 * twice. The worker and the render CLI both run this; they differ only in the deps (Telegram or local files,
 * Redis or memory state).
 */
export interface PipelineDeps {
  /** Puts the input on local disk (downloading it, or returning a local path as it is) and returns the path. */
  resolveInput(ref: InputRef, dest: string, ctx: { signal: AbortSignal; log: Logger }): Promise<string>;
  produceOverlay: OverlayProducer;
  /** Needed for output `video`. */
  renderer: Renderer | null;
  deliver: Deliver;
  settings: RenderSettings;
  /** Called once per overlay stage that really ran (counters). */
  onOverlayDone?(record: OverlayRecord): Promise<void>;
}

export interface PipelineRun {
  jobId: string;
  data: JobData;
  /** This job's own folder (inputs/, overlay/, render/). */
  workDir: string;
  state: StateStore;
  deps: PipelineDeps;
  progress: ProgressTracker;
  signal: AbortSignal;
  log: Logger;
}

export async function runPipeline(run: PipelineRun): Promise<JobResult> {
  const { data, state, deps, progress, signal, log, workDir } = run;
  const started = Date.now();
  const ran = new Set<Stage>();
  const checkpoint = () => signal.throwIfAborted();
  const stageLog = (stage: Stage) => log.child({ stage });
  const needsBackground = data.output === 'video';

  async function ensureInputs(): Promise<InputsState> {
    const stored = await state.get('inputs');
    if (stored && existsSync(stored.head.path) && (!needsBackground || (stored.background && existsSync(stored.background.path)))) {
      return stored;
    }
    checkpoint();
    ran.add('fetch');
    const t0 = Date.now();
    const l = stageLog('fetch');
    progress.update('fetch', 0);
    await mkdir(join(workDir, 'inputs'), { recursive: true });
    const head = await fetchOne(data.head, join(workDir, 'inputs', 'head.mp4'), l);
    progress.update('fetch', needsBackground ? 0.5 : 1);
    let background: LocalMedia | null = null;
    if (needsBackground) {
      if (!data.background) throw new PipelineError('internal', 'output video without a background', false);
      background = await fetchOne(data.background, join(workDir, 'inputs', 'background.mp4'), l);
      progress.update('fetch', 1);
    }
    const value: InputsState = { head, background, ms: Date.now() - t0 };
    await state.set('inputs', value);
    l.info({ ms: value.ms, head: summary(head), background: background && summary(background) }, 'inputs ready');
    return value;
  }

  async function fetchOne(ref: InputRef, dest: string, l: Logger): Promise<LocalMedia> {
    const path = await deps.resolveInput(ref, dest, { signal, log: l });
    // Refuse what the engine or the renderer cannot use before spending minutes on it (typed MediaError).
    const info = await probeMedia(
      path,
      { maxBytes: deps.settings.maxInputBytes, maxDurationSec: deps.settings.maxDurationSec, minDurationSec: MIN_DURATION_SEC },
      { signal },
    );
    return {
      path,
      sizeBytes: info.sizeBytes,
      durationSec: info.durationSec,
      width: info.video!.width,
      height: info.video!.height,
      hasAudio: info.audio !== null,
    };
  }

  async function ensureOverlay(): Promise<OverlayState> {
    // PIPELINE_OVERLAY_KIND=alpha depends on the renderer's readings (a lost MOV alpha means the luma pair).
    const settings = await overlaySettingsFor(deps.renderer, data, deps.settings, { signal, log: stageLog('overlay') });
    const needed = requiredOverlayFiles(data, settings);
    const stored = await state.get('overlay');
    if (stored && needed.every((n) => stored.files[n] && existsSync(stored.files[n]))) return stored;
    const inputs = await ensureInputs();
    checkpoint();
    ran.add('overlay');
    const t0 = Date.now();
    const l = stageLog('overlay');
    progress.update('overlay', 0);
    const outcome = await deps.produceOverlay({
      input: inputs.head.path,
      durationSec: inputs.head.durationSec,
      outDir: join(workDir, 'overlay'),
      options: engineOptionsFor(data, settings),
      engine: data.options.engine,
      onProgress: (f) => progress.update('overlay', f),
      signal,
      log: l,
    });
    const missing = needed.filter((n) => !outcome.files[n]);
    if (missing.length) throw new PipelineError('internal', `the overlay engine did not write ${missing.join(', ')}`, true);
    const value: OverlayState = { ...outcome, ms: Date.now() - t0 };
    await state.set('overlay', value);
    progress.update('overlay', 1);
    l.info({ ms: value.ms, ...outcome.record }, `overlay made on ${outcome.record.path}`);
    await deps.onOverlayDone?.(outcome.record).catch((e: unknown) => l.warn({ err: (e as Error).message }, 'overlay counters not updated'));
    return value;
  }

  async function ensureRendered(): Promise<RenderedState> {
    const renderer = deps.renderer;
    if (!renderer) throw new PipelineError('misconfigured', 'no renderer configured for output video', false);
    const stored = await state.get('rendered');
    if (stored && existsSync(stored.path)) return stored;
    const l = stageLog('render');
    const dest = join(workDir, 'render', 'final.mp4');
    await mkdir(join(workDir, 'render'), { recursive: true });
    const layout = bubbleLayout(data, deps.settings);
    for (let submissions = 0; ; submissions++) {
      checkpoint();
      let render = await state.get('render');
      if (render && render.renderer !== renderer.id) render = undefined;
      if (!render) {
        const ingest = await ensureIngest(renderer, layout.placement, l);
        const inputs = await ensureInputs();
        const overlay = await state.get('overlay');
        if (!overlay) throw new PipelineError('internal', 'overlay state vanished before the render', true);
        ran.add('render');
        const t0 = Date.now();
        const renderId = await submitRender(renderer, ingest, overlay, inputs.background!, layout.edit, { signal, log: l });
        render = { renderer: renderer.id, renderId, submittedAt: new Date().toISOString(), ms: ingest.ms + (Date.now() - t0) };
        await state.set('render', render);
      }
      ran.add('render');
      progress.update('render', 0.1);
      const t1 = Date.now();
      let done: Omit<RenderedState, 'ms'> | null;
      try {
        done = await awaitAndDownload(renderer, render.renderId, dest, { signal, log: l, onProgress: (f) => progress.update('render', f) });
      } catch (e) {
        // A failed render is final for this job; forget it so an admin's manual retry renders afresh.
        if (isShotstackError(e) && e.kind === 'render_failed') await state.delete('render');
        throw e;
      }
      if (!done) {
        await state.delete('render', 'ingest');
        if (submissions >= 1) throw new PipelineError('renderer_unavailable', 'the renderer lost the render twice', true);
        continue;
      }
      const value: RenderedState = { ...done, ms: render.ms + (Date.now() - t1) };
      await state.set('rendered', value);
      l.info({ ms: value.ms, renderId: render.renderId, bytes: value.bytes }, 'render downloaded');
      return value;
    }
  }

  async function ensureIngest(renderer: Renderer, frame: MatteFrame, l: Logger) {
    const stored = await state.get('ingest');
    if (stored && (await ingestStillValid(renderer, stored, { signal, log: l }))) return stored;
    const overlay = await ensureOverlay();
    const inputs = await ensureInputs();
    checkpoint();
    ran.add('render');
    progress.update('render', 0);
    const value = await ingestForRender(renderer, overlay, inputs.background!, frame, workDir, {
      signal,
      log: l,
      onProgress: (f) => progress.update('render', f),
    });
    await state.set('ingest', value);
    return value;
  }

  // ---- the job: from the end backwards ----
  let deliverable: Deliverable;
  if (data.output === 'video') {
    const r = await ensureRendered();
    deliverable = {
      kind: 'video',
      path: r.path,
      bytes: r.bytes,
      durationSec: r.durationSec,
      width: r.width,
      height: r.height,
      ...(deps.renderer && !deps.renderer.isLocal ? { publicUrl: r.url } : {}),
    };
  } else {
    const ov = await ensureOverlay();
    const file = ov.files[requiredOverlayFiles(data, deps.settings)[0]!]!;
    const info = await probeMedia(file);
    deliverable = {
      kind: data.output,
      path: file,
      bytes: info.sizeBytes,
      durationSec: info.durationSec,
      width: info.video?.width ?? ov.width,
      height: info.video?.height ?? ov.height,
    };
  }
  // Said in the caption: the user chose the quality engine and the CPU ran the fast one (PIPELINE_CPU_QUALITY_ENGINE).
  const overlayRecord = (await state.get('overlay'))?.record;
  if (overlayRecord?.requestedEngine === 'quality' && overlayRecord.engine === 'fast') deliverable.fastInsteadOfQuality = true;

  checkpoint();
  const t0 = Date.now();
  progress.update('deliver', 0);
  const delivered = await deps.deliver(deliverable, data, { signal, log: stageLog('deliver'), workDir });
  const deliverMs = Date.now() - t0;
  progress.update('deliver', 1);
  await progress.flush();

  const [inputs, overlay, rendered] = await Promise.all([state.get('inputs'), state.get('overlay'), state.get('rendered')]);
  if (!overlay) throw new PipelineError('internal', 'overlay state missing at the end of the job', true);
  const stagesOfOutput: Stage[] = data.output === 'video' ? ['fetch', 'overlay', 'render'] : ['fetch', 'overlay'];
  return {
    v: CONTRACT_VERSION,
    output: data.output,
    delivered,
    overlay: overlay.record,
    timingsMs: {
      ...(inputs ? { fetch: inputs.ms } : {}),
      overlay: overlay.ms,
      ...(rendered ? { render: rendered.ms } : {}),
      deliver: deliverMs,
      total: Date.now() - started,
    },
    resumed: stagesOfOutput.filter((s) => !ran.has(s)),
    durationSec: deliverable.durationSec,
  };
}

function summary(m: LocalMedia) {
  return { bytes: m.sizeBytes, durationSec: Math.round(m.durationSec * 100) / 100, size: `${m.width}x${m.height}`, audio: m.hasAudio };
}
