import { FfmpegError } from '../../common/ffmpeg.js';
import { CancelledError, MediaError } from '../../common/errors.js';
import { pixelCapError } from '../../common/media-gate.js';
import { measurePerson, PERSON_MIN_COVERAGE, type PersonStats } from '../frame/person.js';
import { infer } from '../session.js';
import type { OverlayOptions, RenderHooks } from '../types.js';
import type { RenderPlan } from './plan.js';
import type { FrameIo, FrameStages } from './setup.js';
import type { StageClock } from './timing.js';

/** No person in this many leading frames (≈ 2 s) → stop early instead of encoding an empty bubble. */
const EARLY_NO_PERSON_FRAMES = 60;
/** A video whose frames show a person less often than this is refused as "no person". */
const MIN_PERSON_SHARE = 0.5;
/** Fewer decoded frames than this share of what the header promised means a truncated/corrupt file. */
const MIN_DECODED_SHARE = 0.9;

export interface LoopContext {
  plan: RenderPlan;
  options: OverlayOptions;
  stages: FrameStages;
  io: FrameIo;
  clock: StageClock;
  hooks: RenderHooks;
  /** performance.now() when the render started (for the progress fps). */
  started: number;
}

export interface LoopCounts {
  frames: number;
  personFrames: number;
}

/**
 * A decoded frame whose inference has been started while the previous frame is finished. ORT's Node binding runs
 * `session.run` synchronously on this thread (from a setImmediate), so the two do not run at the same time here;
 * what runs beside them is ffmpeg's decoder and encoder.
 */
interface InFlight {
  /** The work-size frame, planar yuv420p. */
  frame: Buffer;
  /** The model's map, or null on a frame that reuses the last one (`plan.inferEvery`). */
  prob: Promise<Float32Array> | null;
  /** The person model's map when it bounds the main model's (quality engine), else null. */
  prior: Promise<Float32Array> | null;
  inferStarted: number;
  inferEnded: number;
}

/**
 * Decodes every frame, runs it through model → smoothing → crop → shape → encoders, judges the result (corrupt,
 * no person) and finishes the encoders. Throws MediaError / CancelledError; the caller cleans up.
 */
export async function runFrameLoop(ctx: LoopContext): Promise<LoopCounts> {
  const { io, clock, hooks } = ctx;
  const signal = hooks.signal;
  const counts: LoopCounts = { frames: 0, personFrames: 0 };
  const progress = progressReporter(ctx);
  const last: LastMap = { mask: null, stats: null };
  let pending: InFlight | null = null;
  for (let slot = 0, index = 0; ; slot ^= 1, index++) {
    clock.reset();
    const frame = await io.decoder.next();
    clock.lap('decodeWaitMs');
    if (signal?.aborted) throw new CancelledError();
    if (frame) io.startEncoders();
    const next = frame ? startFrame(ctx, frame, slot, index % ctx.plan.inferEvery === 0) : null;
    if (pending) {
      await finishFrame(ctx, pending, counts, last);
      progress(counts.frames);
    }
    if (!next) break;
    pending = next;
  }
  // An abort kills the decoder, which ends the frame stream like a truncated file would: report the cancel.
  if (signal?.aborted) throw new CancelledError();
  await judgeDecoderExit(ctx, counts.frames);
  const { frames, personFrames } = counts;
  const { expectedFrames } = ctx.plan;
  if (frames === 0 || frames < expectedFrames * MIN_DECODED_SHARE) {
    throw new MediaError(
      'corrupt',
      `The video is damaged: ${frames} of ${expectedFrames} frames could be decoded.`,
      { frames, expectedFrames },
    );
  }
  if (personFrames / frames < MIN_PERSON_SHARE) {
    throw new MediaError('no_person', 'No person was found in most of the video.', { frames, personFrames });
  }
  clock.reset();
  await Promise.all([io.encoder?.end(), io.maskEncoder?.end()]);
  clock.lap('encodeWaitMs');
  return counts;
}

function startFrame({ stages, clock }: LoopContext, frame: Buffer, slot: number, infers: boolean): InFlight {
  clock.reset();
  if (!infers) return { frame, prob: null, prior: null, inferStarted: 0, inferEnded: 0 };
  const input = stages.pres[slot]!.run(frame);
  const priorInput = stages.prior?.pres[slot]!.run(frame);
  const t1 = clock.lap('preprocessMs');
  const prior = stages.prior && priorInput ? stages.prior.model.then((m) => infer(m, priorInput)) : null;
  const f: InFlight = { frame, prob: infer(stages.model, input), prior, inferStarted: t1, inferEnded: t1 };
  // Start to result: the inference itself, plus whatever of the previous frame's work ran before its setImmediate.
  Promise.all([f.prob, prior]).then(() => (f.inferEnded = performance.now()), () => undefined);
  return f;
}

/** The frame's map on the main model's grid: the main model's, bounded by the person model's when there is one. */
function frameMap(stages: FrameStages, prob: Float32Array, prior: Float32Array | null): Float32Array {
  return prior && stages.prior ? stages.prior.fusion.fuse(prob, prior) : prob;
}

