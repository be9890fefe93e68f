import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { formatReadings, DEFAULT_READINGS } from '../shotstack/readings.js';
import { unusedPort } from '../testing/ports.js';
import { REDIS_SERVER } from '../testing/throwaway-redis.js';
import { ManagedProcess, type ProcessSpec } from './processes.js';
import { rpcClient, type RpcClient } from './rpc.js';

/**
 * The deployed shape on one machine: a throwaway redis-server (AOF on, so a restart keeps the queue), the fake Bot
 * API, the local Shotstack renderer, one GPU worker (CPU provider), N pipeline workers and the bot in polling mode,
 * each its own process with its own work folder under the run's directory and one key prefix for the run.
 */
export const BOT_TOKEN = '123456:loadtest_TOKEN_abcdefghij';
const GPU_TOKEN = 'loadtest-gpu-token-0123456789';

export interface ClusterOptions {
  runDir: string;
  workers: number;
  /** Previews cost CPU on the bot side; the real dialogue has them. */
  preview: boolean;
  gpuDeadlineMs: number;
  mode: 'auto' | 'gpu' | 'cpu';
}

export interface Cluster {
  runDir: string;
  prefix: string;
  redisUrl: string;
  redis: ManagedProcess;
  telegram: ManagedProcess;
  shotstack: ManagedProcess;
  gpu: ManagedProcess;
  workers: ManagedProcess[];
  bot: ManagedProcess;
  tg: RpcClient;
  renderer: RpcClient;
  all(): ManagedProcess[];
  stop(): Promise<void>;
}

function workerEnv(o: ClusterOptions, base: Record<string, string>, gpuUrl: string, shotstackUrl: string, index: number): Record<string, string> {
  return {
    ...base,
    WORK_DIR: join(o.runDir, 'work', `worker-${index}`),
    PROCESSING_MODE: o.mode,
    GPU_WORKER_URL: gpuUrl,
    GPU_WORKER_TOKEN: GPU_TOKEN,
    GPU_WORKER_DEADLINE_MS: String(o.gpuDeadlineMs),
    GPU_WORKER_IDLE_TIMEOUT_MS: '10000',
    GPU_HEALTH_INTERVAL_MS: '2000',
    // Short locks so a SIGKILLed worker's job is taken over within seconds, not the production minute.
    PIPELINE_LOCK_DURATION_MS: '10000',
    PIPELINE_STALLED_INTERVAL_MS: '5000',
    PIPELINE_MAX_STALLED_COUNT: '2',
    PIPELINE_SHUTDOWN_GRACE_MS: '5000',
    PIPELINE_HEARTBEAT_INTERVAL_MS: '1000',
    PIPELINE_WORK_SWEEP_INTERVAL_MS: '5000',
    SHOTSTACK_API_URL: shotstackUrl,
    // The local renderer's readings as they are: no calibration renders at start.
    SHOTSTACK_READINGS: formatReadings(DEFAULT_READINGS),
    SHOTSTACK_POLL_INTERVAL_MS: '200',
    SHOTSTACK_MAX_RETRIES: '6',
  };
}

/** Ports below the kernel's ephemeral range (testing/ports.ts): nothing else takes them, not even while a chaos event has the process down. */
interface Ports {
  redis: number;
  gpu: number;
}

