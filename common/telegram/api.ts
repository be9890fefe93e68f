import { Api, type ApiClientOptions } from 'grammy';
import { withJsonErrors } from './json-errors.js';
import { telegramPolicy, type TelegramPolicyOptions } from './policy.js';

/**
 * The one Bot API client setup for the bot and the worker: client options that make every HTTP failure a typed
 * error (`withJsonErrors`: an HTML 413 becomes GrammyError 413), and the retry policy (`telegramPolicy`).
 *
 * Client options travel with the token: the conversations plugin builds the dialogues' Api from them, so the
 * fetch wrapper reaches inside dialogues by itself. Transformers do not — `installTelegramPolicy` has to run on
 * every Api that is not made here (bot.api, and the dialogues' ctx.api through the conversations `plugins`).
 */
export interface TelegramApiOptions extends TelegramPolicyOptions {
  /** Bot API server root, without a trailing slash (default the cloud API). */
  apiRoot?: string;
  /** A fetch to wrap instead of grammY's own (tests record the wire with one). */
  fetch?: ApiClientOptions['fetch'];
  /** grammY's per-request timeout (default 500 s, which large uploads need). */
  timeoutSeconds?: number;
}

export function telegramClientOptions(o: Pick<TelegramApiOptions, 'apiRoot' | 'fetch' | 'timeoutSeconds'> = {}): ApiClientOptions {
  return {
    ...(o.apiRoot ? { apiRoot: o.apiRoot.replace(/\/+$/, '') } : {}),
    ...(o.timeoutSeconds ? { timeoutSeconds: o.timeoutSeconds } : {}),
    fetch: withJsonErrors(o.fetch) as ApiClientOptions['fetch'],
  };
}

export function installTelegramPolicy(config: Pick<Api['config'], 'use'>, o: TelegramPolicyOptions = {}): void {
  config.use(telegramPolicy(o));
}

export function createTelegramApi(token: string, o: TelegramApiOptions = {}): Api {
  const api = new Api(token, telegramClientOptions(o));
  installTelegramPolicy(api.config, o);
  return api;
}
