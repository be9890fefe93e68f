import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { probeMedia } from '../common/ffmpeg.js';
import { MIN_DURATION_SEC } from '../common/media-gate.js';
import type { Logger } from '../common/logger.js';
import type { InputRef } from './contract.js';
import type { JobContext } from './job-context.js';
import type { InputsState, LocalMedia } from './stages/state.js';
import { PipelineError } from './failures.js';

/** The fetch stage: the stored inputs when their files are still on disk, otherwise downloaded and probed afresh. */
export async function ensureInputs(job: JobContext): Promise<InputsState> {
  const { data, state, progress, workDir, needsBackground } = job;
  const stored = await state.get('inputs');
  if (stored && existsSync(stored.head.path) && (!needsBackground || (stored.background && existsSync(stored.background.path)))) {
    return stored;
  }
  job.checkpoint();
  job.ran.add('fetch');
  const t0 = Date.now();
  const l = job.stageLog('fetch');
  progress.update('fetch', 0);
  await mkdir(join(workDir, 'inputs'), { recursive: true });
  const head = await fetchAndProbe(job, data.head, join(workDir, 'inputs', 'head.mp4'), l);
  progress.update('fetch', needsBackground ? 0.5 : 1);
  let background: LocalMedia | null = null;
  if (needsBackground) {
    if (!data.background) throw new PipelineError('internal', 'output video without a background', false);
    background = await fetchAndProbe(job, data.background, join(workDir, 'inputs', 'background.mp4'), l);
    progress.update('fetch', 1);
  }
  const value: InputsState = { head, background, ms: Date.now() - t0 };
  await state.set('inputs', value);
  l.info({ ms: value.ms, head: summary(head), background: background && summary(background) }, 'inputs ready');
  return value;
}

async function fetchAndProbe(job: JobContext, ref: InputRef, dest: string, l: Logger): Promise<LocalMedia> {
  const { deps, signal } = job;
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
    fps: info.video!.fps,
    probe: info,
  };
}

function summary(m: LocalMedia) {
  return { bytes: m.sizeBytes, durationSec: Math.round(m.durationSec * 100) / 100, size: `${m.width}x${m.height}`, audio: m.hasAudio };
}