function specs(o: ClusterOptions, ports: Ports, prefix: string) {
  const work = (name: string) => join(o.runDir, 'work', name);
  const redisUrl = `redis://127.0.0.1:${ports.redis}`;
  const common = { LOG_LEVEL: 'info', TMPDIR: work('tmp'), ORT_PROVIDERS: 'cpu', ORT_THREADS: '1' };
  const pipeline = { ...common, REDIS_URL: redisUrl, PIPELINE_QUEUE_PREFIX: prefix, BOT_TOKEN, PIPELINE_RESOLUTION: 'sd', PIPELINE_MAX_ACTIVE_JOBS_PER_USER: '3' };
  const redis: ProcessSpec = {
    name: 'redis',
    command: [REDIS_SERVER, '--port', String(ports.redis), '--bind', '127.0.0.1', '--dir', join(o.runDir, 'redis'), '--save', '', '--appendonly', 'yes'],
    env: {},
    ready: /Ready to accept connections/,
  };
  const telegram: ProcessSpec = {
    name: 'fake-telegram',
    script: 'loadtest/fake-telegram-main.ts',
    env: { ...common, FAKE_TG_TOKEN: BOT_TOKEN, FAKE_TG_DATA_DIR: join(o.runDir, 'telegram') },
    ready: 'ipc',
  };
  const shotstack: ProcessSpec = { name: 'shotstack', script: 'loadtest/shotstack-main.ts', env: { ...common, SHOTSTACK_LOCAL_DATA_DIR: work('shotstack') }, ready: 'ipc' };
  const gpu: ProcessSpec = {
    name: 'gpu-worker',
    script: 'gpu-worker/server/main.ts',
    env: { ...common, PORT: String(ports.gpu), HOST: '127.0.0.1', GPU_WORKER_TOKEN: GPU_TOKEN, GPU_WORKER_WORK_DIR: work('gpu'), GPU_WORKER_SHUTDOWN_GRACE_MS: '3000' },
    ready: /gpu worker listening/,
  };
  return { redisUrl, gpuUrl: `http://127.0.0.1:${ports.gpu}`, pipeline, redis, telegram, shotstack, gpu, work };
}

/** Starts `procs` in order (each waits for the one before); on a failure stops those already started, then throws. */
async function startAll(started: ManagedProcess[], procs: ManagedProcess[]): Promise<void> {
  try {
    for (const p of procs) {
      started.push(p);
      await p.start();
    }
  } catch (e) {
    await Promise.all(started.map((p) => p.stop('SIGKILL')));
    started.forEach((p) => p.closeLog());
    throw e;
  }
}

export async function startCluster(o: ClusterOptions): Promise<Cluster> {
  const logDir = join(o.runDir, 'logs');
  for (const d of ['logs', 'redis', 'telegram', 'work/tmp', 'work/gpu', 'work/shotstack', 'work/preview']) await mkdir(join(o.runDir, d), { recursive: true });
  const prefix = `lt-${Date.now().toString(36)}`;
  const s = specs(o, { redis: await unusedPort(), gpu: await unusedPort() }, prefix);
  const [redis, telegram, shotstack, gpu] = [s.redis, s.telegram, s.shotstack, s.gpu].map((spec) => new ManagedProcess(spec, logDir)) as [
    ManagedProcess,
    ManagedProcess,
    ManagedProcess,
    ManagedProcess,
  ];
  const started: ManagedProcess[] = [];
  await startAll(started, [redis, telegram, shotstack, gpu]);
  const pipelineEnv = { ...s.pipeline, TELEGRAM_API_ROOT: String(telegram.readyValue) };
  const workers = Array.from(
    { length: o.workers },
    (_, i) =>
      new ManagedProcess(
        { name: `worker-${i + 1}`, script: 'pipeline/worker/main.ts', env: workerEnv(o, pipelineEnv, s.gpuUrl, String(shotstack.readyValue), i + 1), ready: /pipeline worker started/ },
        logDir,
      ),
  );
  const bot = new ManagedProcess(
    {
      name: 'bot',
      script: 'bot/main.ts',
      // The load test never calls the bot's /healthz: any free port.
      env: { ...pipelineEnv, PORT: '0', BOT_PREVIEW: String(o.preview), BOT_PREVIEW_DIR: s.work('preview'), BOT_STATUS_EDIT_INTERVAL_MS: '1000', ADMIN_IDS: '1' },
      ready: /bot started/,
    },
    logDir,
  );
  await startAll(started, [...workers, bot]);
  const all = () => [redis, telegram, shotstack, gpu, ...workers, bot];
  return {
    runDir: o.runDir,
    prefix,
    redisUrl: s.redisUrl,
    redis,
    telegram,
    shotstack,
    gpu,
    workers,
    bot,
    tg: rpcClient(() => telegram.child),
    renderer: rpcClient(() => shotstack.child),
    all,
    async stop() {
      // The bot and workers first (they finish what they hold), then their peers, Redis last.
      await Promise.all([bot.stop(), ...workers.map((w) => w.stop())]);
      await Promise.all([gpu.stop(), shotstack.stop(), telegram.stop()]);
      await redis.stop();
      all().forEach((p) => p.closeLog());
    },
  };
}
