import { ApiFailure, badRequest } from './errors.js';

/** Parameters as the bot meant them, whichever way they came (query string, JSON, urlencoded, multipart). */
export type Params = Record<string, unknown>;

// Form values are strings; these keys are turned back into what the bot sent.
const JSON_PARAMS = new Set([
  'reply_markup',
  'reply_parameters',
  'entities',
  'caption_entities',
  'allowed_updates',
  'link_preview_options',
  'commands',
  'scope',
]);
const NUMERIC_PARAMS = new Set([
  'chat_id',
  'from_chat_id',
  'message_id',
  'message_thread_id',
  'reply_to_message_id',
  'offset',
  'limit',
  'timeout',
  'duration',
  'width',
  'height',
  'length',
  'cache_time',
  'max_connections',
]);
const BOOLEAN_PARAMS = new Set([
  'supports_streaming',
  'disable_notification',
  'protect_content',
  'show_alert',
  'has_spoiler',
  'disable_web_page_preview',
  'disable_content_type_detection',
  'drop_pending_updates',
  'allow_sending_without_reply',
  'show_caption_above_media',
]);

export function coerceFormValue(key: string, value: string): unknown {
  if (JSON_PARAMS.has(key)) {
    try {
      return JSON.parse(value);
    } catch {
      return value;
    }
  }
  if (NUMERIC_PARAMS.has(key) && /^-?\d+(\.\d+)?$/.test(value)) return Number(value);
  if (BOOLEAN_PARAMS.has(key) && (value === 'true' || value === 'false')) return value === 'true';
  return value;
}

export function intOf(p: Params, key: string): number | undefined {
  const v = p[key];
  if (v === undefined || v === null || v === '') return undefined;
  const n = typeof v === 'number' ? v : Number(v);
  if (!Number.isFinite(n)) throw badRequest(`field "${key}" must be a number`);
  return n;
}

export function textOf(p: Params, key: string): string | undefined {
  const v = p[key];
  return v === undefined || v === null ? undefined : String(v);
}

/** The chat a call addresses; a blocked chat answers 403 as the real server does. */
export function chatIdOf(p: Params, blocked: ReadonlySet<number>, key = 'chat_id'): number {
  const v = p[key];
  if (v === undefined || v === null || v === '') throw badRequest(`${key} is empty`);
  const n = typeof v === 'number' ? v : Number(v);
  if (!Number.isSafeInteger(n)) throw badRequest('chat not found');
  if (blocked.has(n)) throw new ApiFailure(403, 'Forbidden: bot was blocked by the user');
  return n;
}

export function isInlineKeyboard(markup: unknown): boolean {
  return typeof markup === 'object' && markup !== null && 'inline_keyboard' in markup;
}

/** The inline keyboard a message keeps (other markups are not attached to the message). */
export function inlineMarkupOf(p: Params): unknown {
  return p.reply_markup && isInlineKeyboard(p.reply_markup) ? p.reply_markup : undefined;
}

/** What the user sees: HTML tags are markup, not text (the real server returns the text without them). */
export function visibleText(text: string, parseMode: string | undefined): string {
  if (parseMode?.toLowerCase() !== 'html') return text;
  return text
    .replace(/<[^>]+>/g, '')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&amp;/g, '&');
}