/** The smoothed map and what was measured on it, for the frames between two inferences. */
interface LastMap {
  mask: Float32Array | null;
  stats: PersonStats | null;
}

/** The frame's smoothed map and its measure: a new inference's, or the last one again. */
async function frameMask({ stages, clock, plan }: LoopContext, f: InFlight, last: LastMap): Promise<{ mask: Float32Array; stats: PersonStats }> {
  if (f.prob) {
    const [prob, prior] = await Promise.all([f.prob, f.prior]);
    clock.add('inferMs', f.inferEnded - f.inferStarted);
    clock.reset();
    last.mask = stages.smoother.update(frameMap(stages, prob, prior));
    last.stats = measurePerson(last.mask, plan.spec.width, plan.spec.height);
  } else {
    clock.reset();
  }
  return { mask: last.mask!, stats: last.stats! };
}

async function finishFrame(ctx: LoopContext, f: InFlight, counts: LoopCounts, last: LastMap): Promise<void> {
  const { stages, io, clock, plan } = ctx;
  const { mask, stats } = await frameMask(ctx, f, last);
  if (stats.coverage >= PERSON_MIN_COVERAGE) counts.personFrames++;
  const crop = stages.tracker.next(stats);
  clock.lap('postprocessMs');

  // yuv420p shares one chroma sample per 2×2 block: the crop starts on even coordinates.
  const x0 = crop.x & ~1;
  const y0 = crop.y & ~1;
  const { compositor, map } = edgeMap(ctx, f.frame, mask, x0, y0);
  clock.lap('refineMs');
  if (io.encoder) {
    const out = await io.encoder.acquire();
    clock.lap('encodeWaitMs');
    if (stages.edges?.bubble) stages.edges.bubble.composeYuv(x0, y0, out);
    else compositor.composeYuv(f.frame, map, x0, y0, out);
    io.encoder.write(out);
    clock.lap('composeMs');
  }
  if (io.maskEncoder) {
    const out = await io.maskEncoder.acquire();
    clock.lap('encodeWaitMs');
    compositor.fullMask(map, out);
    io.maskEncoder.write(out);
    clock.lap('composeMs');
  }
  const frames = ++counts.frames;
  if (frames > plan.maxFrames) {
    const { maxFrames, fps, info } = plan;
    throw new MediaError('too_long', `Decoding ran past ${maxFrames} frames (${(maxFrames / fps).toFixed(1)} s); the header promised ${info.durationSec.toFixed(1)} s.`, {
      frames,
      maxFrames,
      durationSec: info.durationSec,
      maxDurationSec: ctx.options.maxDurationSec,
    });
  }
  if (frames === EARLY_NO_PERSON_FRAMES && counts.personFrames === 0) {
    throw new MediaError('no_person', 'No person was found in the first seconds of the video.', { frames });
  }
}

/**
 * The map the compositor reads and the compositor for its grid: the refined frame-resolution map over what the
 * outputs show (the crop, or the whole frame when the mask is written), or the model's map when refinement is off.
 */
function edgeMap({ stages, io, plan }: LoopContext, frame: Buffer, mask: Float32Array, x0: number, y0: number) {
  if (!stages.edges) return { compositor: stages.compositor, map: mask };
  const side = plan.cropSide;
  const region = io.maskEncoder ? { x0: 0, y0: 0, width: plan.width, height: plan.height } : { x0, y0, width: side, height: side };
  return { compositor: stages.edges.compositor, map: stages.edges.refiner.refine(frame, mask, region) };
}

/** Reports progress at most every 250 ms (and on the first frame). */
function progressReporter({ hooks, plan, started }: LoopContext): (frames: number) => void {
  let lastProgress = 0;
  return (frames) => {
    const now = performance.now();
    if (hooks.onProgress && (now - lastProgress > 250 || frames === 1)) {
      lastProgress = now;
      hooks.onProgress({
        frame: frames,
        totalFrames: plan.expectedFrames,
        fraction: Math.min(frames / plan.expectedFrames, 0.99),
        fps: frames / ((now - started) / 1000),
      });
    }
  };
}

/** The decoder's exit status, judged after its frame stream ended. */
async function judgeDecoderExit({ io, plan, hooks }: LoopContext, frames: number): Promise<void> {
  await io.decoder.done.catch((e) => {
    // The decoder's pixel cap (media gate) stopped a stream whose frame size grew past what the probe saw.
    const big = e instanceof FfmpegError ? pixelCapError(e.stderrTail) : null;
    if (big) throw big;
    // A decoder that fails before yielding anything (a header without data) is a corrupt file, not a crash.
    if (frames === 0 && !hooks.signal?.aborted) throw new MediaError('corrupt', 'The video could not be decoded.', { cause: String(e) });
    if (frames < plan.expectedFrames * MIN_DECODED_SHARE) return; // judged below
    throw e;
  });
}
