import { readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jobLogger, logger as rootLogger, type Logger } from '../../common/logger.js';
import * as realEngine from '../../engine/index.js';
import type { EngineName } from '../../engine/index.js';
import type { HealthBody } from './api.js';
import { createTokenCheck } from './auth.js';
import type { InputUrlPolicy } from './input-url.js';
import { SERVER_DEFAULTS } from './config.js';
import { JobScheduler, type RenderFn } from './jobs.js';
import { createRequestHandler } from './routes.js';
import { createInstanceDir } from './workdir.js';

/** The engine functions the service calls; tests may pass a stand-in, production uses engine/index.ts. */
export interface OverlayEngine {
  renderOverlay: RenderFn;
  engineStatus(): Promise<EngineStatusView> | EngineStatusView;
  warmup(engines: EngineName[]): Promise<void>;
}

export interface EngineStatusView {
  models: Array<{ engine: EngineName; model?: string; loaded: boolean; provider: 'cuda' | 'cpu' | null }>;
  gpuName: string | null;
  providersRequested: string[];
}

export interface GpuWorkerServerOptions {
  /** Token every route but /health and /ping requires (Authorization: Bearer, or X-GPU-Worker-Token). */
  token: string;
  /** 0 = any free port (tests). */
  port?: number;
  host?: string;
  concurrency?: number;
  queueDepth?: number;
  maxBodyBytes?: number;
  jobTimeoutMs?: number;
  resultTtlMs?: number;
  uploadTimeoutMs?: number;
  fetchTimeoutMs?: number;
  shutdownGraceMs?: number;
  /** Parent folder of this process's work folder (default: OS temp dir/bubblecast-gpu-worker). */
  workDir?: string;
  /** Engines whose models load at start-up; /ping answers 204 until they have. */
  warmup?: EngineName[];
  /**
   * `input.url` submissions (the worker fetches the video): off unless given (GPU_WORKER_URL_INPUT). Production
   * passes `{protocols: ['https:']}`; see input-url.ts for the checks.
   */
  inputUrl?: InputUrlPolicy | null;
  engine?: OverlayEngine;
  logger?: Logger;
  /** What /health reports as `version` (the entry point passes BUBBLECAST_VERSION); default package.json's. */
  version?: string;
}

export interface GpuWorkerServer {
  url: string;
  port: number;
  /** The folder holding this process's uploads and results (removed by close). */
  workDir: string;
  /** Graceful shutdown: refuse new jobs, fail queued ones, give running ones the grace period, then stop. */
  close(reason?: string): Promise<void>;
}

/** What /health reports besides the counts: the models' warm-up, and whether the service is shutting down. */
interface ServiceState {
  warm: { state: 'starting' | 'ok' | 'error'; error?: string };
  draining: boolean;
}

/** The options with SERVER_DEFAULTS filled in. */
type Settings = ReturnType<typeof settingsOf>;

function settingsOf(opts: GpuWorkerServerOptions) {
  return { ...SERVER_DEFAULTS, warmup: ['fast'] as EngineName[], ...definedOnly(opts) };
}

