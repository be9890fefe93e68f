import type { Update } from 'grammy/types';
import { ApiFailure } from './errors.js';
import { MAX_POLL_TIMEOUT_SEC } from './limits.js';
import { intOf, type Params } from './params.js';

/** The update queue and getUpdates long polling, with the real server's 409s. */
export interface UpdateQueue {
  /** Assigns update_id when missing and wakes a waiting poller. */
  push(u: Omit<Update, 'update_id'> & { update_id?: number }): Update;
  getUpdates(p: Params, signal: AbortSignal): Promise<Update[]>;
  clear(): void;
  readonly length: number;
  /** Ends a waiting poll (on close). */
  wake(): void;
}

interface PendingPoll {
  wake(): void;
  terminate(): void;
}

const CONFLICT_WEBHOOK = "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first";
const CONFLICT_POLLER = 'Conflict: terminated by other getUpdates request; make sure that only one bot instance is running';

export function createUpdateQueue(webhookActive: () => boolean): UpdateQueue {
  const updates: Update[] = [];
  let nextUpdateId = 100_000 + Math.floor(Math.random() * 1000);
  let pendingPoll: PendingPoll | null = null;

  function confirm(offset: number) {
    // `offset` confirms every update before it; a negative offset keeps only the last |offset| updates.
    if (offset > 0) {
      while (updates.length && updates[0]!.update_id < offset) updates.shift();
    } else if (offset < 0) {
      updates.splice(0, Math.max(0, updates.length + offset));
    }
  }

  async function getUpdates(p: Params, signal: AbortSignal): Promise<Update[]> {
    if (webhookActive()) throw new ApiFailure(409, CONFLICT_WEBHOOK);
    confirm(intOf(p, 'offset') ?? 0);
    const limit = Math.min(100, Math.max(1, intOf(p, 'limit') ?? 100));
    const timeoutSec = Math.min(MAX_POLL_TIMEOUT_SEC, Math.max(0, intOf(p, 'timeout') ?? 0));
    const available = () => updates.slice(0, limit);
    if (available().length || timeoutSec === 0) return available();
    // A second poller terminates the first one, as the real server does.
    pendingPoll?.terminate();
    return waitForUpdates(timeoutSec, signal, available);
  }

  function waitForUpdates(timeoutSec: number, signal: AbortSignal, available: () => Update[]): Promise<Update[]> {
    return new Promise<Update[]>((resolve, reject) => {
      const poll: PendingPoll = {
        wake: () => finish(() => resolve(available())),
        terminate: () => finish(() => reject(new ApiFailure(409, CONFLICT_POLLER))),
      };
      const timer = setTimeout(() => poll.wake(), timeoutSec * 1000);
      const onAbort = () => finish(() => resolve([]));
      signal.addEventListener('abort', onAbort, { once: true });
      function finish(action: () => void) {
        if (pendingPoll === poll) pendingPoll = null;
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        action();
      }
      pendingPoll = poll;
    });
  }

  return {
    push(u) {
      const update = { ...u, update_id: u.update_id ?? nextUpdateId++ } as Update;
      nextUpdateId = Math.max(nextUpdateId, update.update_id + 1);
      updates.push(update);
      pendingPoll?.wake();
      return update;
    },
    getUpdates,
    clear: () => void (updates.length = 0),
    get length() {
      return updates.length;
    },
    wake: () => pendingPoll?.wake(),
  };
}
