import type { Redis } from 'ioredis';

/**
 * Deletions on Shotstack that are due at a time: a render's ingested sources (due at once) and its hosted copy
 * (due after the retention). In Redis — a sorted set scored by the due time — they outlive the worker that
 * scheduled them, and every worker's sweep takes them from the same set; in memory for the render CLI.
 *
 * A claimed deletion is not removed but moved `leaseMs` into the future: if its worker dies or the call fails,
 * it comes due again and another sweep retries it. `done` removes it once it succeeded (or is given up).
 */
export type DeletionKind = 'sources' | 'render';

export interface Deletion {
  kind: DeletionKind;
  renderId: string;
}

export interface DeletionSchedule {
  /** Schedules (or reschedules) deletions to come due at `dueMs`. */
  add(items: Deletion[], dueMs: number): Promise<void>;
  /** Claims up to `max` deletions due at `nowMs`, hiding them until `nowMs + leaseMs`. */
  claimDue(nowMs: number, leaseMs: number, max: number): Promise<Deletion[]>;
  done(item: Deletion): Promise<void>;
  /** Whether `item` is still scheduled (due or not). */
  has(item: Deletion): Promise<boolean>;
  /** Everything scheduled, due or not, earliest first. */
  pending(): Promise<Array<Deletion & { dueMs: number }>>;
}

const member = (d: Deletion) => `${d.kind}:${d.renderId}`;

function parseMember(m: string): Deletion | null {
  const i = m.indexOf(':');
  const kind = m.slice(0, i);
  if (i < 0 || (kind !== 'sources' && kind !== 'render')) return null;
  return { kind, renderId: m.slice(i + 1) };
}

// Atomic, so two sweeping workers never claim the same deletion.
const CLAIM_DUE = `
local items = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
for _, m in ipairs(items) do redis.call('ZADD', KEYS[1], ARGV[2], m) end
return items`;

/** `key`: `<prefix>:bubblecast:shotstack:deletions:<keyId>` — one set per Shotstack key (only it can delete). */
export function redisDeletionSchedule(redis: Redis, key: string): DeletionSchedule {
  return {
    async add(items, dueMs) {
      if (!items.length) return;
      await redis.zadd(key, ...items.flatMap((d) => [String(dueMs), member(d)]));
    },
    async claimDue(nowMs, leaseMs, max) {
      const members = (await redis.eval(CLAIM_DUE, 1, key, nowMs, nowMs + leaseMs, max)) as string[];
      return members.map(parseMember).filter((d): d is Deletion => d !== null);
    },
    async done(item) {
      await redis.zrem(key, member(item));
    },
    async has(item) {
      return (await redis.zscore(key, member(item))) !== null;
    },
    async pending() {
      const flat = await redis.zrange(key, '0', '-1', 'WITHSCORES');
      const out: Array<Deletion & { dueMs: number }> = [];
      for (let i = 0; i < flat.length; i += 2) {
        const d = parseMember(flat[i]!);
        if (d) out.push({ ...d, dueMs: Number(flat[i + 1]) });
      }
      return out;
    },
  };
}

export function memoryDeletionSchedule(): DeletionSchedule {
  const due = new Map<string, number>();
  const sorted = () => [...due.entries()].sort((a, b) => a[1] - b[1] || a[0].localeCompare(b[0]));
  return {
    async add(items, dueMs) {
      for (const d of items) due.set(member(d), dueMs);
    },
    async claimDue(nowMs, leaseMs, max) {
      const claimed = sorted()
        .filter(([, at]) => at <= nowMs)
        .slice(0, max)
        .map(([m]) => m);
      for (const m of claimed) due.set(m, nowMs + leaseMs);
      return claimed.map(parseMember).filter((d): d is Deletion => d !== null);
    },
    async done(item) {
      due.delete(member(item));
    },
    async has(item) {
      return due.has(member(item));
    },
    async pending() {
      return sorted().flatMap(([m, dueMs]) => {
        const d = parseMember(m);
        return d ? [{ ...d, dueMs }] : [];
      });
    },
  };
}
