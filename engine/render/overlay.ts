import { mkdir, rm } from 'node:fs/promises';
import { CancelledError } from '../../common/errors.js';
import { logger as rootLogger } from '../../common/logger.js';
import { getModel, type LoadedModel } from '../session.js';
import type { OverlayOptions, OverlayResult, RenderHooks } from '../types.js';
import { runFrameLoop, type LoopCounts } from './loop.js';
import { planRender, type RenderInput } from './plan.js';
import { buildResult } from './result.js';
import { createStages, startIo } from './setup.js';
import { StageClock } from './timing.js';

/**
 * Head video → bubble overlay files in `outDir` (see OUTPUT_FILES). Streams frames through
 * decode → model → smoothing → crop/shape → encoders with bounded memory. `input` is the video's path, or the media
 * gate's probe of it (RenderInput). Throws MediaError for input the product must refuse, CancelledError when
 * `hooks.signal` aborts; on any failure, the files it wrote are removed.
 */
export async function renderOverlay(
  input: RenderInput,
  outDir: string,
  options: OverlayOptions,
  hooks: RenderHooks = {},
): Promise<OverlayResult> {
  const log = hooks.logger ?? rootLogger;
  const started = performance.now();
  const signal = hooks.signal;
  const plan = await planRender(input, outDir, options, signal);

  await mkdir(outDir, { recursive: true });
  const abort = new AbortController();
  const onOuterAbort = () => abort.abort();
  signal?.addEventListener('abort', onOuterAbort, { once: true });
  // The decoder first: its start (≈ 0.25 s of loading libraries and opening the input before the first frame)
  // overlaps the model lookup and the per-video tables below, instead of following them.
  const io = startIo(outDir, plan, options, abort.signal);
  const clock = new StageClock();
  let counts: LoopCounts;
  let model: LoadedModel;
  try {
    model = await getModel(plan.spec, log);
    const stages = createStages(plan, options, model, log);
    const { width, height, fps, expectedFrames, spec, cropSide, size } = plan;
    log.info(
      { input: plan.info.path, width, height, fps, expectedFrames, model: spec.id, provider: model.provider, cropSide, size, formats: options.formats },
      'overlay started',
    );
    counts = await runFrameLoop({ plan, options, stages, io, clock, hooks, started });
  } catch (e) {
    abort.abort();
    io.decoder.kill();
    io.encoder?.kill();
    io.maskEncoder?.kill();
    await Promise.all(plan.written.map((p) => rm(p, { force: true })));
    if (signal?.aborted) throw new CancelledError();
    throw e;
  } finally {
    signal?.removeEventListener('abort', onOuterAbort);
  }

  const result = buildResult(plan, options, outDir, model.provider, counts, clock, started);
  hooks.onProgress?.({ frame: result.frames, totalFrames: result.frames, fraction: 1, fps: result.throughputFps });
  log.info(
    { frames: result.frames, wallMs: result.wallMs, fps: result.throughputFps, perFrame: result.perFrame, provider: model.provider },
    'overlay done',
  );
  return result;
}
