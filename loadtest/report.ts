import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import type { ChatTally } from './chat.js';
import type { ChaosRecord } from './chaos.js';
import type { FakeStats } from './fake-telegram-main.js';
import type { ProcessStats } from './processes.js';
import type { UserRecord } from './users.js';

/** The run's numbers (the JSON --report writes) and the short summary printed for people. */
export interface LoadReport {
  users: number;
  workers: number;
  seed: number;
  durationSec: number;
  chaos: ChaosRecord[];
  dialogues: Record<UserRecord['dialogue'], number>;
  /** Jobs the bot said it queued, plus confirmed orders refused at enqueue. */
  jobsAsked: number;
  delivered: number;
  /** Confirmed but never answered by a result or a failure message. */
  lost: number;
  /** Result files beyond one per job in a chat. */
  duplicates: number;
  cancelled: number;
  /** Failures as users read them (❌ status messages, refusals). */
  failuresByCode: Record<string, number>;
  /** The pipeline's own counters in Redis (final failures by code). */
  failuresByCodeRedis: Record<string, number>;
  /** Confirm → result file, as the user saw it arrive (polled every ~0.4 s). */
  latencyMs: { p50: number | null; p95: number | null; max: number | null; n: number };
  maxRssMb: Record<string, number>;
  restarts: Record<string, number>;
  /** How each process's runs ended (a SIGKILL here on a process the chaos did not kill: it ignored SIGTERM for 15 s). */
  exits: Record<string, string[]>;
  leftoverBytes: number;
  leftoverByDir: Record<string, number>;
  redisKeysLeft: { count: number; byPattern: Record<string, number>; withoutTtl: string[]; outsidePrefix: number };
  gpuFallbacks: { total: number; byReason: Record<string, number>; overlays: { gpu: number; cpu: number } };
  telegram: FakeStats | null;
  perUser: Array<UserRecord & { tally: ChatTally | null }>;
  runDir: string;
}

export function percentile(sorted: number[], p: number): number | null {
  if (!sorted.length) return null;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

export function countBy<T extends string>(items: T[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const i of items) out[i] = (out[i] ?? 0) + 1;
  return out;
}

/** Bytes of every file under `dir` (0 when it is gone). */
export async function dirBytes(dir: string): Promise<number> {
  let total = 0;
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) total += await dirBytes(p);
    else total += await stat(p).then((s) => s.size, () => 0);
  }
  return total;
}

/**
 * What is left under the work folders, per sub-folder (the temp folder per entry), skipping tsx's compile cache
 * (the load test's own tooling, not the product's). Empty files count as entries with 0 bytes.
 */
export async function leftovers(dir: string): Promise<{ total: number; byDir: Record<string, number> }> {
  const byDir: Record<string, number> = {};
  const add = async (rel: string) => {
    const p = join(dir, rel);
    const s = await stat(p).catch(() => null);
    if (!s) return;
    const n = s.isDirectory() ? await dirBytes(p) : s.size;
    if (n > 0 || !s.isDirectory()) byDir[rel] = n;
  };
  for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    if (e.name !== 'tmp') await add(e.name);
    else for (const t of await readdir(join(dir, 'tmp')).catch(() => [])) if (!t.startsWith('tsx-')) await add(`tmp/${t}`);
  }
  return { total: Object.values(byDir).reduce((a, b) => a + b, 0), byDir };
}

/** Job ids and numbers in a key become `*`, so keys group by kind. */
const patternOf = (key: string) =>
  key
    .split(':')
    .map((s) => (/^chat-?\d+-msg\d+/.test(s) || /^\d+$/.test(s) || /^[0-9a-f-]{16,}$/i.test(s) ? '*' : s))
    .join(':');

export async function redisKeysLeft(redis: Redis, prefix: string): Promise<LoadReport['redisKeysLeft']> {
  const keys = await redis.keys(`${prefix}:*`);
  const all = await redis.dbsize();
  const byPattern = countBy(keys.map(patternOf));
  const withoutTtl: string[] = [];
  for (const k of keys) if ((await redis.ttl(k)) === -1) withoutTtl.push(k);
  return { count: keys.length, byPattern, withoutTtl: [...new Set(withoutTtl.map(patternOf))].sort(), outsidePrefix: all - keys.length };
}

export function processNumbers(stats: ProcessStats[]): Pick<LoadReport, 'maxRssMb' | 'restarts' | 'exits'> {
  return {
    exits: Object.fromEntries(stats.map((s) => [s.name, s.exits])),
    maxRssMb: Object.fromEntries(stats.map((s) => [s.name, s.maxRssMb])),
    restarts: Object.fromEntries(stats.filter((s) => s.starts > 1).map((s) => [s.name, s.starts - 1])),
  };
}

export function summary(r: LoadReport): string {
  const lat = r.latencyMs;
  const rss = Object.entries(r.maxRssMb)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  return [
    `load test: ${r.users} users, ${r.workers} workers, ${r.durationSec} s, seed ${r.seed}`,
    `dialogues: ${Object.entries(r.dialogues).map(([k, v]) => `${k} ${v}`).join(', ')}`,
    `jobs asked ${r.jobsAsked}: delivered ${r.delivered}, failed ${Object.values(r.failuresByCode).reduce((a, b) => a + b, 0)} ${JSON.stringify(r.failuresByCode)}, cancelled ${r.cancelled}, LOST ${r.lost}, DUPLICATES ${r.duplicates}`,
    `latency confirm→result: p50 ${lat.p50 ?? '-'} ms, p95 ${lat.p95 ?? '-'} ms, max ${lat.max ?? '-'} ms (n=${lat.n})`,
    `chaos: ${r.chaos.map((c) => `${c.event}@${c.atSec}s${c.ok ? '' : ' (failed)'}`).join(', ') || 'none'}`,
    `GPU fallbacks ${r.gpuFallbacks.total} ${JSON.stringify(r.gpuFallbacks.byReason)}; overlays gpu ${r.gpuFallbacks.overlays.gpu} / cpu ${r.gpuFallbacks.overlays.cpu}`,
    `max RSS MB: ${rss}`,
    `leftover bytes in work dirs: ${r.leftoverBytes}; redis keys left under the prefix: ${r.redisKeysLeft.count} (no TTL: ${r.redisKeysLeft.withoutTtl.join(', ') || 'none'})`,
  ].join('\n');
}
