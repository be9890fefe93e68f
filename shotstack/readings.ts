import type { LumaPolarity } from './types.js';

/**
 * The renderer's "readings": how a Shotstack renderer interprets the parts of an Edit its documentation leaves
 * open. They are facts about the service, not preferences: calibration (shotstack/calibration) measures them on
 * the real service once per key, the timeline builder takes them as input, and the local renderer can be told to
 * behave according to any of them (SHOTSTACK_LOCAL_EMULATE) so tests prove the builder and the calibration right
 * under every reading, not just the one the code happens to assume.
 *
 *   luma           white-visible | white-transparent — which part of a luma matte shows the clip it masks;
 *   luma-geometry  clip | viewport — whether a luma clip is placed by its own fit/scale/position/offset (`clip`),
 *                  or stretched over the whole viewport whatever its clip says (`viewport`);
 *   scale          fit | width | height — what `scale` multiplies: the asset's box after `fit` (`fit`; a square with
 *                  fit contain becomes min(W, H) × scale), the output width (`width`) or height (`height`);
 *   alpha-webm     kept | lost — whether a WebM VP9 input keeps its alpha channel;
 *   alpha-mov      kept | lost — whether a QuickTime qtrle input keeps its alpha channel.
 *
 * Written as a comma list, e.g. `luma=white-transparent,scale=width,luma-geometry=viewport`.
 */
export type LumaGeometry = 'clip' | 'viewport';
export type ScaleBase = 'fit' | 'width' | 'height';
export type AlphaFate = 'kept' | 'lost';

export interface RendererReadings {
  luma: LumaPolarity;
  lumaGeometry: LumaGeometry;
  scale: ScaleBase;
  alphaWebm: AlphaFate;
  alphaMov: AlphaFate;
}

/** What the code assumed before calibration existed (and what the local renderer does unless told otherwise). */
export const DEFAULT_READINGS: Readonly<RendererReadings> = Object.freeze({
  luma: 'white-visible',
  lumaGeometry: 'clip',
  scale: 'fit',
  alphaWebm: 'kept',
  alphaMov: 'kept',
});

const KEYS = {
  luma: { field: 'luma', values: ['white-visible', 'white-transparent'] },
  'luma-geometry': { field: 'lumaGeometry', values: ['clip', 'viewport'] },
  scale: { field: 'scale', values: ['fit', 'width', 'height'] },
  'alpha-webm': { field: 'alphaWebm', values: ['kept', 'lost'] },
  'alpha-mov': { field: 'alphaMov', values: ['kept', 'lost'] },
} as const satisfies Record<string, { field: keyof RendererReadings; values: readonly string[] }>;

type ListKey = keyof typeof KEYS;
export const READING_KEYS = Object.keys(KEYS) as ListKey[];

export class ReadingsSyntaxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ReadingsSyntaxError';
  }
}

/**
 * Parses a comma list into the readings it names (the others are absent). Unknown keys, unknown values and a key
 * given twice are errors whose message lists what is allowed, so a config error tells the operator the fix.
 */
export function parseReadingsList(list: string): Partial<RendererReadings> {
  const out: Partial<Record<keyof RendererReadings, string>> = {};
  const seen = new Set<string>();
  for (const raw of list.split(',')) {
    const item = raw.trim();
    if (!item) continue;
    const [key, value, ...extra] = item.split('=').map((s) => s.trim());
    // Own keys only: "constructor" or "toString" must be unknown readings, not Object.prototype's members.
    const spec = Object.hasOwn(KEYS, key!) ? KEYS[key as ListKey] : undefined;
    if (!spec) throw new ReadingsSyntaxError(`unknown reading "${key}" (known: ${READING_KEYS.join(', ')})`);
    if (value === undefined || extra.length || !(spec.values as readonly string[]).includes(value)) {
      throw new ReadingsSyntaxError(`${key} must be one of ${spec.values.join(' | ')}, got "${item}"`);
    }
    if (seen.has(key)) throw new ReadingsSyntaxError(`${key} is given twice`);
    seen.add(key);
    out[spec.field] = value;
  }
  return out as Partial<RendererReadings>;
}

/** The readings a list names, the rest taken from DEFAULT_READINGS. */
export function readingsFromList(list: string | undefined): RendererReadings {
  return { ...DEFAULT_READINGS, ...(list ? parseReadingsList(list) : {}) };
}

/** The keys a partial list leaves out (empty when it names every reading). */
export function missingReadings(partial: Partial<RendererReadings>): ListKey[] {
  return READING_KEYS.filter((k) => partial[KEYS[k].field] === undefined);
}

/** The comma-list form of complete readings (stable key order), e.g. for logs, /mode and the README. */
export function formatReadings(r: RendererReadings): string {
  return READING_KEYS.map((k) => `${k}=${r[KEYS[k].field]}`).join(',');
}
