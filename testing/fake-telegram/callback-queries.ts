import { badRequest, TEXT } from './errors.js';

/**
 * Callback queries the fake handed out, each answerable once within the TTL; a late, repeated or unknown answer
 * gets the real server's "query is too old" error.
 */
export interface CallbackQueries {
  add(id: string): void;
  answer(id: string): void;
}

export function createCallbackQueries(ttlMs: number, clock: () => number = Date.now): CallbackQueries {
  const queries = new Map<string, { createdAt: number; answered: boolean }>();
  return {
    add(id) {
      queries.set(id, { createdAt: clock(), answered: false });
    },
    answer(id) {
      if (!id) throw badRequest('QUERY_ID_INVALID');
      const q = queries.get(id);
      if (!q || q.answered || clock() - q.createdAt > ttlMs) throw badRequest(TEXT.queryTooOld);
      q.answered = true;
    },
  };
}
