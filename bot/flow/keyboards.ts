import { InlineKeyboard } from 'grammy';
import type { Messages } from '../i18n/types.js';
import { CB } from './callbacks.js';
import { OPTIONS, type OptionField } from './options.js';

/** Inline keyboards of the dialogue. Labels come from the user's language; data from callbacks.ts. */

export function backgroundKeyboard(m: Messages): InlineKeyboard {
  return new InlineKeyboard()
    .text(m.btnNoBgOverlay, CB.noBgOverlay)
    .row()
    .text(m.btnNoBgNote, CB.noBgNote)
    .row()
    .text(m.btnNoBgBoth, CB.noBgBoth);
}

export function sameKeyboard(m: Messages): InlineKeyboard {
  return new InlineKeyboard().text(m.btnSame, CB.same).text(m.btnChoose, CB.choose);
}

export function summaryKeyboard(m: Messages): InlineKeyboard {
  return new InlineKeyboard().text(m.btnConfirm, CB.confirm).text(m.btnChange, CB.change);
}

export function settingsKeyboard(m: Messages): InlineKeyboard {
  return new InlineKeyboard().text(m.btnEditSettings, CB.editSettings);
}

export function tryAgainKeyboard(m: Messages, jobId: string): InlineKeyboard {
  return new InlineKeyboard().text(m.btnTryAgain, CB.tryAgain(jobId));
}

/** One option's buttons, `perRow` of the options table to a row. */
export function optionKeyboard(m: Messages, field: OptionField): InlineKeyboard {
  const kb = new InlineKeyboard();
  const { values, perRow } = OPTIONS[field];
  values.forEach((value, i) => {
    const label = (m[field] as Record<string, string>)[value]!;
    kb.text(label, CB.option(field, value));
    if ((i + 1) % perRow === 0 && i < values.length - 1) kb.row();
  });
  return kb;
}
