import { editSchema } from '@shotstack/schemas/zod';
import type { Edit } from '../types.js';
import { DEFAULT_LIMITS, editLimitProblems, type LocalLimits } from './limits.js';
import { shapeAssetProblems } from './shape.js';

/**
 * Request checks of the local renderer, answered the way Shotstack answers a bad Edit: HTTP 400 with
 * `{success: false, message: "Bad Request", response: {error: {name: "ValidationError", details: [...]}}}`
 * (Joi-style details: message, path, type). Two layers:
 * 1. the official zod schema — anything the real API would reject;
 * 2. the subset this renderer implements — what the bubble builder emits, and nothing it would render wrongly;
 * 3. the caps on what one render may cost (limits.ts).
 */
export interface ValidationDetail {
  message: string;
  path: (string | number)[];
  type: string;
}

export interface ValidationErrorBody {
  success: false;
  message: 'Bad Request';
  response: { error: { name: 'ValidationError'; details: ValidationDetail[] } };
}

export function validationErrorBody(details: ValidationDetail[]): ValidationErrorBody {
  return { success: false, message: 'Bad Request', response: { error: { name: 'ValidationError', details } } };
}

function label(path: (string | number)[]): string {
  return path.reduce<string>((s, p) => (typeof p === 'number' ? `${s}[${p}]` : s ? `${s}.${p}` : p), '');
}

function unsupported(path: (string | number)[], what = 'is not supported by the local renderer'): ValidationDetail {
  return { message: `"${label(path)}" ${what}`, path, type: 'local.unsupported' };
}

const MERGE_FIELD = /^\{\{\s*[A-Za-z0-9_]+\s*\}\}$/;
const HEX_COLOUR = /^#([0-9a-fA-F]{6}|[0-9a-fA-F]{8})$/;

const ALLOWED = {
  edit: new Set(['timeline', 'output']),
  timeline: new Set(['tracks', 'background', 'cache']),
  clip: new Set(['id', 'asset', 'start', 'length', 'fit', 'scale', 'position', 'offset']),
  video: new Set(['type', 'src', 'trim', 'volume', 'transcode']),
  luma: new Set(['type', 'src', 'trim']),
  output: new Set(['format', 'resolution', 'aspectRatio', 'size', 'fps', 'quality', 'mute']),
};

function extraKeys(obj: Record<string, unknown>, allowed: Set<string>, path: (string | number)[], out: ValidationDetail[]): void {
  for (const key of Object.keys(obj)) if (!allowed.has(key)) out.push(unsupported([...path, key]));
}

