import { badRequest, TEXT } from './errors.js';
import { MAX_CALLBACK_DATA_BYTES } from './limits.js';
import type { Params } from './params.js';

/** Refuses inline buttons whose callback_data the real server refuses: over 64 bytes of UTF-8. */
export function checkReplyMarkup(p: Params): void {
  const rows = (p.reply_markup as { inline_keyboard?: unknown } | undefined)?.inline_keyboard;
  if (!Array.isArray(rows)) return;
  for (const row of rows) {
    if (!Array.isArray(row)) continue;
    for (const button of row as Array<{ callback_data?: unknown }>) {
      const data = button?.callback_data;
      if (typeof data === 'string' && Buffer.byteLength(data, 'utf8') > MAX_CALLBACK_DATA_BYTES) {
        throw badRequest(TEXT.buttonDataInvalid);
      }
    }
  }
}
