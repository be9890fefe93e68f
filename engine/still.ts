import { MediaError } from '../common/errors.js';
import type { Logger } from '../common/logger.js';
import { Compositor } from './frame/compose.js';
import { CenterTracker, measurePerson, PERSON_MIN_COVERAGE } from './frame/person.js';
import { EDGE_REFINE_DEFAULTS, EdgeRefiner, REFINED_SOFTNESS } from './frame/edges.js';
import { PriorFusion } from './frame/fuse.js';
import type { ShapeMask } from './frame/shape.js';
import { rgbToYuv420p } from './frame/yuv420.js';
import { Preprocessor } from './frame/preprocess.js';
import { selectModel, selectPriorModel, type ModelSpec } from './models/registry.js';
import { parseOverlayOptions } from './options.js';
import { bubbleShape, evenFloor } from './render/plan.js';
import { getModel, infer } from './session.js';
import type { EngineName, OverlayOptions } from './types.js';

/** One frame in, as the engine's decoder would deliver it: packed RGB24 at the work size (see `workSize`). */
export interface StillFrame {
  rgb: Buffer;
  width: number;
  height: number;
}

export interface StillOptions {
  /** Default `fast`. */
  engine?: EngineName;
  /** Side (px) the bubble will be shown at; `feather` (and `size`) are in these pixels. */
  size: number;
  /** Anything else of OverlayOptions' look; missing fields take the engine's defaults (options.ts). */
  shape?: OverlayOptions['shape'];
  zoom?: number;
  feather?: number;
  cornerRadius?: number;
  border?: OverlayOptions['border'];
  /** Edge refinement as in a render (default on). */
  refineEdges?: boolean;
}

export interface StillResult {
  /** The bubble at crop resolution: `side`×`side` RGBA, transparent outside the shape and the person. */
  rgba: Uint8Array;
  side: number;
  /** Share of the model's map that is person (≥ the engine's minimum, else `no_person` was thrown). */
  personCoverage: number;
}

/**
 * One frame through the engine's own frame path (preprocess → model → person measure → crop → shape → compose),
 * with no temporal smoothing: the bubble exactly as `renderOverlay` would cut its first frame, but un-scaled.
 * Throws MediaError `no_person` when the frame shows nobody.
 */
export async function renderStill(frame: StillFrame, options: StillOptions, log?: Logger): Promise<StillResult> {
  const defaults = parseOverlayOptions({});
  const look = {
    shape: options.shape ?? defaults.shape,
    feather: options.feather ?? defaults.feather,
    cornerRadius: options.cornerRadius ?? defaults.cornerRadius,
    border: options.border ?? defaults.border,
  };
  const { rgb, width: W, height: H } = frame;
  const engine = options.engine ?? 'fast';
  const spec = selectModel(engine, W, H);
  const prob = await stillMap(rgb, W, H, spec, selectPriorModel(engine, W, H), log);
  const stats = measurePerson(prob, spec.width, spec.height);
  if (stats.coverage < PERSON_MIN_COVERAGE) throw new MediaError('no_person', 'No person in the preview frame.');

  const side = evenFloor(Math.min(W, H) * (options.zoom ?? defaults.zoom));
  const crop = new CenterTracker(W, H, side, null).next(stats);
  const rgba = new Uint8Array(side * side * 4);
  const shape = bubbleShape(side, options.size, look);
  // As in a render: on the person model's map only (see createStages), and yuv420p needs even sides.
  const refine = (options.refineEdges ?? defaults.refineEdges) && !selectPriorModel(engine, W, H) && !((W | H) & 1);
  if (refine) composeRefined(frame, prob, spec, shape, crop, rgba);
  else new Compositor(W, H, spec.width, spec.height, shape).compose(rgb, prob, crop.x, crop.y, rgba);
  return { rgba, side, personCoverage: stats.coverage };
}

/** The bubble from the edge-refined map, as the render's first frame (no temporal hold: there is no previous frame). */
function composeRefined(frame: StillFrame, prob: Float32Array, spec: ModelSpec, shape: ShapeMask, crop: { x: number; y: number }, rgba: Uint8Array): void {
  const { rgb, width: W, height: H } = frame;
  const refiner = new EdgeRefiner(W, H, spec.width, spec.height, { ...EDGE_REFINE_DEFAULTS, deadband: 0, stillDeadband: 0 });
  const map = refiner.refine(rgbToYuv420p(rgb, W, H), prob, { x0: crop.x, y0: crop.y, width: shape.side, height: shape.side });
  new Compositor(W, H, W, H, shape, REFINED_SOFTNESS).compose(rgb, map, crop.x, crop.y, rgba);
}

/** The frame's map on `spec`'s grid, bounded by the person model's when the engine has a prior (as in a render). */
async function stillMap(rgb: Buffer, W: number, H: number, spec: ModelSpec, prior: ModelSpec | null, log?: Logger): Promise<Float32Array> {
  const run = async (s: ModelSpec) => infer(await getModel(s, log), new Preprocessor(W, H, s).run(rgb));
  if (!prior) return run(spec);
  const [prob, person] = await Promise.all([run(spec), run(prior)]);
  return new PriorFusion(spec.width, spec.height, prior.width, prior.height).fuse(prob, person);
}
