import type { OutputKind } from '../../pipeline/contract.js';
import type { Messages } from '../i18n/types.js';
import { fieldsFor, OPTION_FIELDS, type ChosenOptions } from './options.js';

/** The human summary of an order (or of saved defaults when `outputs` is null: every field is shown). */
export function summaryText(m: Messages, outputs: OutputKind[] | null, o: ChosenOptions): string {
  const lines: string[] = [];
  if (outputs) lines.push(`${m.summaryLabels.output}: ${outputs.map((k) => m.output[k]).join(' + ')}`);
  const fields = outputs ? fieldsFor(outputs) : OPTION_FIELDS;
  for (const f of fields) lines.push(`${m.summaryLabels[f]}: ${(m[f] as Record<string, string>)[o[f]]}`);
  return lines.join('\n');
}

/** A status text, headed by which result it is about when one order made several jobs. */
export function withTitle(title: string | undefined, text: string): string {
  return title ? `${title}\n${text}` : text;
}
