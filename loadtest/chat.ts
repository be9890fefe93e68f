import { setTimeout as sleep } from 'node:timers/promises';
import { t } from '../bot/i18n/index.js';
import { failureText } from '../pipeline/contract.js';
import type { FailureCode } from '../pipeline/failures.js';
import { FAILURE_CODES } from '../pipeline/operator-numbers.js';
import type { ChatView } from './fake-telegram-main.js';
import type { RpcClient } from './rpc.js';

/**
 * Reading a chat the way a user reads it: which jobs the bot said it queued, and how each was answered (a result
 * file, a ❌ status naming the failure, ⏹ cancelled). The words come from the bot's own texts (English users).
 */
const en = t('en');
export const RESULT_METHODS = new Set(['sendVideo', 'sendVideoNote', 'sendDocument']);

const FAILURE_BY_TEXT = new Map<string, FailureCode>(FAILURE_CODES.map((c) => [failureText(c, 'en'), c]));

export interface ChatTally {
  /** Status messages the bot opened with "In the queue" (one per job). */
  queued: number;
  results: number;
  /** Failure codes, from ❌ statuses and from refusals sent as plain messages (e.g. too many jobs). */
  failures: Array<FailureCode | 'unknown'>;
  cancelled: number;
  /** Result files beyond one per job. */
  duplicates: number;
  /** Jobs queued but answered by nothing. */
  unanswered: number;
}

const lastLine = (s: string) => s.split('\n').at(-1) ?? s;

/** `confirmedOn`: the summary message the user confirmed; failure texts sent before it (a preview's) do not count. */
export function tallyChat(v: ChatView, confirmedOn = 0): ChatTally {
  const statuses = v.bot.filter((m) => m.history.length > 0 && lastLine(m.history[0]!) === en.queued);
  const results = v.files.filter((f) => RESULT_METHODS.has(f.method)).length;
  const failures: ChatTally['failures'] = [];
  let cancelled = 0;
  for (const s of statuses) {
    const now = lastLine(s.text);
    if (now === en.statusCancelled) cancelled++;
    else if (now.startsWith('❌ ')) failures.push(FAILURE_BY_TEXT.get(now.slice(2)) ?? 'unknown');
  }
  // A refusal at enqueue is a plain message with the failure's text and no status message.
  for (const { id, text } of v.sent) {
    const code = id > confirmedOn ? FAILURE_BY_TEXT.get(text) : undefined;
    if (code) failures.push(code);
  }
  const queued = statuses.length;
  const answered = Math.min(queued, results) + statuses.filter((s) => lastLine(s.text) === en.statusCancelled || lastLine(s.text).startsWith('❌ ')).length;
  return {
    queued,
    results,
    failures,
    cancelled,
    duplicates: Math.max(0, results - queued),
    unanswered: Math.max(0, queued - answered),
  };
}

/** Polls the chat until `pick` returns something (or throws after `timeoutMs`, naming `what`). */
export async function waitChat<T>(tg: RpcClient, chatId: number, pick: (v: ChatView) => T | undefined, timeoutMs: number, what: string): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await tg.call<ChatView>('chatView', chatId).catch(() => null);
    const got = v ? pick(v) : undefined;
    if (got !== undefined) return got;
    if (Date.now() > end) throw new Error(`chat ${chatId}: no ${what} within ${timeoutMs} ms`);
    await sleep(300);
  }
}

export const texts = en;
