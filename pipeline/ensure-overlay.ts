import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ensureInputs } from './ensure-inputs.js';
import type { JobContext } from './job-context.js';
import { engineOptionsFor, requiredOverlayFiles } from './stages/layout.js';
import { overlaySettingsFor } from './stages/renderer-readings.js';
import type { OverlayState } from './stages/state.js';
import { PipelineError } from './failures.js';

/** The overlay stage: the stored overlay when every file this job needs is still on disk, otherwise made afresh. */
export async function ensureOverlay(job: JobContext): Promise<OverlayState> {
  const { data, state, deps, progress, signal, workDir } = job;
  // PIPELINE_OVERLAY_KIND=alpha depends on the renderer's readings (a lost MOV alpha means the luma pair).
  const settings = await overlaySettingsFor(deps.renderer, data, deps.settings, { signal, log: job.stageLog('overlay') });
  const needed = requiredOverlayFiles(data, settings);
  const stored = await state.get('overlay');
  if (stored && needed.every((n) => stored.files[n] && existsSync(stored.files[n]))) return stored;
  const inputs = await ensureInputs(job);
  job.checkpoint();
  job.ran.add('overlay');
  const t0 = Date.now();
  const l = job.stageLog('overlay');
  progress.update('overlay', 0);
  const outcome = await deps.produceOverlay({
    input: inputs.head.path,
    probe: inputs.head.probe,
    durationSec: inputs.head.durationSec,
    fps: inputs.head.fps,
    inputBytes: inputs.head.sizeBytes,
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
  await deps.onOverlayDone?.(outcome.record, outcome.routing).catch((e: unknown) => l.warn({ err: (e as Error).message }, 'overlay counters not updated'));
  return value;
}
