import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { FfmpegError, probeMedia } from '../../common/ffmpeg.js';
import { CancelledError, MediaError } from '../../common/errors.js';
import { MIN_DURATION_SEC, pixelCapError } from '../../common/media-gate.js';
import { logger as rootLogger } from '../../common/logger.js';
import { engineConfig } from './config.js';
import { Compositor } from './frame/compose.js';
import { CenterTracker, measurePerson, PERSON_MIN_COVERAGE } from './frame/person.js';
import { Preprocessor } from './frame/preprocess.js';
import { buildShapeMask } from './frame/shape.js';
import { MaskSmoother } from './frame/smoothing.js';
import { startDecoder, workSize } from './io/decode.js';
import { buildEncoderArgs, buildMaskEncoderArgs, Encoder } from './io/encode.js';
import { MODELS, selectModel } from './models/registry.js';
import { getModel, gpuName, infer, peekModel } from './session.js';
import {
  OUTPUT_FILES,
  type EngineName,
  type OutputFileName,
  type OverlayOptions,
  type OverlayResult,
  type RenderHooks,
  type StageTimings,
} from './types.js';

export * from './types.js';
export { parseOverlayOptions, overlayOptionsSchema, type OverlayOptionsInput } from './options.js';

/** Inputs smaller than this on their shorter side carry too little of a person to cut out. */
const MIN_SIDE = 32;
/** No person in this many leading frames (≈ 2 s) → stop early instead of encoding an empty bubble. */
const EARLY_NO_PERSON_FRAMES = 60;
/** A video whose frames show a person less often than this is refused as "no person". */
const MIN_PERSON_SHARE = 0.5;
/** Fewer decoded frames than this share of what the header promised means a truncated/corrupt file. */
const MIN_DECODED_SHARE = 0.9;
/** More decoded frames than the probe promised, beyond this share plus one second, means the header lied. */
const MAX_DECODED_SHARE = 1.1;

/**
 * The most frames decoding may yield before the job stops as `too_long`: what the probe promised (with a margin for
 * VFR rounding), and never more than the duration limit allows — a stream whose header lies about its length
 * cannot run (or bill) longer than the limit.
 */
export function frameBudget(durationSec: number, maxDurationSec: number, fps: number): number {
  return Math.ceil(Math.min(durationSec * MAX_DECODED_SHARE + 1, maxDurationSec + 1) * fps);
}

/**
 * Head video → bubble overlay files in `outDir` (see OUTPUT_FILES). Streams frames through
 * decode → model → smoothing → crop/shape → encoders with bounded memory. Throws MediaError for input the
 * product must refuse, CancelledError when `hooks.signal` aborts; on any failure, the files it wrote are removed.
 */