export async function startGpuWorkerServer(opts: GpuWorkerServerOptions): Promise<GpuWorkerServer> {
  if (!opts.token) throw new Error('startGpuWorkerServer: a token is required');
  const s = settingsOf(opts);
  const log = s.logger ?? rootLogger.child({ component: 'gpu-worker' });
  const engine = s.engine ?? realEngine;
  const version = s.version ?? packageVersion();
  const instanceDir = await createInstanceDir(s.workDir ?? join(tmpdir(), 'bubblecast-gpu-worker'), log);
  const scheduler = new JobScheduler({
    concurrency: s.concurrency,
    queueDepth: s.queueDepth,
    jobTimeoutMs: s.jobTimeoutMs,
    resultTtlMs: s.resultTtlMs,
    render: engine.renderOverlay,
    providerOf: async (name) => (await engine.engineStatus()).models.find((m) => m.engine === name && m.loaded)?.provider ?? null,
    logger: (jobId) => (s.logger ? s.logger.child({ jobId }) : jobLogger(jobId, 'gpu-worker')),
  });
  const state: ServiceState = { warm: { state: 'starting' }, draining: false };
  const health = healthReporter(engine, scheduler, s, state, version);
  const handler = createRequestHandler({
    scheduler,
    instanceDir,
    isAuthorized: createTokenCheck(opts.token),
    maxBodyBytes: s.maxBodyBytes,
    fetchTimeoutMs: s.fetchTimeoutMs,
    inputUrl: s.inputUrl ?? null,
    concurrency: s.concurrency,
    queueDepth: s.queueDepth,
    health,
    warmupError: () => state.warm.error ?? null,
    log,
  });
  const server = createServer(
    {
      requestTimeout: s.uploadTimeoutMs,
      // Longer than the idle timeout of the hosts' proxies (60 s), so a proxy never reuses a socket we just closed.
      keepAliveTimeout: 65_000,
      headersTimeout: 66_000,
    },
    handler,
  );
  // Registering this stops Node from answering `Expect: 100-continue` by itself: submit() sends 100 only once it
  // has decided to read the body, so refusals (401, 413, 400, 429) cost the client no upload.
  server.on('checkContinue', handler);
  const port = await listen(server, s.port, s.host);
  const url = `http://${connectHost(s.host)}:${port}`;
  log.info({ url, version, concurrency: s.concurrency, queueDepth: s.queueDepth, workDir: instanceDir }, 'gpu worker listening');
  warmUp(engine, s.warmup, state, health, log);
  const close = closer({ state, scheduler, server, instanceDir, graceMs: s.shutdownGraceMs, log });
  return { url, port, workDir: instanceDir, close };
}

/** GET /health's body, read fresh each time from the engine, the scheduler and the service state. */
function healthReporter(engine: OverlayEngine, scheduler: JobScheduler, s: Settings, state: ServiceState, version: string): () => Promise<HealthBody> {
  const startedAt = Date.now();
  return async () => {
    const st = await engine.engineStatus();
    const loaded = st.models.filter((m) => m.loaded);
    const status = state.draining ? 'draining' : state.warm.state;
    return {
      status,
      ready: status === 'ok',
      version,
      uptimeSec: Math.round((Date.now() - startedAt) / 1000),
      provider: loaded.some((m) => m.provider === 'cuda') ? 'cuda' : loaded.length ? 'cpu' : null,
      gpuName: st.gpuName,
      providersRequested: st.providersRequested,
      models: st.models.map(({ engine: e, model, loaded: l, provider }) => ({ engine: e, model, loaded: l, provider })),
      jobs: { ...scheduler.counts(), concurrency: s.concurrency, queueDepth: s.queueDepth },
      ...(state.warm.error ? { error: state.warm.error } : {}),
    };
  };
}

async function listen(server: Server, port: number, host: string): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return (server.address() as AddressInfo).port;
}

/** Models load after listening so /health answers (and /ping says 204 "starting") while they do. */
function warmUp(engine: OverlayEngine, engines: EngineName[], state: ServiceState, health: () => Promise<HealthBody>, log: Logger): void {
  void engine.warmup(engines).then(
    async () => {
      state.warm = { state: 'ok' };
      const h = await health();
      log.info({ provider: h.provider, gpuName: h.gpuName, models: h.models }, 'models ready');
    },
    (e: unknown) => {
      state.warm = { state: 'error', error: (e as Error).message };
      log.error({ err: e }, 'model warm-up failed: jobs will fail until this is fixed');
    },
  );
}

/** The server's `close`: once, however often it is called (drain jobs, stop listening, remove the work folder). */
function closer(c: { state: ServiceState; scheduler: JobScheduler; server: Server; instanceDir: string; graceMs: number; log: Logger }) {
  let closing: Promise<void> | null = null;
  return (reason = 'closed') =>
    (closing ??= (async () => {
      c.state.draining = true;
      c.log.info({ reason, graceMs: c.graceMs, ...c.scheduler.counts() }, 'shutting down');
      await c.scheduler.drain(reason, c.graceMs);
      await c.scheduler.dispose();
      await new Promise<void>((resolve) => {
        c.server.close(() => resolve());
        c.server.closeIdleConnections();
        // A download still streaming gets a moment, then every connection goes.
        setTimeout(() => c.server.closeAllConnections(), 1000).unref();
      });
      await rm(c.instanceDir, { recursive: true, force: true });
      c.log.info({ reason }, 'gpu worker stopped');
    })());
}

function connectHost(host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** package.json's version: what /health says when the entry point has no BUBBLECAST_VERSION to give. */
function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version || 'unknown';
  } catch {
    return 'unknown';
  }
}
