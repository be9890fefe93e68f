import { createHmac, randomBytes } from 'node:crypto';
import type { LookupAddress } from 'node:dns';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { logger as rootLogger, type Logger } from '../../common/logger.js';
import { addressMatcher, isPublicAddress } from '../../common/net/public-address.js';
import { DEFAULT_READINGS, type RendererReadings } from '../readings.js';
import type { DownloadPolicy } from './asset-download.js';
import type { LocalContext, RequestLogEntry } from './context.js';
import type { LocalFaults } from './faults.js';
import { sendJson } from './http.js';
import { DEFAULT_LIMITS, type LocalLimits } from './limits.js';
import { LocalRateLimiter, type LocalRateLimits, type RateLimitWindowStats } from './rate-limit.js';
import { RenderQueue } from './render-queue.js';
import { handleRequest } from './routes/router.js';
import { LocalStore } from './store.js';

export type { RequestLogEntry } from './context.js';

/**
 * A local, Shotstack-compatible renderer: exactly the endpoints our client uses, answered with the shapes of
 * the real service, rendering with ffmpeg. It is the default target when no SHOTSTACK_API_KEY is set and the
 * real HTTP peer of the client's tests.
 *
 *   POST /ingest/{env}/upload            → signed upload URL (PUT /upload/{id}?expires&signature, no API key)
 *   GET  /ingest/{env}/sources/{id}      → queued → importing → ready (attributes.source = served URL)
 *   POST /edit/{env}/render              → 201 {response: {id}}, or 400 ValidationError details
 *   GET  /edit/{env}/render/{id}         → queued → fetching → rendering → saving → done | failed
 *   GET  /serve/{env}/assets/render/{id} → the hosted copy of a finished render (Serve API)
 *   DELETE /ingest/{env}/sources/{id}, DELETE /serve/{env}/assets/{assetId} → 204 (404 when unknown)
 *   GET  /assets/sources/{id}/{file}, /assets/renders/{id}.mp4 → the files
 *
 * Whoever can reach it chooses the Edits it renders and the files it stores, so it defends itself: assets come
 * from its own store or from public http(s) addresses only, every redirect hop checked (asset-download.ts);
 * every file is opened through the media gate (asset-formats.ts); bodies, uploads, downloads and timelines are
 * capped (limits.ts); signatures and keys are compared in constant time (safe-equal.ts); files are removed
 * after a retention period, at start-up and on request (store.ts).
 *
 * The code: this file wires one instance (options → LocalContext, the HTTP server, the retention sweep, close);
 * routes/router.ts answers each request (request log, faults, the API gateway's checks, the route tables of
 * routes/edit.ts, ingest.ts, serve.ts and files.ts); render-queue.ts runs the submitted renders one at a time
 * through render-job.ts.
 */
export interface LocalShotstackOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  host?: string;
  /** Base URL put into source and render URLs; default http://{host}:{port}. */
  publicUrl?: string;
  /** Where sources, renders and work files live; default a temp dir removed on close. */
  dataDir?: string;
  /** When set, the API routes require this `x-api-key` (403 otherwise, like Shotstack's gateway). */
  apiKey?: string;
  faults?: LocalFaults;
  /** Emulates Shotstack's per-key rate limits (429 over the limit, see rate-limit.ts); default off. */
  rateLimits?: LocalRateLimits;
  /**
   * The readings of the service to emulate where Shotstack's docs are open (luma polarity and geometry, the base
   * of `scale`, alpha WebM/MOV; shotstack/readings.ts). Readings left out are DEFAULT_READINGS.
   */
  emulate?: Partial<RendererReadings>;
  assetTimeoutMs?: number;
  renderTimeoutMs?: number;
  /** Lifetime of signed upload URLs (Shotstack: 1 h). */
  uploadUrlTtlMs?: number;
  /** Caps on bodies, uploads, asset downloads and timelines; each one defaults to DEFAULT_LIMITS (limits.ts). */
  limits?: Partial<LocalLimits>;
  /**
   * Addresses or CIDR ranges (`127.0.0.1`, `10.0.0.0/8`) render assets may be downloaded from although they are
   * not public. For tests that serve assets on loopback; default none: assets come from public addresses only.
   * (This renderer's own URLs are always read from its store, not downloaded.)
   */
  assetAddressAllowList?: readonly string[];
  /** Test seam: resolves asset host names to every address (default dns.lookup with all: true). */
  resolveAssetHost?: (host: string) => Promise<LookupAddress[]>;
  /** How long sources and renders are kept (default 24 h, the lifetime of Shotstack's render URLs). */
  retentionMs?: number;
  /** How often expired files are swept (default 10 min, or retentionMs / 2 when shorter). */
  sweepIntervalMs?: number;
  /** Test seam: the clock retention reads (epoch ms; default Date.now). */
  now?: () => number;
  logger?: Logger;
}

export interface LocalShotstack {
  url: string;
  port: number;
  dataDir: string;
  /** Live fault settings; change them between calls, or use injectFaults/clearFaults. */
  faults: LocalFaults;
  injectFaults(faults: LocalFaults): void;
  clearFaults(): void;
  /** Every request received, in order (for asserting retries, headers, the key-less PUT). */
  requests: RequestLogEntry[];
  /**
   * Deletes an ended render (file and record) and the ingested sources its Edit used, at once. For the
   * in-process user (the pipeline without a Shotstack key) right after it has downloaded the result.
   */
  discardRender(renderId: string): Promise<void>;
  /** Removes expired sources and renders now (it also runs every sweepIntervalMs). */
  sweepExpired(): Promise<void>;
  /** What the rate limiter counted per (key, API, window); empty without `rateLimits`. */
  rateLimitWindows(): RateLimitWindowStats[];
  close(): Promise<void>;
}

