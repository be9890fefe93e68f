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

/** The options with their defaults, plus the backoff they make. */
interface Policy {
  o: TelegramPolicyOptions;
  maxRetryAfterSec: number;
  maxRateLimitRetries: number;
  maxNetworkRetries: number;
  backoff(n: number): number;
}

/** One call's retries so far. */
interface Tries {
  rateLimited: number;
  failed: number;
}

type CallResult = Awaited<ReturnType<Parameters<Transformer>[0]>>;

export function telegramPolicy(o: TelegramPolicyOptions = {}): Transformer {
  const backoffMs = o.backoffMs ?? 500;
  const maxBackoffMs = o.maxBackoffMs ?? 8000;
  const p: Policy = {
    o,
    maxRetryAfterSec: o.maxRetryAfterSec ?? 60,
    maxRateLimitRetries: o.maxRateLimitRetries ?? 3,
    maxNetworkRetries: o.maxNetworkRetries ?? 3,
    backoff: (n) => Math.min(maxBackoffMs, backoffMs * 2 ** (n - 1)),
  };
  return async (prev, method, payload, signal) => {
    const tries: Tries = { rateLimited: 0, failed: 0 };
    for (;;) {
      let res: CallResult;
      try {
        res = await prev(method, payload, signal);
      } catch (e) {
        await pause(resendAfterThrow(p, tries, e, method, signal), method, signal);
        continue;
      }
      const delayMs = resendAfterAnswer(p, tries, res, method);
      if (delayMs === null) return res;
      await pause(delayMs, method, signal);
    }
  };
}

/** A call that threw: the wait before sending it again, or the error rethrown when it must not be resent. */
function resendAfterThrow(p: Policy, tries: Tries, e: unknown, method: string, signal: CallSignal): number {
  const resend = e instanceof HttpError && !signal?.aborted && (IDEMPOTENT_METHODS.has(method) || nothingReachedServer(e.error));
  if (!resend || tries.failed >= p.maxNetworkRetries) throw e;
  tries.failed++;
  const delayMs = p.backoff(tries.failed);
  p.o.onRetry?.(method, 'network');
  p.o.log?.warn({ method, reason: networkErrorLabel(e.error), attempt: tries.failed, delayMs }, 'telegram request failed; sending again');
  return delayMs;
}

/** An answer: the wait before sending the call again (a bounded 429, an idempotent 5xx), or null to return it. */
function resendAfterAnswer(p: Policy, tries: Tries, res: CallResult, method: string): number | null {
  if (res.ok) return null;
  const retryAfter = res.parameters?.retry_after;
  const maxWait = Math.min(p.maxRetryAfterSec, SHORT_LIVED_MAX_WAIT_SEC[method] ?? Infinity);
  if (res.error_code === 429 && typeof retryAfter === 'number' && retryAfter <= maxWait && tries.rateLimited < p.maxRateLimitRetries) {
    tries.rateLimited++;
    p.o.onRetry?.(method, 'rate_limit');
    p.o.log?.warn({ method, retryAfterSec: retryAfter, attempt: tries.rateLimited }, 'telegram rate limit; waiting as told');
    return retryAfter * 1000;
  }
  if (res.error_code >= 500 && IDEMPOTENT_METHODS.has(method) && tries.failed < p.maxNetworkRetries) {
    tries.failed++;
    const delayMs = p.backoff(tries.failed);
    p.o.onRetry?.(method, 'server_error');
    p.o.log?.warn({ method, status: res.error_code, attempt: tries.failed, delayMs }, 'telegram server error; sending again');
    return delayMs;
  }
  return null;
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