function isPlainNumber(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

function isHttpUrl(v: unknown): boolean {
  if (typeof v !== 'string') return false;
  try {
    const u = new URL(v);
    return u.protocol === 'http:' || u.protocol === 'https:';
  } catch {
    return false;
  }
}

export type EditCheck = { ok: true; edit: Edit } | { ok: false; details: ValidationDetail[] };

/**
 * Validates a request body. On success returns the schema's parsed Edit (numeric strings coerced the way the
 * schema coerces them), which is what the renderer plans from.
 */
export function validateEdit(body: unknown, limits: LocalLimits = DEFAULT_LIMITS): EditCheck {
  const parsed = editSchema.safeParse(body);
  if (!parsed.success) {
    return {
      ok: false,
      details: parsed.error.issues.map((i) => {
        const path = i.path.map((p) => (typeof p === 'number' ? p : String(p)));
        return { message: `"${label(path) || 'edit'}" ${i.message}`, path, type: `schema.${i.code}` };
      }),
    };
  }
  const edit = parsed.data as unknown as Edit;
  const details = [...checkSubset(parsed.data as Record<string, any>), ...editLimitProblems(edit, limits)];
  return details.length ? { ok: false, details } : { ok: true, edit };
}

function checkSubset(edit: Record<string, any>): ValidationDetail[] {
  const out: ValidationDetail[] = [];
  extraKeys(edit, ALLOWED.edit, [], out);
  extraKeys(edit.timeline, ALLOWED.timeline, ['timeline'], out);
  if (edit.timeline.background !== undefined && !HEX_COLOUR.test(edit.timeline.background)) {
    out.push(unsupported(['timeline', 'background'], 'must be a #rrggbb colour for the local renderer'));
  }

  (edit.timeline.tracks as any[]).forEach((track, t) => checkTrack(track, t, out));

  const output = edit.output as Record<string, any>;
  extraKeys(output, ALLOWED.output, ['output'], out);
  if (output.format !== 'mp4') out.push(unsupported(['output', 'format'], `"${output.format}" is not supported by the local renderer (mp4 only)`));
  if (output.size && (output.size.width % 2 || output.size.height % 2)) {
    out.push({ message: '"output.size" width and height must be divisible by 2', path: ['output', 'size'], type: 'local.even' });
  }
  return out;
}

/** A luma only masks a video on its own track, so a track of lumas alone has nothing to draw. */
function checkTrack(track: Record<string, any>, t: number, out: ValidationDetail[]): void {
  let videos = 0;
  let lumas = 0;
  (track.clips as any[]).forEach((clip, c) => {
    const at = ['timeline', 'tracks', t, 'clips', c];
    extraKeys(clip, ALLOWED.clip, at, out);
    const type = (clip.asset as Record<string, unknown>).type;
    if (type === 'video') videos++;
    else if (type === 'luma') lumas++;
    if (type === 'video' || type === 'luma') checkMediaClip(clip, at, out);
    else if (type === 'shape') checkShapeClip(clip, at, out);
    else out.push(unsupported([...at, 'asset', 'type'], `"${String(type)}" is not supported by the local renderer (video, luma and shape only)`));
  });
  if (lumas > 0 && videos === 0) {
    out.push(unsupported(['timeline', 'tracks', t], 'has a luma clip but no video clip to mask'));
  }
}

/** A video or luma clip: its asset, then its timing and placement (plain numbers only: no tweens, no merge fields). */
function checkMediaClip(clip: Record<string, any>, at: (string | number)[], out: ValidationDetail[]): void {
  checkMediaAsset(clip.asset as Record<string, unknown>, [...at, 'asset'], out);
  if (!(isPlainNumber(clip.start) || clip.start === 'auto')) {
    out.push(unsupported([...at, 'start'], 'must be a number or "auto" for the local renderer'));
  }
  if (!(isPlainNumber(clip.length) || clip.length === 'auto' || clip.length === 'end') || (isPlainNumber(clip.length) && clip.length <= 0)) {
    out.push(unsupported([...at, 'length'], 'must be a positive number, "auto" or "end" for the local renderer'));
  }
  if (clip.scale !== undefined && !(isPlainNumber(clip.scale) && clip.scale > 0)) {
    out.push(unsupported([...at, 'scale'], 'must be a positive number (tweens are not supported locally)'));
  }
  checkOffset(clip, at, out);
  for (const k of ['start', 'length'] as const) {
    if (typeof clip[k] === 'string' && MERGE_FIELD.test(clip[k])) out.push(unsupported([...at, k], 'merge fields are not supported locally'));
  }
}

function checkMediaAsset(asset: Record<string, unknown>, at: (string | number)[], out: ValidationDetail[]): void {
  extraKeys(asset, asset.type === 'video' ? ALLOWED.video : ALLOWED.luma, at, out);
  if (!isHttpUrl(asset.src)) out.push(unsupported([...at, 'src'], 'must be an http(s) URL'));
  if (asset.trim !== undefined && !(isPlainNumber(asset.trim) && asset.trim >= 0)) {
    out.push(unsupported([...at, 'trim'], 'must be a number ≥ 0'));
  }
  if (asset.volume !== undefined && !isPlainNumber(asset.volume)) {
    out.push(unsupported([...at, 'volume'], 'must be a number (tweens are not supported locally)'));
  }
}

function checkOffset(clip: Record<string, any>, at: (string | number)[], out: ValidationDetail[]): void {
  if (clip.offset === undefined) return;
  for (const axis of ['x', 'y'] as const) {
    const v = clip.offset[axis];
    if (v !== undefined && !isPlainNumber(v)) out.push(unsupported([...at, 'offset', axis], 'must be a number (tweens are not supported locally)'));
  }
}

/**
 * A shape clip: the asset subset shape.ts draws, shown at its pixel size. Shotstack does not document what `fit`
 * or `scale` do to a shape's bounding box, so only `fit: "none"` without a scale is drawn locally.
 */
function checkShapeClip(clip: Record<string, any>, at: (string | number)[], out: ValidationDetail[]): void {
  for (const p of shapeAssetProblems(clip.asset)) out.push(unsupported([...at, 'asset', ...p.path], p.what));
  if (clip.fit !== 'none') out.push(unsupported([...at, 'fit'], 'must be "none" for a shape asset in the local renderer'));
  if (clip.scale !== undefined && clip.scale !== 1) out.push(unsupported([...at, 'scale'], 'is not supported for a shape asset in the local renderer'));
  if (!(isPlainNumber(clip.start) || clip.start === 'auto')) {
    out.push(unsupported([...at, 'start'], 'must be a number or "auto" for the local renderer'));
  }
  if (!((isPlainNumber(clip.length) && clip.length > 0) || clip.length === 'end')) {
    out.push(unsupported([...at, 'length'], 'must be a positive number or "end" for a shape asset in the local renderer'));
  }
  checkOffset(clip, at, out);
}