export async function renderOverlay(
  inputPath: string,
  outDir: string,
  options: OverlayOptions,
  hooks: RenderHooks = {},
): Promise<OverlayResult> {
  const log = hooks.logger ?? rootLogger;
  const started = performance.now();
  const signal = hooks.signal;
  const info = await probeMedia(
    inputPath,
    { maxBytes: options.maxInputBytes, maxDurationSec: options.maxDurationSec, minDurationSec: MIN_DURATION_SEC },
    { signal },
  );
  const video = info.video!;
  if (Math.min(video.width, video.height) < MIN_SIDE) {
    throw new MediaError('too_small', `The video is ${video.width}×${video.height}; at least ${MIN_SIDE} px is needed.`);
  }
  const { width: W, height: H } = workSize(video.width, video.height);
  const nominal = video.fps > 0 && video.fps <= 120 ? video.fps : video.avgFps || 30;
  const fps = options.fps > 0 ? options.fps : Math.min(30, Math.round(nominal * 100) / 100);
  const expectedFrames = Math.max(1, Math.round(info.durationSec * fps));
  const maxFrames = frameBudget(info.durationSec, options.maxDurationSec, fps);

  const spec = selectModel(options.engine, W, H);
  const model = await getModel(spec, log);
  const cropSide = evenFloor(Math.min(W, H) * options.zoom);
  const size = Math.min(options.size, cropSide);
  const scaleToOut = cropSide / size;
  const shape = buildShapeMask(
    cropSide,
    options.shape,
    options.feather * scaleToOut,
    options.cornerRadius,
    options.border ? { widthPx: options.border.width * scaleToOut, color: options.border.color } : null,
  );
  // Two input tensors: frame N+1 is preprocessed while frame N's tensor may still be inside ORT.
  const pres = [new Preprocessor(W, H, spec), new Preprocessor(W, H, spec)];
  const smoother = new MaskSmoother(options.smoothing);
  const compositor = new Compositor(W, H, spec.width, spec.height, shape);
  const tracker = new CenterTracker(W, H, cropSide, options.center === 'auto' ? null : options.center);

  await mkdir(outDir, { recursive: true });
  const written = options.formats.flatMap((f) => OUTPUT_FILES[f].map((n) => join(outDir, n)));
  const abort = new AbortController();
  const onOuterAbort = () => abort.abort();
  signal?.addEventListener('abort', onOuterAbort, { once: true });

  const audioFrom = options.keepAudio && info.audio ? inputPath : null;
  const bubbleFormats = options.formats.filter((f) => f !== 'mask');
  const decoder = startDecoder(inputPath, { width: W, height: H, fps }, abort.signal);
  const encoder = bubbleFormats.length
    ? Encoder.start(
        buildEncoderArgs({
          cropSide, size, fps, formats: bubbleFormats, outDir, audioFrom,
          noteBackground: options.noteBackground, noteMaxSide: 640, noteMaxSec: 60,
        }),
        cropSide * cropSide * 4,
        abort.signal,
      )
    : null;
  const maskEncoder = options.formats.includes('mask')
    ? Encoder.start(buildMaskEncoderArgs(W, H, fps, join(outDir, 'mask.mp4')), W * H, abort.signal)
    : null;

  const t: StageTimings = { decodeWaitMs: 0, preprocessMs: 0, inferMs: 0, postprocessMs: 0, composeMs: 0, encodeWaitMs: 0 };
  let frames = 0;
  let personFrames = 0;
  let lastProgress = 0;
  log.info(
    { input: info.path, width: W, height: H, fps, expectedFrames, model: spec.id, provider: model.provider, cropSide, size, formats: options.formats },
    'overlay started',
  );
  /** A decoded frame whose inference runs on ORT's thread while the previous frame is composited. */
  interface InFlight {
    rgb: Buffer;
    prob: Promise<Float32Array>;
    inferStarted: number;
    inferEnded: number;
  }
  const startFrame = (rgb: Buffer, slot: number): InFlight => {
    const t0 = performance.now();
    const input = pres[slot]!.run(rgb);
    const t1 = performance.now();
    t.preprocessMs += t1 - t0;
    const f: InFlight = { rgb, prob: infer(model, input), inferStarted: t1, inferEnded: t1 };
    // Measured on the inference itself, not on the wait for it (most of which the overlap hides).
    f.prob.then(() => (f.inferEnded = performance.now()), () => undefined);
    return f;
  };
  const finishFrame = async (f: InFlight): Promise<void> => {
    let t0 = performance.now();
    const prob = await f.prob;
    t.inferMs += f.inferEnded - f.inferStarted;
    let t1 = performance.now();
    const mask = smoother.update(prob);
    const stats = measurePerson(mask, spec.width, spec.height);
    if (stats.coverage >= PERSON_MIN_COVERAGE) personFrames++;
    const crop = tracker.next(stats);
    t0 = performance.now();
    t.postprocessMs += t0 - t1;

    if (encoder) {
      const out = await encoder.acquire();
      t1 = performance.now();
      t.encodeWaitMs += t1 - t0;
      compositor.compose(f.rgb, mask, crop.x, crop.y, out);
      encoder.write(out);
      t0 = performance.now();
      t.composeMs += t0 - t1;
    }
    if (maskEncoder) {
      const out = await maskEncoder.acquire();
      t1 = performance.now();
      t.encodeWaitMs += t1 - t0;
      compositor.fullMask(mask, out);
      maskEncoder.write(out);
      t.composeMs += performance.now() - t1;
    }
    frames++;
    if (frames > maxFrames) {
      throw new MediaError('too_long', `Decoding ran past ${maxFrames} frames (${(maxFrames / fps).toFixed(1)} s); the header promised ${info.durationSec.toFixed(1)} s.`, {
        frames,
        maxFrames,
        durationSec: info.durationSec,
        maxDurationSec: options.maxDurationSec,
      });
    }
    if (frames === EARLY_NO_PERSON_FRAMES && personFrames === 0) {
      throw new MediaError('no_person', 'No person was found in the first seconds of the video.', { frames });
    }
    const now = performance.now();
    if (hooks.onProgress && (now - lastProgress > 250 || frames === 1)) {
      lastProgress = now;
      hooks.onProgress({
        frame: frames,
        totalFrames: expectedFrames,
        fraction: Math.min(frames / expectedFrames, 0.99),
        fps: frames / ((now - started) / 1000),
      });
    }
  };

  try {
    let pending: InFlight | null = null;
    for (let slot = 0; ; slot ^= 1) {
      const t0 = performance.now();
      const rgb = await decoder.reader.next();
      t.decodeWaitMs += performance.now() - t0;
      if (signal?.aborted) throw new CancelledError();
      const next = rgb ? startFrame(rgb, slot) : null;
      if (pending) await finishFrame(pending);
      if (!next) break;
      pending = next;
    }
    // An abort kills the decoder, which ends the frame stream like a truncated file would: report the cancel.
    if (signal?.aborted) throw new CancelledError();
    await decoder.done.catch((e) => {
      // The decoder's pixel cap (media gate) stopped a stream whose frame size grew past what the probe saw.
      const big = e instanceof FfmpegError ? pixelCapError(e.stderrTail) : null;
      if (big) throw big;
      // A decoder that fails before yielding anything (a header without data) is a corrupt file, not a crash.
      if (frames === 0 && !signal?.aborted) throw new MediaError('corrupt', 'The video could not be decoded.', { cause: String(e) });
      if (frames < expectedFrames * MIN_DECODED_SHARE) return; // judged below
      throw e;
    });
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
    const t2 = performance.now();
    await Promise.all([encoder?.end(), maskEncoder?.end()]);
    t.encodeWaitMs += performance.now() - t2;
  } catch (e) {
    abort.abort();
    decoder.kill();
    encoder?.kill();
    maskEncoder?.kill();
    await Promise.all(written.map((p) => rm(p, { force: true })));
    if (signal?.aborted) throw new CancelledError();
    throw e;
  } finally {
    signal?.removeEventListener('abort', onOuterAbort);
  }

  const wallMs = performance.now() - started;
  const perFrame = Object.fromEntries(
    Object.entries(t).map(([k, v]) => [k, round2(v / Math.max(frames, 1))]),
  ) as unknown as StageTimings;
  const files: Partial<Record<OutputFileName, string>> = {};
  for (const f of options.formats) for (const n of OUTPUT_FILES[f]) files[n] = join(outDir, n);
  const result: OverlayResult = {
    files,
    frames,
    fps,
    durationSec: frames / fps,
    width: size,
    height: size,
    provider: model.provider,
    engine: options.engine,
    wallMs: Math.round(wallMs),
    throughputFps: round2(frames / (wallMs / 1000)),
    perFrame,
    personCoverage: round2(personFrames / frames),
  };
  hooks.onProgress?.({ frame: frames, totalFrames: frames, fraction: 1, fps: result.throughputFps });
  log.info({ frames, wallMs: result.wallMs, fps: result.throughputFps, perFrame, provider: model.provider }, 'overlay done');
  return result;
}

