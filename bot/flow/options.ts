import {
  ASPECTS,
  BUBBLE_POSITIONS,
  BUBBLE_SHAPES,
  BUBBLE_SIZES,
  ENGINES,
  type Aspect,
  type BubblePosition,
  type BubbleShape,
  type BubbleSize,
  type EngineChoice,
  type OutputKind,
} from '../../pipeline/contract.js';

/** The user's choices for one video (the job's `options`, without the test-only resolution override). */
export interface ChosenOptions {
  shape: BubbleShape;
  position: BubblePosition;
  size: BubbleSize;
  engine: EngineChoice;
  aspect: Aspect;
}

export const DEFAULT_OPTIONS: ChosenOptions = { shape: 'circle', position: 'bottomRight', size: 'M', engine: 'fast', aspect: '9:16' };

export type OptionField = keyof ChosenOptions;

export const OPTION_VALUES: { [F in OptionField]: readonly ChosenOptions[F][] } = {
  shape: BUBBLE_SHAPES,
  position: BUBBLE_POSITIONS,
  size: BUBBLE_SIZES,
  engine: ENGINES,
  aspect: ASPECTS,
};

/**
 * Which choices matter for the outputs of one order: a round note has no shape or place; a transparent file has
 * no place; only a video over a background has all five.
 */
export function fieldsFor(outputs: OutputKind[]): OptionField[] {
  const wanted = new Set<OptionField>(['engine']);
  for (const output of outputs) {
    if (output !== 'note') (['shape', 'size'] as const).forEach((f) => wanted.add(f));
    if (output === 'video') (['position', 'aspect'] as const).forEach((f) => wanted.add(f));
  }
  return (['shape', 'position', 'size', 'engine', 'aspect'] as const).filter((f) => wanted.has(f));
}

/** Parses stored defaults, dropping anything unknown (an older bot may have written them). */
export function parseOptions(raw: unknown): ChosenOptions | null {
  if (!raw || typeof raw !== 'object') return null;
  const r = raw as Record<string, unknown>;
  const out = { ...DEFAULT_OPTIONS };
  for (const field of Object.keys(OPTION_VALUES) as OptionField[]) {
    const v = r[field];
    if (typeof v !== 'string' || !(OPTION_VALUES[field] as readonly string[]).includes(v)) return null;
    (out as Record<OptionField, string>)[field] = v;
  }
  return out;
}
