import type { BotStore } from '../store.js';

/**
 * The id of the last queue event handled, kept in Redis so a restarted bot catches up from there. Stream ids
 * ("<ms>-<seq>") grow, but handlers finish out of order, so only a newer id is written.
 */
export function createEventCursor(store: BotStore): { handled(id: string): void } {
  let lastId: string | null = null;
  return {
    handled(id) {
      if (lastId && !newer(id, lastId)) return;
      lastId = id;
      store.setLastEventId(id).catch(() => undefined);
    },
  };
}

function newer(a: string, b: string): boolean {
  const [am, as] = a.split('-').map(Number);
  const [bm, bs] = b.split('-').map(Number);
  return am! > bm! || (am === bm && as! > bs!);
}
