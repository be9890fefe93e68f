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

/** Which choices matter for an output: a round note has no shape or place; a transparent file has no place. */
export function fieldsFor(output: OutputKind): OptionField[] {
  switch (output) {
    case 'video':
      return ['shape', 'position', 'size', 'engine', 'aspect'];
    case 'overlay':
      return ['shape', 'size', 'engine'];
    case 'note':
      return ['engine'];
  }
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
