import { HttpError, type Transformer } from 'grammy';
import type { Logger } from '../logger.js';
import type { TelegramRetryReason } from '../metrics/metrics.js';
import { networkErrorLabel, nothingReachedServer } from './network-errors.js';

/**
 * The one retry policy of every Bot API client in the project (the bot, its dialogues, the status notifier, the
 * worker), as a grammY API transformer:
 *  - 429: the server did nothing and says when to come back (`parameters.retry_after`): wait that long and send
 *    again, any method — but only for a bounded wait and a bounded number of times; a longer flood wait is the
 *    caller's to handle (the GrammyError keeps `parameters.retry_after`).
 *  - a network failure or a 5xx: sent again, with backoff and a bounded count, only when a repeat cannot do
 *    anything twice — an idempotent method (a repeated edit is "not modified", a repeated getFile the same file),
 *    or any method when nothing reached the server (connection refused, name not resolved). A sendMessage or
 *    sendVideo whose connection broke after it was sent may have been delivered: Telegram has no idempotency key,
 *    so it is never resent here; the caller decides.
 *  - an aborted call (the caller's signal) is never retried.
 */
export interface TelegramPolicyOptions {
  log?: Logger;
  /** Longest `retry_after` waited out inside a call, seconds (default 60). */
  maxRetryAfterSec?: number;
  /** 429s waited out per call (default 3). */
  maxRateLimitRetries?: number;
  /** Network-error / 5xx repeats per call (default 3). */
  maxNetworkRetries?: number;
  /** First backoff after a network error or 5xx, doubled each time (default 500 ms). */
  backoffMs?: number;
  /** Cap of that backoff (default 8 s). */
  maxBackoffMs?: number;
  /** Told of every call sent again, before the wait (Metrics.telegramRetry; operators' numbers). */
  onRetry?: (method: string, reason: TelegramRetryReason) => void;
}

/** Methods whose repeat changes nothing the user sees (or only fails harmlessly). */
export const IDEMPOTENT_METHODS: ReadonlySet<string> = new Set([
  'getMe',
  'getUpdates',
  'getFile',
  'getChat',
  'getChatMember',
  'getWebhookInfo',
  'getMyCommands',
  'setMyCommands',
  'deleteMyCommands',
  'setWebhook',
  'deleteWebhook',
  'editMessageText',
  'editMessageCaption',
  'editMessageReplyMarkup',
  'deleteMessage',
  'sendChatAction',
  'answerCallbackQuery',
]);

/**
 * Answers that are worthless late get a shorter rate-limit wait: a button press answered more than ~15 s after it
 * was made is refused anyway, and a chat action lasts 5 s. A handler awaiting them must not stall for a minute.
 */
const SHORT_LIVED_MAX_WAIT_SEC: Record<string, number> = { answerCallbackQuery: 5, sendChatAction: 5 };

export function telegramPolicy(o: TelegramPolicyOptions = {}): Transformer {
  const maxRetryAfterSec = o.maxRetryAfterSec ?? 60;
  const maxRateLimitRetries = o.maxRateLimitRetries ?? 3;
  const maxNetworkRetries = o.maxNetworkRetries ?? 3;
  const backoffMs = o.backoffMs ?? 500;
  const maxBackoffMs = o.maxBackoffMs ?? 8000;
  const backoff = (n: number) => Math.min(maxBackoffMs, backoffMs * 2 ** (n - 1));

  return async (prev, method, payload, signal) => {
    let rateLimited = 0;
    let failed = 0;
    for (;;) {
      let res: Awaited<ReturnType<typeof prev>>;
      try {
        res = await prev(method, payload, signal);
      } catch (e) {
        const resend = e instanceof HttpError && !signal?.aborted && (IDEMPOTENT_METHODS.has(method) || nothingReachedServer(e.error));
        if (!resend || failed >= maxNetworkRetries) throw e;
        failed++;
        const delayMs = backoff(failed);
        o.onRetry?.(method, 'network');
        o.log?.warn({ method, reason: networkErrorLabel(e.error), attempt: failed, delayMs }, 'telegram request failed; sending again');
        await pause(delayMs, method, signal);
        continue;
      }
      if (res.ok) return res;
      const retryAfter = res.parameters?.retry_after;
      const maxWait = Math.min(maxRetryAfterSec, SHORT_LIVED_MAX_WAIT_SEC[method] ?? Infinity);
      if (res.error_code === 429 && typeof retryAfter === 'number' && retryAfter <= maxWait && rateLimited < maxRateLimitRetries) {
        rateLimited++;
        o.onRetry?.(method, 'rate_limit');
        o.log?.warn({ method, retryAfterSec: retryAfter, attempt: rateLimited }, 'telegram rate limit; waiting as told');
        await pause(retryAfter * 1000, method, signal);
        continue;
      }
      if (res.error_code >= 500 && IDEMPOTENT_METHODS.has(method) && failed < maxNetworkRetries) {
        failed++;
        const delayMs = backoff(failed);
        o.onRetry?.(method, 'server_error');
        o.log?.warn({ method, status: res.error_code, attempt: failed, delayMs }, 'telegram server error; sending again');
        await pause(delayMs, method, signal);
        continue;
      }
      return res;
    }
  };
}

/** grammY hands transformers an `abort-controller` shim signal; this is the part of it used here. */
type CallSignal = Parameters<Transformer>[3];

/** Waits, unless the caller aborts first: then fails like an aborted request would (an HttpError). */
function pause(ms: number, method: string, signal: CallSignal): Promise<void> {
  const aborted = () => new HttpError(`Request to '${method}' aborted while waiting to retry`, new Error('aborted'));
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(aborted());
    const onAbort = () => {
      clearTimeout(timer);
      reject(aborted());
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
