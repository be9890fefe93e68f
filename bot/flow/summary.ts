import type { OutputKind } from '../../pipeline/contract.js';
import type { Messages } from '../i18n/types.js';
import { fieldsFor, type ChosenOptions } from './options.js';

/** The human summary of an order (or of saved defaults when `output` is null: every field is shown). */
export function summaryText(m: Messages, output: OutputKind | null, o: ChosenOptions): string {
  const lines: string[] = [];
  if (output) lines.push(`${m.summaryLabels.output}: ${m.output[output]}`);
  const fields = output ? fieldsFor(output) : (['shape', 'position', 'size', 'engine', 'aspect'] as const);
  for (const f of fields) lines.push(`${m.summaryLabels[f]}: ${(m[f] as Record<string, string>)[o[f]]}`);
  return lines.join('\n');
}
