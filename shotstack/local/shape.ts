/**
 * Shape assets in the local renderer: the subset the bubble ring uses (bubble-ring.ts) — a `circle` or a
 * `rectangle` (optionally with `cornerRadius`), an explicit `fill` {color, opacity} and an optional `stroke`
 * {color, width}, in a bounding box `width`×`height` (the viewport when omitted, as Shotstack documents).
 * Everything else about shape assets (lines, a missing fill, whose default Shotstack does not document)
 * is refused with a 400, so the renderer never guesses.
 *
 * Drawing: one RGBA frame from ffmpeg's `geq`, with the same signed-distance formula for every shape (a circle
 * is a rounded square whose corner radius is half its side), anti-aliased over one pixel; the stroke is centred
 * on the outline (as in SVG and canvas). That frame is then repeated for the clip's length, so `geq` — slow per
 * pixel — runs once per clip, not once per frame.
 */

export interface ShapeDrawing {
  /** Bounding box, px; the outline is centred in it. */
  width: number;
  height: number;
  outline: { kind: 'circle'; radius: number } | { kind: 'rectangle'; width: number; height: number; cornerRadius: number };
  fill: { rgb: Rgb; opacity: number };
  stroke: { rgb: Rgb; width: number } | null;
}

type Rgb = readonly [number, number, number];

export interface ShapeProblem {
  /** Path below the asset, e.g. ['stroke', 'width']. */
  path: (string | number)[];
  what: string;
}

const ALLOWED_KEYS = new Set(['type', 'shape', 'width', 'height', 'fill', 'stroke', 'circle', 'rectangle']);
const HEX_COLOUR = /^#[0-9a-fA-F]{6}$/;

