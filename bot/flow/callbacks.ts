import { isOptionValue, OPTION_FIELDS, type OptionField } from './options.js';

/**
 * Callback data of every button the bot sends (Telegram allows 64 bytes). One module owns the format, so the
 * conversation, the outside handlers and the tests agree on it.
 */
export const CB = {
  noBgOverlay: 'bg:overlay',
  noBgNote: 'bg:note',
  noBgBoth: 'bg:both',
  same: 'same:yes',
  choose: 'same:no',
  confirm: 'sum:confirm',
  change: 'sum:change',
  editSettings: 'set:edit',
  option: (field: OptionField, value: string) => `opt:${field}:${value}`,
  tryAgain: (jobId: string) => `retry:${jobId}`,
} as const;

export const OPTION_RE = new RegExp(`^opt:(${OPTION_FIELDS.join('|')}):(.+)$`);
export const TRY_AGAIN_RE = /^retry:([A-Za-z0-9_-]{1,60})$/;

export function parseOption(data: string | undefined): { field: OptionField; value: string } | null {
  const m = OPTION_RE.exec(data ?? '');
  if (!m) return null;
  const field = m[1] as OptionField;
  const value = m[2]!;
  return isOptionValue(field, value) ? { field, value } : null;
}
