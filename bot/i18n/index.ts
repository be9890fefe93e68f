import type { Context } from 'grammy';
import type { Language } from '../../pipeline/contract.js';
import { en } from './en.js';
import { ru } from './ru.js';
import type { Messages } from './types.js';

export type { Messages, Language };

const CATALOG: Record<Language, Messages> = { en, ru };

/** Russian for users whose Telegram is set to Russian; English for everyone else (and when Telegram does not say). */
export function languageOf(code: string | undefined): Language {
  return code?.toLowerCase().startsWith('ru') ? 'ru' : 'en';
}

export function langOf(ctx: Pick<Context, 'from'>): Language {
  return languageOf(ctx.from?.language_code);
}

export function t(lang: Language): Messages {
  return CATALOG[lang];
}
