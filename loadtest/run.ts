import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { createRedis } from '../pipeline/redis.js';
import { createRenderQueue } from '../pipeline/contract.js';
import { readOperatorNumbers } from '../pipeline/operator-numbers.js';
import { tallyChat, type ChatTally } from './chat.js';
import { runChaos, type ChaosRecord } from './chaos.js';
import { startCluster, type Cluster } from './cluster.js';
import type { LoadTestConfig } from './config.js';
import type { ChatView, FakeStats } from './fake-telegram-main.js';
import { prepareMedia } from './media.js';
import { startRssSampler } from './processes.js';
import { createRng } from './random.js';
import { countBy, leftovers, percentile, processNumbers, redisKeysLeft, type LoadReport } from './report.js';
import { runUser, userKinds, type UserRecord } from './users.js';

/**
 * One load-test run: media cut, the cluster started, users (and chaos) run until every user is answered or the
 * deadline, the chats read a last time, then the processes stopped and what they left measured.
 */
const FIRST_CHAT = 9_000_001;

async function driveUsers(cluster: Cluster, cfg: LoadTestConfig, deadline: number, log: Logger): Promise<UserRecord[]> {
  const media = await prepareMedia(join(cluster.runDir, 'media'));
  const kinds = userKinds(cfg.users, createRng(cfg.seed));
  return Promise.all(
    kinds.map(async (kind, i) => {
      await sleep(i * cfg.rampMs);
      const ctx = { tg: cluster.tg, media, rng: createRng(cfg.seed * 1000 + i), deadline, stepTimeoutMs: 90_000, engines: cfg.engines };
      const u = await runUser(ctx, FIRST_CHAT + i, kind);
      log.info({ chatId: u.chatId, kind, dialogue: u.dialogue, latencyMs: u.latencyMs, note: u.note }, 'user done');
      return u;
    }),
  );
}

interface Collected {
  tallies: Array<ChatTally | null>;
  ops: Awaited<ReturnType<typeof readOperatorNumbers>> | null;
  keys: LoadReport['redisKeysLeft'];
  telegram: FakeStats | null;
}

async function collect(cluster: Cluster, users: UserRecord[]): Promise<Collected> {
  const redis = createRedis(cluster.redisUrl);
  const queue = createRenderQueue(redis, cluster.prefix);
  try {
    const tallies = await Promise.all(users.map((u) => cluster.tg.call<ChatView>('chatView', u.chatId).then((v) => tallyChat(v, u.confirmedOn), () => null)));
    const ops = await readOperatorNumbers({ queue, redis, prefix: cluster.prefix }).catch(() => null);
    const keys = await redisKeysLeft(redis, cluster.prefix);
    const telegram = await cluster.tg.call<FakeStats>('stats').catch(() => null);
    return { tallies, ops, keys, telegram };
  } finally {
    await queue.close().catch(() => undefined);
    redis.disconnect();
  }
}

function buildReport(cfg: LoadTestConfig, cluster: Cluster, users: UserRecord[], c: Collected, extra: { chaos: ChaosRecord[]; durationSec: number }): Omit<LoadReport, 'leftoverBytes' | 'leftoverByDir'> {
  const confirmed = users.map((u, i) => ({ u, t: c.tallies[i] })).filter((x) => x.u.dialogue === 'confirmed');
  const sum = (f: (t: ChatTally) => number) => confirmed.reduce((a, x) => a + (x.t ? f(x.t) : 0), 0);
  // A confirmed order with no job and no refusal, or a chat that could not be read, is lost too.
  const silent = confirmed.filter((x) => !x.t || (x.t.queued === 0 && x.t.failures.length === 0)).length;
  const latencies = users.flatMap((u) => u.latencyMs).sort((a, b) => a - b);
  const failures = confirmed.flatMap((x) => x.t?.failures ?? []);
  const refusedAtEnqueue = confirmed.reduce((a, x) => a + (x.t && x.t.queued === 0 ? x.t.failures.length : 0), 0);
  return {
    users: cfg.users,
    workers: cfg.workers,
    seed: cfg.seed,
    durationSec: extra.durationSec,
    chaos: extra.chaos,
    dialogues: { confirmed: 0, cancelled: 0, refused: 0, stuck: 0, ...countBy(users.map((u) => u.dialogue)) },
    jobsAsked: sum((t) => t.queued) + refusedAtEnqueue,
    delivered: sum((t) => Math.min(t.results, t.queued)),
    lost: sum((t) => t.unanswered) + silent,
    duplicates: sum((t) => t.duplicates),
    cancelled: sum((t) => t.cancelled),
    failuresByCode: countBy(failures),
    failuresByCodeRedis: Object.fromEntries(Object.entries(c.ops?.failuresByCode ?? {}).filter(([, n]) => n > 0)),
    latencyMs: { p50: percentile(latencies, 50), p95: percentile(latencies, 95), max: latencies.at(-1) ?? null, n: latencies.length },
    ...processNumbers(cluster.all().map((p) => p.stats())),
    redisKeysLeft: c.keys,
    gpuFallbacks: {
      total: Object.values(c.ops?.fallbacks ?? {}).reduce((a, b) => a + b, 0),
      byReason: c.ops?.fallbacks ?? {},
      overlays: c.ops?.overlays ?? { gpu: 0, cpu: 0 },
    },
    telegram: c.telegram,
    perUser: users.map((u, i) => ({ ...u, tally: c.tallies[i] ?? null })),
    runDir: cluster.runDir,
  };
}

export async function runLoadTest(cfg: LoadTestConfig, log: Logger): Promise<LoadReport> {
  const runDir = await mkdtemp(join(tmpdir(), 'bubblecast-loadtest-'));
  log.info({ runDir, users: cfg.users, workers: cfg.workers, chaos: cfg.chaos }, 'starting the cluster');
  const cluster = await startCluster({ runDir, workers: cfg.workers, preview: cfg.preview, gpuDeadlineMs: cfg.gpuDeadlineMs, mode: cfg.mode });
  const stopSampling = startRssSampler(() => cluster.all());
  const startedAt = Date.now();
  const deadline = startedAt + cfg.timeoutSec * 1000;
  const chaosRedis = createRedis(cluster.redisUrl);
  chaosRedis.on('error', () => undefined);
  try {
    const chaos = cfg.chaos.length ? runChaos({ cluster, redis: chaosRedis, startedAt, deadline }, cfg.chaos, { firstDelayMs: 4000 + cfg.rampMs, gapMs: 6000 }) : Promise.resolve([]);
    const users = await driveUsers(cluster, cfg, deadline, log);
    const chaosRecords = await chaos;
    // Late duplicates and late answers get a moment to show before the chats are read for the report.
    await sleep(3000);
    const collected = await collect(cluster, users);
    const durationSec = Math.round((Date.now() - startedAt) / 1000);
    stopSampling();
    await cluster.stop();
    const left = await leftovers(join(runDir, 'work'));
    return { ...buildReport(cfg, cluster, users, collected, { chaos: chaosRecords, durationSec }), leftoverBytes: left.total, leftoverByDir: left.byDir };
  } finally {
    stopSampling();
    chaosRedis.disconnect();
    await cluster.stop().catch(() => undefined);
  }
}

/** Removes the run's folder unless it is wanted: kept on request, or as evidence when the run lost or doubled a job. */
export async function cleanupRun(r: LoadReport, keep: boolean): Promise<boolean> {
  if (keep || r.lost > 0 || r.duplicates > 0) return false;
  await rm(r.runDir, { recursive: true, force: true });
  return true;
}
