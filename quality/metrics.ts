/**
 * Segmentation scores over alpha planes (pure functions, no I/O). A plane is either 8-bit (0..255, as ffmpeg
 * hands out a mask or ground-truth video) or float (0..1, as the engine's probability maps are); "person" means
 * alpha ≥ 0.5, which for 8-bit is ≥ 128, the same cut as `../shared/media/iou.mjs`.
 *
 * Besides whole-frame IoU, the scores look at a band around the ground truth's edge: a large subject makes
 * whole-frame IoU insensitive to what happens at the silhouette (a 10 px shift costs only 3-5 %), and the edge is
 * where a salient-object model and a person model differ most.
 */
export type AlphaPlane = Uint8Array | Uint8ClampedArray | Float32Array;

/** Half-width of the edge band in pixels (distance to the ground truth's 0.5 crossing). */
export const BAND_RADIUS = 8;

/** Multiplier that brings a plane's values to 0..1. */
function unit(p: AlphaPlane): number {
  return p instanceof Float32Array ? 1 : 1 / 255;
}

/** 1 where alpha ≥ 0.5, else 0. */
export function binarize(p: AlphaPlane): Uint8Array {
  const k = unit(p);
  const out = new Uint8Array(p.length);
  for (let i = 0; i < p.length; i++) out[i] = p[i] * k >= 0.5 ? 1 : 0;
  return out;
}

/** IoU of two binary planes over the pixels where `region` is 1 (all pixels when null); 1 when both are empty. */
export function binaryIou(a: Uint8Array, b: Uint8Array, region: Uint8Array | null = null): number {
  let inter = 0;
  let union = 0;
  for (let i = 0; i < a.length; i++) {
    if (region && !region[i]) continue;
    inter += a[i] & b[i];
    union += a[i] | b[i];
  }
  return union === 0 ? 1 : inter / union;
}

/** IoU at 0.5 of a prediction against the ground truth. */
export function iou(pred: AlphaPlane, gt: AlphaPlane): number {
  assertSameSize(pred, gt);
  return binaryIou(binarize(pred), binarize(gt));
}

/** Pixels on either side of a 0.5 crossing: binary value differs from one of the 4 neighbours. */
export function edgeOf(bin: Uint8Array, width: number, height: number): Uint8Array {
  const edge = new Uint8Array(bin.length);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      const v = bin[i];
      if (
        (x > 0 && bin[i - 1] !== v) ||
        (x < width - 1 && bin[i + 1] !== v) ||
        (y > 0 && bin[i - width] !== v) ||
        (y < height - 1 && bin[i + width] !== v)
      ) {
        edge[i] = 1;
      }
    }
  }
  return edge;
}

/**
 * Every pixel within Euclidean distance `radius` of an edge pixel (a dilation by a disk). Each edge pixel stamps
 * one row span per disk row, so the cost follows the edge's length, not the frame's area times the disk's.
 */
export function dilateDisk(edge: Uint8Array, width: number, height: number, radius: number): Uint8Array {
  const band = new Uint8Array(edge.length);
  const r = Math.floor(radius);
  const halfWidths = Array.from({ length: 2 * r + 1 }, (_, k) => Math.floor(Math.sqrt(radius * radius - (k - r) ** 2)));
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (!edge[y * width + x]) continue;
      for (let k = 0; k <= 2 * r; k++) {
        const yy = y + k - r;
        if (yy < 0 || yy >= height) continue;
        const row = yy * width;
        band.fill(1, row + Math.max(0, x - halfWidths[k]), row + Math.min(width - 1, x + halfWidths[k]) + 1);
      }
    }
  }
  return band;
}

/** The ground truth's edge band: pixels within `radius` of where its alpha crosses 0.5. */
export function edgeBand(gt: AlphaPlane, width: number, height: number, radius = BAND_RADIUS): Uint8Array {
  return dilateDisk(edgeOf(binarize(gt), width, height), width, height, radius);
}

/** Mean |pred − gt| (in 0..1) over the pixels where `region` is 1; 0 when the region is empty. */
export function meanAbsError(pred: AlphaPlane, gt: AlphaPlane, region: Uint8Array | null = null): number {
  assertSameSize(pred, gt);
  const kp = unit(pred);
  const kg = unit(gt);
  let sum = 0;
  let n = 0;
  for (let i = 0; i < pred.length; i++) {
    if (region && !region[i]) continue;
    sum += Math.abs(pred[i] * kp - gt[i] * kg);
    n++;
  }
  return n === 0 ? 0 : sum / n;
}

export interface FrameScore {
  iou: number;
  /** IoU at 0.5 counted only inside the edge band (1 when the band holds no person pixel of either). */
  bandIou: number;
  /** Mean |α error| (0..1) inside the edge band. */
  bandMae: number;
}

export function scoreFrame(pred: AlphaPlane, gt: AlphaPlane, width: number, height: number, radius = BAND_RADIUS): FrameScore {
  assertSameSize(pred, gt);
  if (pred.length !== width * height) throw new Error(`plane has ${pred.length} values, expected ${width}×${height}`);
  const p = binarize(pred);
  const g = binarize(gt);
  const band = dilateDisk(edgeOf(g, width, height), width, height, radius);
  return { iou: binaryIou(p, g), bandIou: binaryIou(p, g, band), bandMae: meanAbsError(pred, gt, band) };
}

export interface ClipScore {
  frames: number;
  meanIou: number;
  minIou: number;
  /** Index (in the scored frames) of the worst frame. */
  minIouFrame: number;
  bandIou: number;
  bandMae: number;
}

/** Per-clip summary: means over frames, and the worst frame's IoU. */
export function summarize(scores: readonly FrameScore[]): ClipScore {
  if (scores.length === 0) throw new Error('no frames to summarize');
  const mean = (f: (s: FrameScore) => number) => scores.reduce((a, s) => a + f(s), 0) / scores.length;
  let minIouFrame = 0;
  scores.forEach((s, i) => {
    if (s.iou < scores[minIouFrame].iou) minIouFrame = i;
  });
  return {
    frames: scores.length,
    meanIou: mean((s) => s.iou),
    minIou: scores[minIouFrame].iou,
    minIouFrame,
    bandIou: mean((s) => s.bandIou),
    bandMae: mean((s) => s.bandMae),
  };
}

function assertSameSize(a: AlphaPlane, b: AlphaPlane): void {
  if (a.length !== b.length) throw new Error(`planes differ in size: ${a.length} vs ${b.length}`);
}
