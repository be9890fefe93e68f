import { readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { createServer } from 'node:http';
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
}

export interface GpuWorkerServer {
  url: string;
  port: number;
  /** The folder holding this process's uploads and results (removed by close). */
  workDir: string;
  /** Graceful shutdown: refuse new jobs, fail queued ones, give running ones the grace period, then stop. */
  close(reason?: string): Promise<void>;
}

const VERSION = readVersion();

export async function startGpuWorkerServer(opts: GpuWorkerServerOptions): Promise<GpuWorkerServer> {
  if (!opts.token) throw new Error('startGpuWorkerServer: a token is required');
  const s = { ...SERVER_DEFAULTS, warmup: ['fast'] as EngineName[], ...definedOnly(opts) };
  const log = s.logger ?? rootLogger.child({ component: 'gpu-worker' });
  const engine = s.engine ?? realEngine;
  const instanceDir = await createInstanceDir(s.workDir ?? join(tmpdir(), 'bubblecast-gpu-worker'), log);
  const startedAt = Date.now();

  const scheduler = new JobScheduler({
    concurrency: s.concurrency,
    queueDepth: s.queueDepth,
    jobTimeoutMs: s.jobTimeoutMs,
    resultTtlMs: s.resultTtlMs,
    render: engine.renderOverlay,
    providerOf: async (name) => (await engine.engineStatus()).models.find((m) => m.engine === name && m.loaded)?.provider ?? null,
    logger: (jobId) => (s.logger ? s.logger.child({ jobId }) : jobLogger(jobId, 'gpu-worker')),
  });

  let warm: { state: 'starting' | 'ok' | 'error'; error?: string } = { state: 'starting' };
  let draining = false;
  const health = async (): Promise<HealthBody> => {
    const st = await engine.engineStatus();
    const loaded = st.models.filter((m) => m.loaded);
    const status = draining ? 'draining' : warm.state;
    return {
      status,
      ready: status === 'ok',
      version: VERSION,
      uptimeSec: Math.round((Date.now() - startedAt) / 1000),
      provider: loaded.some((m) => m.provider === 'cuda') ? 'cuda' : loaded.length ? 'cpu' : null,
      gpuName: st.gpuName,
      providersRequested: st.providersRequested,
      models: st.models.map(({ engine: e, model, loaded: l, provider }) => ({ engine: e, model, loaded: l, provider })),
      jobs: { ...scheduler.counts(), concurrency: s.concurrency, queueDepth: s.queueDepth },
      ...(warm.error ? { error: warm.error } : {}),
    };
  };

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
    warmupError: () => warm.error ?? null,
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

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(s.port, s.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://${connectHost(s.host)}:${port}`;
  log.info({ url, version: VERSION, concurrency: s.concurrency, queueDepth: s.queueDepth, workDir: instanceDir }, 'gpu worker listening');

  // Models load after listening so /health answers (and /ping says 204 "starting") while they do.
  void engine.warmup(s.warmup).then(
    async () => {
      warm = { state: 'ok' };
      const h = await health();
      log.info({ provider: h.provider, gpuName: h.gpuName, models: h.models }, 'models ready');
    },
    (e: unknown) => {
      warm = { state: 'error', error: (e as Error).message };
      log.error({ err: e }, 'model warm-up failed: jobs will fail until this is fixed');
    },
  );

  let closing: Promise<void> | null = null;
  const close = (reason = 'closed') =>
    (closing ??= (async () => {
      draining = true;
      log.info({ reason, graceMs: s.shutdownGraceMs, ...scheduler.counts() }, 'shutting down');
      await scheduler.drain(reason, s.shutdownGraceMs);
      await scheduler.dispose();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        // A download still streaming gets a moment, then every connection goes.
        setTimeout(() => server.closeAllConnections(), 1000).unref();
      });
      await rm(instanceDir, { recursive: true, force: true });
      log.info({ reason }, 'gpu worker stopped');
    })());

  return { url, port, workDir: instanceDir, close };
}

function connectHost(host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function readVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
    return process.env.BUBBLECAST_VERSION || pkg.version || 'unknown';
  } catch {
    return process.env.BUBBLECAST_VERSION || 'unknown';
  }
}