export const DEFAULT_RETENTION_MS = 24 * 60 * 60_000;
const MAX_SWEEP_INTERVAL_MS = 10 * 60_000;

export async function startLocalShotstack(opts: LocalShotstackOptions = {}): Promise<LocalShotstack> {
  const log = (opts.logger ?? rootLogger).child({ component: 'local-shotstack' });
  const host = opts.host ?? '127.0.0.1';
  const ownsDataDir = !opts.dataDir;
  const dataDir = opts.dataDir ?? (await mkdtemp(join(tmpdir(), 'local-shotstack-')));
  const retentionMs = opts.retentionMs ?? DEFAULT_RETENTION_MS;
  const store = new LocalStore({ dataDir, retentionMs, now: opts.now ?? Date.now });
  const leftovers = await store.open();
  const pending = new Set<Promise<unknown>>();
  const shutdown = new AbortController();
  const ctx = createContext(opts, { store, log, pending, signal: shutdown.signal });

  const server = createServer((req, res) => {
    handleRequest(ctx, req, res).catch((e: unknown) => {
      log.error({ err: (e as Error).message }, 'local shotstack request failed');
      if (!res.headersSent) sendJson(res, 500, { success: false, message: 'Internal Server Error', response: (e as Error).message });
      else res.destroy();
    });
  });
  const port = await listen(server, opts.port ?? 0, host);
  const publicUrl = (opts.publicUrl ?? `http://${host}:${port}`).replace(/\/+$/, '');
  ctx.publicUrl = publicUrl;
  store.publicUrl = publicUrl;
  await store.removeLeftovers(leftovers);
  if (leftovers.length) log.info({ dataDir, removed: leftovers.length }, 'removed files a previous local renderer left behind');
  const sweep = async () => {
    const removed = await store.sweepExpired();
    if (removed) log.info({ removed }, 'removed expired sources and renders');
  };
  const sweepTimer = setInterval(
    () => void sweep().catch((e: unknown) => log.warn({ err: (e as Error).message }, 'retention sweep failed')),
    opts.sweepIntervalMs ?? Math.max(1000, Math.min(MAX_SWEEP_INTERVAL_MS, retentionMs / 2)),
  );
  // The sweep must not keep a process (a test, a CLI run) alive on its own.
  sweepTimer.unref();
  log.info({ url: publicUrl, dataDir }, 'local Shotstack renderer listening');

  const { faults, rateLimiter } = ctx;
  return {
    url: publicUrl,
    port,
    dataDir,
    faults,
    requests: ctx.requests,
    injectFaults(f: LocalFaults) {
      Object.assign(faults, f);
    },
    clearFaults() {
      for (const k of Object.keys(faults)) delete faults[k as keyof LocalFaults];
    },
    discardRender: (renderId) => store.discardRender(renderId),
    sweepExpired: sweep,
    rateLimitWindows: () => rateLimiter?.stats() ?? [],
    async close() {
      clearInterval(sweepTimer);
      shutdown.abort();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await Promise.allSettled([...pending]);
      if (ownsDataDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
}

interface InstanceParts {
  store: LocalStore;
  log: Logger;
  /** Background work (imports, renders) close() waits for. */
  pending: Set<Promise<unknown>>;
  /** Aborted on close. */
  signal: AbortSignal;
}

/** Everything the routes and the render queue read, from the options and their defaults. */
function createContext(opts: LocalShotstackOptions, { store, log, pending, signal }: InstanceParts): LocalContext {
  const limits: LocalLimits = { ...DEFAULT_LIMITS, ...opts.limits };
  // A reading given as `undefined` is left out, not copied over its default.
  const emulated = Object.entries(opts.emulate ?? {}).filter(([, v]) => v !== undefined);
  const readings: RendererReadings = { ...DEFAULT_READINGS, ...Object.fromEntries(emulated) };
  const signingKey = randomBytes(32);
  const faults: LocalFaults = opts.faults ?? {};
  const track = <T>(p: Promise<T>) => {
    pending.add(p);
    void p.finally(() => pending.delete(p)).catch(() => undefined);
    return p;
  };
  const ctx: LocalContext = {
    store,
    limits,
    faults,
    log,
    apiKey: opts.apiKey,
    rateLimiter: opts.rateLimits ? new LocalRateLimiter(opts.rateLimits) : null,
    requests: [],
    renderQueue: new RenderQueue({
      store,
      readings,
      limits,
      download: downloadPolicy(opts, limits),
      faults,
      assetTimeoutMs: opts.assetTimeoutMs ?? 5 * 60_000,
      renderTimeoutMs: opts.renderTimeoutMs ?? 30 * 60_000,
      signal,
      publicUrl: () => ctx.publicUrl,
      track,
      log,
    }),
    uploadUrlTtlMs: opts.uploadUrlTtlMs ?? 60 * 60_000,
    clock: opts.now ?? Date.now,
    publicUrl: '',
    sign: (id, expires) => createHmac('sha256', signingKey).update(`${id}:${expires}`).digest('hex'),
    track,
  };
  return ctx;
}

/** Listens on `port` (0: a free one) and returns the port taken. */
async function listen(server: Server, port: number, host: string): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return (server.address() as AddressInfo).port;
}

/** Public addresses only, unless a test allow-lists some; see asset-download.ts. */
function downloadPolicy(opts: LocalShotstackOptions, limits: LocalLimits): DownloadPolicy {
  const allowListed = addressMatcher(opts.assetAddressAllowList ?? []);
  return {
    maxBytes: limits.maxAssetBytes,
    maxRedirects: limits.maxRedirects,
    addressAllowed: (ip) => isPublicAddress(ip) || allowListed(ip),
    ...(opts.resolveAssetHost ? { resolveHost: opts.resolveAssetHost } : {}),
  };
}