function isNumber(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

function positive(v: unknown): boolean {
  return isNumber(v) && v > 0;
}

type ShapeAsset = Record<string, any>;
type ShapeCheck = (asset: ShapeAsset) => ShapeProblem[];

const NOT_SUPPORTED = 'is not supported by the local renderer';
const NOT_HEX = 'must be a #rrggbb colour for the local renderer';

function unknownKeys(asset: ShapeAsset): ShapeProblem[] {
  return Object.keys(asset)
    .filter((key) => !ALLOWED_KEYS.has(key))
    .map((key) => ({ path: [key], what: NOT_SUPPORTED }));
}

function supportedShape(asset: ShapeAsset): ShapeProblem[] {
  if (asset.shape === 'circle' || asset.shape === 'rectangle') return [];
  return [{ path: ['shape'], what: `"${String(asset.shape)}" ${NOT_SUPPORTED} (circle and rectangle only)` }];
}

function boundingBox(asset: ShapeAsset): ShapeProblem[] {
  return (['width', 'height'] as const)
    .filter((k) => asset[k] !== undefined && !positive(asset[k]))
    .map((k) => ({ path: [k], what: 'must be a positive number' }));
}

function circleRadius(asset: ShapeAsset): ShapeProblem[] {
  if (asset.shape !== 'circle' || positive(asset.circle?.radius)) return [];
  return [{ path: ['circle', 'radius'], what: 'is required for a circle and must be a positive number' }];
}

function rectangleSize(asset: ShapeAsset): ShapeProblem[] {
  if (asset.shape !== 'rectangle') return [];
  const r = asset.rectangle;
  if (!positive(r?.width) || !positive(r?.height)) return [{ path: ['rectangle'], what: 'needs positive width and height' }];
  if (r.cornerRadius !== undefined && !(isNumber(r.cornerRadius) && r.cornerRadius >= 0)) {
    return [{ path: ['rectangle', 'cornerRadius'], what: 'must be a number ≥ 0' }];
  }
  return [];
}

function fill(asset: ShapeAsset): ShapeProblem[] {
  if (asset.fill === undefined) {
    return [{ path: ['fill'], what: 'must be given for the local renderer (Shotstack does not document a default fill)' }];
  }
  const out: ShapeProblem[] = [];
  const opacity = asset.fill.opacity ?? 1;
  if (!(isNumber(opacity) && opacity >= 0 && opacity <= 1)) out.push({ path: ['fill', 'opacity'], what: 'must be a number in [0, 1]' });
  // A fully transparent fill is never drawn, so its colour does not matter.
  if (!HEX_COLOUR.test(String(asset.fill.color)) && opacity !== 0) out.push({ path: ['fill', 'color'], what: NOT_HEX });
  return out;
}

function stroke(asset: ShapeAsset): ShapeProblem[] {
  if (asset.stroke === undefined) return [];
  const out: ShapeProblem[] = [];
  if (!HEX_COLOUR.test(String(asset.stroke.color))) out.push({ path: ['stroke', 'color'], what: NOT_HEX });
  if (!(isNumber(asset.stroke.width) && asset.stroke.width >= 0)) out.push({ path: ['stroke', 'width'], what: 'must be a number ≥ 0' });
  return out;
}

/** In this order, so the 400 lists problems as the asset reads (keys, shape, box, outline, fill, stroke). */
const SHAPE_CHECKS: readonly ShapeCheck[] = [unknownKeys, supportedShape, boundingBox, circleRadius, rectangleSize, fill, stroke];

/** What the local renderer cannot draw faithfully in a (schema-valid) shape asset. */
export function shapeAssetProblems(asset: ShapeAsset): ShapeProblem[] {
  return SHAPE_CHECKS.flatMap((check) => check(asset));
}

function rgbOf(hex: string | undefined): Rgb {
  const v = hex && HEX_COLOUR.test(hex) ? parseInt(hex.slice(1), 16) : 0;
  return [(v >> 16) & 255, (v >> 8) & 255, v & 255];
}

/** The drawing of a shape asset that passed `shapeAssetProblems`. */
export function shapeDrawing(asset: Record<string, any>, viewport: { width: number; height: number }): ShapeDrawing {
  const width = asset.width ?? viewport.width;
  const height = asset.height ?? viewport.height;
  const outline: ShapeDrawing['outline'] =
    asset.shape === 'circle'
      ? { kind: 'circle', radius: asset.circle.radius }
      : { kind: 'rectangle', width: asset.rectangle.width, height: asset.rectangle.height, cornerRadius: asset.rectangle.cornerRadius ?? 0 };
  const stroke = asset.stroke && asset.stroke.width > 0 ? { rgb: rgbOf(asset.stroke.color), width: asset.stroke.width as number } : null;
  return { width, height, outline, fill: { rgb: rgbOf(asset.fill.color), opacity: asset.fill.opacity ?? 1 }, stroke };
}

function num(n: number): string {
  return String(Math.round(n * 1e6) / 1e6);
}

/** Signed distance from pixel (X, Y)'s centre to the outline, as an ffmpeg expression (< 0 inside). */
function signedDistance(d: ShapeDrawing): string {
  const px = `abs(X+0.5-${num(d.width / 2)})`;
  const py = `abs(Y+0.5-${num(d.height / 2)})`;
  const [hw, hh, r] =
    d.outline.kind === 'circle'
      ? [d.outline.radius, d.outline.radius, d.outline.radius]
      : [d.outline.width / 2, d.outline.height / 2, Math.min(d.outline.cornerRadius, d.outline.width / 2, d.outline.height / 2)];
  const qx = `${px}-${num(hw - r)}`;
  const qy = `${py}-${num(hh - r)}`;
  return `hypot(max(${qx},0),max(${qy},0))+min(max(${qx},${qy}),0)-${num(r)}`;
}

/**
 * An ffmpeg filter chain (no input pads) producing `frames` identical yuva420p frames of the shape at `fps`
 * (an ffmpeg rational), timestamps from 0.
 */
export function shapeSourceChain(d: ShapeDrawing, fps: string, frames: number): string {
  // st(0) = distance, st(1) = stroke coverage, st(2) = fill coverage × opacity; alpha = stroke over fill.
  const coverage =
    `st(0,${signedDistance(d)});` +
    `st(1,${d.stroke ? `clip(${num(d.stroke.width / 2)}-abs(ld(0))+0.5,0,1)` : '0'});` +
    `st(2,clip(0.5-ld(0),0,1)*${num(d.fill.opacity)});` +
    `st(3,ld(1)+ld(2)*(1-ld(1)))`;
  // Straight (not premultiplied) colour: the stroke's and the fill's colours weighted by their coverage.
  const channel = (i: 0 | 1 | 2) => {
    const s = d.stroke?.rgb[i] ?? 0;
    const f = d.fill.rgb[i];
    return `'${coverage};if(gt(ld(3),0),(${s}*ld(1)+${f}*ld(2)*(1-ld(1)))/ld(3),0)'`;
  };
  const alpha = `'${coverage};255*ld(3)'`;
  return [
    `color=c=black:s=${d.width}x${d.height}:r=${fps}`,
    'format=rgba',
    'trim=end_frame=1',
    `geq=r=${channel(0)}:g=${channel(1)}:b=${channel(2)}:a=${alpha}`,
    `loop=loop=${Math.max(0, frames - 1)}:size=1`,
    `setpts=N/(${fps})/TB`,
    'format=yuva420p',
  ].join(',');
}
