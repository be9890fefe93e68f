import { probeMedia } from '../common/ffmpeg.js';
import type { Logger } from '../common/logger.js';
import { CONTRACT_VERSION, type InputRef, type JobData, type JobResult, type OverlayRecord, type Stage } from './contract.js';
import { ensureOverlay } from './ensure-overlay.js';
import { ensureRendered } from './ensure-rendered.js';
import { createJobContext, type JobContext } from './job-context.js';
import type { Deliver, Deliverable } from './stages/deliver.js';
import { requiredOverlayFiles, type RenderSettings } from './stages/layout.js';
import type { RoutingRecord } from './routing/router.js';
import type { OverlayProducer } from './stages/overlay.js';
import type { ProgressTracker } from './stages/progress.js';
import type { Renderer } from './stages/render.js';
import type { StateStore } from './stages/state.js';
import { PipelineError } from './failures.js';

/**
 * The job, stage by stage: fetch → overlay → render (video output only) → deliver. It is written backwards, as
 * "ensure X" (ensure-inputs.ts, ensure-overlay.ts, ensure-rendered.ts): each stage first looks for its own stored output (and that the files it names still exist), and only
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
  /** Called once per overlay stage that really ran (counters; the route estimate and actual in auto mode). */
  onOverlayDone?(record: OverlayRecord, routing?: RoutingRecord): Promise<void>;
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
  const started = Date.now();
  const job = createJobContext(run);
  const deliverable = await ensureDeliverable(job);
  job.checkpoint();
  const t0 = Date.now();
  run.progress.update('deliver', 0);
  const delivered = await run.deps.deliver(deliverable, run.data, { signal: run.signal, log: job.stageLog('deliver'), workDir: run.workDir });
  const deliverMs = Date.now() - t0;
  run.progress.update('deliver', 1);
  await run.progress.flush();
  return jobResult(job, { delivered, deliverable, deliverMs, started });
}

/** The job from the end backwards: the last stage the output needs pulls in the earlier ones it is missing. */
async function ensureDeliverable(job: JobContext): Promise<Deliverable> {
  const { data, deps, state } = job;
  let deliverable: Deliverable;
  if (data.output === 'video') {
    const r = await ensureRendered(job);
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
    const ov = await ensureOverlay(job);
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
  return deliverable;
}

/** Timings come from the stored stage states, so a resumed job still reports what its earlier attempts spent. */
async function jobResult(
  job: JobContext,
  end: { delivered: JobResult['delivered']; deliverable: Deliverable; deliverMs: number; started: number },
): Promise<JobResult> {
  const { data, state, ran } = job;
  const [inputs, overlay, rendered] = await Promise.all([state.get('inputs'), state.get('overlay'), state.get('rendered')]);
  if (!overlay) throw new PipelineError('internal', 'overlay state missing at the end of the job', true);
  const stagesOfOutput: Stage[] = data.output === 'video' ? ['fetch', 'overlay', 'render'] : ['fetch', 'overlay'];
  return {
    v: CONTRACT_VERSION,
    output: data.output,
    delivered: end.delivered,
    overlay: overlay.record,
    timingsMs: {
      ...(inputs ? { fetch: inputs.ms } : {}),
      overlay: overlay.ms,
      ...(rendered ? { render: rendered.ms } : {}),
      deliver: end.deliverMs,
      total: Date.now() - end.started,
    },
    resumed: stagesOfOutput.filter((s) => !ran.has(s)),
    durationSec: end.deliverable.durationSec,
  };
}