/** Loads the models behind the given engines so the first job does not pay for it. */
export async function warmup(engines: EngineName[]): Promise<void> {
  const specs = new Set(engines.flatMap((e) => (e === 'fast' ? [MODELS.selfie_general, MODELS.selfie_landscape] : [MODELS.isnet_medium])));
  await Promise.all([...specs].map((s) => getModel(s)));
}

export interface EngineStatus {
  models: Array<{ engine: EngineName; model: string; loaded: boolean; provider: 'cuda' | 'cpu' | null; fallbackReason: string | null }>;
  gpuName: string | null;
  providersRequested: string[];
}

/** What is loaded and on which provider it really runs (for /health and admin views). */
export async function engineStatus(): Promise<EngineStatus> {
  const models = await Promise.all(
    Object.values(MODELS).map(async (spec) => {
      const m = await peekModel(spec.id);
      return { engine: spec.engine, model: spec.id, loaded: !!m, provider: m?.provider ?? null, fallbackReason: m?.fallbackReason ?? null };
    }),
  );
  return { models, gpuName: await gpuName(), providersRequested: engineConfig().ORT_PROVIDERS };
}

function evenFloor(v: number): number {
  return Math.max(2, Math.floor(v / 2) * 2);
}

function round2(v: number): number {
  return Math.round(v * 100) / 100;
}
