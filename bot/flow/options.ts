import {
  ASPECTS,
  BUBBLE_POSITIONS,
  BUBBLE_SHAPES,
  BUBBLE_SIZES,
  bubbleOptionsSchema,
  ENGINES,
  OUTPUT_KINDS,
  type BubbleOptions,
  type OutputKind,
} from '../../pipeline/contract.js';

/** The user's choices for one video (the job's `options`, without the test-only resolution override). */
export type ChosenOptions = Required<Omit<BubbleOptions, 'resolution'>>;
export type OptionField = keyof ChosenOptions;

/** How the bot asks for one option. */
interface OptionSpec<V extends string> {
  /** Every value, in button order (the job contract's list). */
  values: readonly V[];
  /** Buttons per keyboard row: long labels one per row; the positions as the 3×3 grid they describe. */
  perRow: number;
  /** The outputs this choice matters for: a round note has no shape or place; a transparent file has no place. */
  outputs: readonly OutputKind[];
}

/**
 * THE list of options the user chooses, in the order they are asked and summarised. Keyboards (keyboards.ts),
 * button data (callbacks.ts), stored defaults (parseOptions), the settings dialogue and summaries all derive from
 * it; the texts are typed from it (i18n/types.ts), so a field without a label in ru or en does not compile. The
 * mapped type makes the table list exactly the job contract's option fields.
 */
export const OPTIONS: { readonly [F in OptionField]: OptionSpec<ChosenOptions[F]> } = {
  shape: { values: BUBBLE_SHAPES, perRow: 1, outputs: ['video', 'overlay'] },
  position: { values: BUBBLE_POSITIONS, perRow: 3, outputs: ['video'] },
  size: { values: BUBBLE_SIZES, perRow: 3, outputs: ['video', 'overlay'] },
  engine: { values: ENGINES, perRow: 1, outputs: OUTPUT_KINDS },
  aspect: { values: ASPECTS, perRow: 3, outputs: ['video'] },
};

/** Every field, in the table's order. */
export const OPTION_FIELDS: readonly OptionField[] = Object.keys(OPTIONS) as OptionField[];

/** The defaults are the job contract's own (what a job without options gets). */
export const DEFAULT_OPTIONS: ChosenOptions = pickFields(bubbleOptionsSchema.parse({}));

function pickFields(o: ChosenOptions): ChosenOptions {
  return Object.fromEntries(OPTION_FIELDS.map((f) => [f, o[f]])) as ChosenOptions;
}

/** True when `value` is one of `field`'s values. */
export function isOptionValue(field: OptionField, value: unknown): boolean {
  return typeof value === 'string' && (OPTIONS[field].values as readonly string[]).includes(value);
}

/** Which choices matter for the outputs of one order (only a video over a background has all five). */
export function fieldsFor(outputs: readonly OutputKind[]): OptionField[] {
  return OPTION_FIELDS.filter((f) => OPTIONS[f].outputs.some((o) => outputs.includes(o)));
}

/** Parses stored defaults, dropping anything unknown (an older bot may have written them). */
export function parseOptions(raw: unknown): ChosenOptions | null {
  if (!raw || typeof raw !== 'object') return null;
  const r = raw as Record<string, unknown>;
  if (!OPTION_FIELDS.every((f) => isOptionValue(f, r[f]))) return null;
  return pickFields(r as ChosenOptions);
}
