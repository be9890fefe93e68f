import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import type { LookupAddress } from 'node:dns';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, rename, rm, stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { setTimeout as delay } from 'node:timers/promises';
import { isMediaError } from '../../common/errors.js';
import { probeMedia, type MediaInfo } from '../../common/ffmpeg.js';
import { logger as rootLogger, type Logger } from '../../common/logger.js';
import { DEFAULT_READINGS, type RendererReadings } from '../readings.js';
import type { RenderResponseData } from '../types.js';
import type { DownloadPolicy } from './asset-download.js';
import { ASSET_DEMUXERS } from './asset-formats.js';
import { declaredTooLarge, readCapped, saveCapped } from './body.js';
import { routeOf, takeCounted, takeFaultResponse, takeStall, type FaultResponse, type LocalFaults } from './faults.js';
import { DEFAULT_LIMITS, type LocalLimits } from './limits.js';
import { hostedAssetId } from './hosted-asset.js';
import { LocalRateLimiter, sendTooManyRequests, type LocalRateLimits, type RateLimitWindowStats } from './rate-limit.js';
import { addressMatcher, isPublicAddress } from '../../common/net/public-address.js';
import { assetSrcs, runRenderJob } from './render-job.js';
import { safeEqual } from './safe-equal.js';
import { LocalStore, type SourceRecord } from './store.js';
import { validateEdit, validationErrorBody } from './validation.js';

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

export interface RequestLogEntry {
  method: string;
  path: string;
  status: number;
  /** Whether the request carried an x-api-key header (the value is never recorded). */
  hadApiKey: boolean;
  contentLength?: string;
  transferEncoding?: string;
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

const OWNER = 'local';
export const DEFAULT_RETENTION_MS = 24 * 60 * 60_000;
const MAX_SWEEP_INTERVAL_MS = 10 * 60_000;

export async function startLocalShotstack(opts: LocalShotstackOptions = {}): Promise<LocalShotstack> {
  const log = (opts.logger ?? rootLogger).child({ component: 'local-shotstack' });
  const host = opts.host ?? '127.0.0.1';
  const ownsDataDir = !opts.dataDir;
  const dataDir = opts.dataDir ?? (await mkdtemp(join(tmpdir(), 'local-shotstack-')));
  const limits: LocalLimits = { ...DEFAULT_LIMITS, ...opts.limits };
  // A reading given as `undefined` is left out, not copied over its default.
  const emulated = Object.entries(opts.emulate ?? {}).filter(([, v]) => v !== undefined);
  const readings: RendererReadings = { ...DEFAULT_READINGS, ...Object.fromEntries(emulated) };
  const retentionMs = opts.retentionMs ?? DEFAULT_RETENTION_MS;
  const clock = opts.now ?? Date.now;
  const store = new LocalStore({ dataDir, retentionMs, now: clock });
  const leftovers = await store.open();
  const { sources, renders, rendersDir, workRoot } = store;
  const download = downloadPolicy(opts, limits);

  const signingKey = randomBytes(32);
  const faults: LocalFaults = opts.faults ?? {};
  const rateLimiter = opts.rateLimits ? new LocalRateLimiter(opts.rateLimits) : null;
  const requests: RequestLogEntry[] = [];
  const shutdown = new AbortController();
  // One render at a time: the machine has 2 cores and ffmpeg uses both.
  let renderQueue: Promise<void> = Promise.resolve();
  let publicUrl = '';
  const sweep = async () => {
    const removed = await store.sweepExpired();
    if (removed) log.info({ removed }, 'removed expired sources and renders');
  };
  const pending = new Set<Promise<unknown>>();
  const track = <T>(p: Promise<T>) => {
    pending.add(p);
    void p.finally(() => pending.delete(p)).catch(() => undefined);
    return p;
  };

  const now = () => new Date().toISOString();
  const sign = (id: string, expires: number) => createHmac('sha256', signingKey).update(`${id}:${expires}`).digest('hex');

  function authorised(req: IncomingMessage): boolean {
    if (!opts.apiKey) return true;
    const given = req.headers['x-api-key'];
    return typeof given === 'string' && safeEqual(given, opts.apiKey);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://local');
    const path = url.pathname;
    const method = req.method ?? 'GET';
    const route = routeOf(path);
    const entry: RequestLogEntry = {
      method,
      path,
      status: 0,
      hadApiKey: req.headers['x-api-key'] !== undefined,
      contentLength: req.headers['content-length'],
      transferEncoding: req.headers['transfer-encoding'],
    };
    requests.push(entry);
    res.on('finish', () => (entry.status = res.statusCode));

    if (route !== 'assets' && route !== null && faults.latencyMs) await delay(faults.latencyMs);
    const stallMs = takeStall(faults, route);
    if (stallMs) await delay(stallMs);
    const fault = takeFaultResponse(faults, method, route);
    if (fault) return sendFault(req, res, fault);

    let m: RegExpMatchArray | null;
    if (method === 'GET' && path === '/') return sendJson(res, 200, { name: 'bubblecast local Shotstack renderer', ok: true });

    if ((m = path.match(/^\/(edit|ingest|serve)\/([^/]+)(\/.*)$/))) {
      const [, api, env, rest] = m as unknown as [string, string, string, string];
      if (env !== 'stage' && env !== 'v1') return sendJson(res, 404, { message: 'Not Found' });
      if (!authorised(req)) {
        await drain(req);
        return sendJson(res, 403, { message: 'Forbidden' });
      }
      // Like Shotstack's gateway: a known key first (403), then its rate limit (429).
      if (rateLimiter && !rateLimiter.admit(req.headers['x-api-key'] as string | undefined, api as 'edit' | 'ingest' | 'serve')) {
        await drain(req);
        return sendTooManyRequests(res);
      }
      if (api === 'edit') {
        if (method === 'POST' && rest === '/render') return submitRender(req, res);
        // Shotstack still includes the Edit (`data`) unless asked not to (a deprecated default it plans to flip).
        if (method === 'GET' && (m = rest.match(/^\/render\/([^/]+)$/))) return getRender(res, m[1]!, url.searchParams.get('data') !== 'false');
      } else if (api === 'serve') {
        if (method === 'GET' && (m = rest.match(/^\/assets\/render\/([^/]+)$/))) return getHostedAssets(res, m[1]!);
        if (method === 'DELETE' && (m = rest.match(/^\/assets\/([^/]+)$/))) return deleteHostedAsset(res, m[1]!);
      } else {
        if (method === 'POST' && rest === '/upload') return createUpload(req, res, env);
        if (method === 'GET' && (m = rest.match(/^\/sources\/([^/]+)$/))) return getSource(res, m[1]!);
        if (method === 'DELETE' && (m = rest.match(/^\/sources\/([^/]+)$/))) return deleteSource(res, m[1]!);
      }
      return sendJson(res, 404, { success: false, message: 'Not Found', response: `No route for ${method} ${path}` });
    }
    if (method === 'PUT' && (m = path.match(/^\/upload\/([^/]+)$/))) return receiveUpload(req, res, m[1]!, url);
    if (method === 'GET' && (m = path.match(/^\/assets\/sources\/([^/]+)\/([^/]+)$/))) {
      const source = sources.get(m[1]!);
      if (!source?.file || source.fileName !== m[2]) return sendJson(res, 404, { message: 'Not Found' });
      return sendFile(res, source.file);
    }
    if (method === 'GET' && (m = path.match(/^\/assets\/renders\/([0-9a-f-]+)\.mp4$/))) {
      const render = renders.get(m[1]!);
      if (render?.data.status !== 'done') return sendJson(res, 404, { message: 'Not Found' });
      return sendFile(res, store.renderFile(m[1]!));
    }
    await drain(req);
    return sendJson(res, 404, { message: 'Not Found' });
  }

  async function submitRender(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = declaredTooLarge(req, limits.maxEditBytes) ? null : await readCapped(req, limits.maxEditBytes);
    if (!raw) {
      const detail = { message: `"body" must be at most ${limits.maxEditBytes} bytes`, path: [], type: 'local.limit' };
      // The rest of the body is left unread: closing the connection is cheaper than draining it.
      return sendJson(res, 400, validationErrorBody([detail]), { connection: 'close' });
    }
    let body: unknown;
    try {
      body = JSON.parse(raw.toString('utf8'));
    } catch (e) {
      return sendJson(res, 400, validationErrorBody([{ message: `"body" ${(e as Error).message}`, path: [], type: 'body.invalid' }]));
    }
    const check = validateEdit(body, limits);
    if (!check.ok) return sendJson(res, 400, validationErrorBody(check.details));
    const id = randomUUID();
    const record: RenderResponseData = { id, owner: OWNER, plan: 'local', status: 'queued', created: now(), data: check.edit };
    renders.set(id, { data: record, sourceIds: store.ownSourceIds(assetSrcs(check.edit)) });
    const injectedFailure = takeCounted(faults.failRenders)?.message;
    const hold = async () => {
      if (faults.statusHoldMs) await delay(faults.statusHoldMs);
    };
    const execute = async () => {
      const started = Date.now();
      await hold();
      try {
        const result = await runRenderJob({
          id,
          edit: check.edit,
          workDir: join(workRoot, id),
          rendersDir,
          readings,
          assetTimeoutMs: opts.assetTimeoutMs ?? 5 * 60_000,
          renderTimeoutMs: opts.renderTimeoutMs ?? 30 * 60_000,
          download,
          ownFile: (src) => store.ownFile(src),
          limits,
          signal: shutdown.signal,
          log,
          injectedFailure,
          setStatus: async (status) => {
            record.status = status;
            await hold();
          },
        });
        Object.assign(record, {
          status: 'done',
          url: `${publicUrl}/assets/renders/${id}.mp4`,
          duration: Math.round(result.durationSec * 100) / 100,
          renderTime: Date.now() - started,
        });
        log.info({ renderId: id, ms: Date.now() - started }, 'local render done');
      } catch (e) {
        record.status = 'failed';
        record.error = (e as Error).message;
        log.warn({ renderId: id, err: (e as Error).message }, 'local render failed');
      }
      store.markEnded(id);
    };
    renderQueue = track(renderQueue.then(execute));
    sendJson(res, 201, { success: true, message: 'Created', response: { message: 'Render Successfully Queued', id } });
  }

  function getRender(res: ServerResponse, id: string, withEdit: boolean): void {
    const record = renders.get(id)?.data;
    if (!record) return sendJson(res, 404, { success: false, message: 'Not Found', response: `Render ${id} not found` });
    const { data, ...status } = record;
    sendJson(res, 200, { success: true, message: 'OK', response: { ...status, ...(withEdit ? { data } : {}), updated: now() } });
  }

  function getHostedAssets(res: ServerResponse, renderId: string): void {
    const record = renders.get(renderId)?.data;
    if (record?.status !== 'done') return sendJson(res, 404, { message: 'Not Found' });
    const attributes = {
      id: hostedAssetId(renderId),
      owner: OWNER,
      region: 'local',
      renderId,
      filename: `${renderId}.mp4`,
      url: record.url,
      status: 'ready',
      created: record.created,
      updated: now(),
    };
    sendJson(res, 200, { data: [{ type: 'asset', attributes }] });
  }

  /** Serve API `DELETE /assets/{id}`: here the hosted copy is the render's only file, so the render goes with it. */
  async function deleteHostedAsset(res: ServerResponse, assetId: string): Promise<void> {
    const renderId = [...renders.keys()].find((id) => renders.get(id)?.data.status === 'done' && hostedAssetId(id) === assetId);
    if (!renderId) return sendJson(res, 404, { message: 'Not Found' });
    await store.removeRender(renderId);
    res.writeHead(204).end();
  }

  /** Ingest API `DELETE /sources/{id}`: the file and the record. */
  async function deleteSource(res: ServerResponse, id: string): Promise<void> {
    if (!sources.has(id)) return sendJson(res, 404, { errors: [{ status: '404', title: 'Not Found', detail: `Source ${id} not found` }] });
    await store.removeSource(id);
    res.writeHead(204).end();
  }

  function createUpload(req: IncomingMessage, res: ServerResponse, env: string): void {
    void drain(req);
    const id = randomUUID();
    const expires = Date.now() + (opts.uploadUrlTtlMs ?? 60 * 60_000);
    sources.set(id, { attributes: { id, owner: OWNER, status: 'queued', created: now(), updated: now() }, createdMs: clock() });
    const signed = `${publicUrl}/upload/${id}?expires=${expires}&signature=${sign(id, expires)}`;
    log.debug({ sourceId: id, env }, 'upload slot created');
    sendJson(res, 200, { data: { type: 'upload', id, attributes: { id, url: signed, expires: new Date(expires).toISOString() } } });
  }

  function getSource(res: ServerResponse, id: string): void {
    const source = sources.get(id);
    if (!source) return sendJson(res, 404, { errors: [{ status: '404', title: 'Not Found', detail: `Source ${id} not found` }] });
    sendJson(res, 200, { data: { type: 'source', id, attributes: source.attributes } });
  }

  async function receiveUpload(req: IncomingMessage, res: ServerResponse, id: string, url: URL): Promise<void> {
    const source = sources.get(id);
    const expires = Number(url.searchParams.get('expires'));
    const signature = url.searchParams.get('signature') ?? '';
    const valid = source && Number.isFinite(expires) && safeEqual(signature, sign(id, expires));
    if (!valid || Date.now() > expires) {
      await drain(req);
      res.writeHead(403, { 'content-type': 'application/xml' });
      res.end(`<Error><Code>AccessDenied</Code><Message>${valid ? 'Request has expired' : 'Signature does not match'}</Message></Error>`);
      return;
    }
    if (declaredTooLarge(req, limits.maxUploadBytes)) return refuseTooLarge(res);
    const dir = store.sourceDir(id);
    await mkdir(dir, { recursive: true });
    const partial = join(dir, 'upload.part');
    const size = await saveCapped(req, partial, limits.maxUploadBytes);
    if (size === null) {
      await rm(dir, { recursive: true, force: true });
      return refuseTooLarge(res);
    }
    const declared = Number(req.headers['content-length'] ?? NaN);
    if (Number.isFinite(declared) && declared !== size) {
      return sendXml(res, 400, `<Error><Code>IncompleteBody</Code><Message>Got ${size} of ${declared} bytes</Message></Error>`);
    }
    res.writeHead(200, { etag: `"${id}"` });
    res.end();
    track(importSource(source, partial, size));
  }

  /** S3's answer to an upload over its size limit; the connection is closed rather than the rest read. */
  function refuseTooLarge(res: ServerResponse): void {
    const xml = `<Error><Code>EntityTooLarge</Code><Message>Your proposed upload exceeds the maximum allowed size</Message><MaxSizeAllowed>${limits.maxUploadBytes}</MaxSizeAllowed></Error>`;
    sendXml(res, 400, xml, { connection: 'close' });
  }

  /** What Shotstack does after an upload: inspect the file, store it under a public URL, mark it ready. */
  async function importSource(source: SourceRecord, partial: string, size: number): Promise<void> {
    const a = source.attributes;
    Object.assign(a, { status: 'importing', updated: now() });
    const injected = takeCounted(faults.failIngests);
    let media: MediaInfo | null = null;
    let failed = size === 0;
    try {
      // Through the same gate as render assets: a source is only ever useful as one.
      media = await probeMedia(partial, { demuxers: ASSET_DEMUXERS, maxBytes: limits.maxUploadBytes });
    } catch (e) {
      // Audio-only files (in an allowed container) are fine sources; files the gate refuses are not.
      if (!isMediaError(e) || e.code !== 'no_video_stream') failed = true;
    }
    if (failed || injected) {
      // Nothing will ever read a failed upload: keep the record (its status), not the bytes.
      await rm(store.sourceDir(a.id), { recursive: true, force: true });
      Object.assign(a, { status: injected?.status ?? 'failed', updated: now() });
      return;
    }
    const fileName = `source.${extensionOf(media)}`;
    const file = join(store.sourceDir(a.id), fileName);
    await rename(partial, file);
    source.file = file;
    source.fileName = fileName;
    Object.assign(a, {
      status: 'ready',
      source: `${publicUrl}/assets/sources/${a.id}/${fileName}`,
      ...(media?.video ? { width: media.video.width, height: media.video.height, fps: Math.round(media.video.fps * 1000) / 1000 } : {}),
      ...(media ? { duration: Math.round(media.durationSec * 1000) / 1000 } : {}),
      updated: now(),
    });
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      log.error({ err: (e as Error).message }, 'local shotstack request failed');
      if (!res.headersSent) sendJson(res, 500, { success: false, message: 'Internal Server Error', response: (e as Error).message });
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  publicUrl = (opts.publicUrl ?? `http://${host}:${port}`).replace(/\/+$/, '');
  store.publicUrl = publicUrl;
  await store.removeLeftovers(leftovers);
  if (leftovers.length) log.info({ dataDir, removed: leftovers.length }, 'removed files a previous local renderer left behind');
  const sweepTimer = setInterval(
    () => void sweep().catch((e: unknown) => log.warn({ err: (e as Error).message }, 'retention sweep failed')),
    opts.sweepIntervalMs ?? Math.max(1000, Math.min(MAX_SWEEP_INTERVAL_MS, retentionMs / 2)),
  );
  // The sweep must not keep a process (a test, a CLI run) alive on its own.
  sweepTimer.unref();
  log.info({ url: publicUrl, dataDir }, 'local Shotstack renderer listening');

  return {
    url: publicUrl,
    port,
    dataDir,
    faults,
    requests,
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

function extensionOf(media: MediaInfo | null): string {
  if (!media) return 'bin';
  const format = media.formatName;
  if (format.includes('webm') || format.includes('matroska')) return 'webm';
  if (format.includes('mov') || format.includes('mp4')) {
    return media.video && ['qtrle', 'prores', 'png'].includes(media.video.codec) ? 'mov' : 'mp4';
  }
  if (format.includes('png_pipe')) return 'png';
  if (format.includes('jpeg_pipe')) return 'jpg';
  if (format.includes('webp_pipe')) return 'webp';
  return 'bin';
}

const CONTENT_TYPES: Record<string, string> = {
  mp4: 'video/mp4',
  mov: 'video/quicktime',
  webm: 'video/webm',
  png: 'image/png',
  jpg: 'image/jpeg',
  webp: 'image/webp',
};

async function sendFile(res: ServerResponse, file: string): Promise<void> {
  const { size } = await stat(file);
  const ext = file.slice(file.lastIndexOf('.') + 1);
  res.writeHead(200, { 'content-type': CONTENT_TYPES[ext] ?? 'application/octet-stream', 'content-length': String(size) });
  await pipeline(createReadStream(file), res);
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)), ...headers });
  res.end(text);
}

function sendXml(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/xml', ...headers });
  res.end(body);
}

async function sendFault(req: IncomingMessage, res: ServerResponse, fault: FaultResponse): Promise<void> {
  // Read the request first: answering while a client still streams its body makes it see a reset, not a status.
  await drain(req);
  const headers: Record<string, string> = fault.retryAfterSec !== undefined ? { 'retry-after': String(fault.retryAfterSec) } : {};
  const message = fault.message ?? (fault.status === 429 ? 'Too Many Requests' : fault.status >= 500 ? 'Internal Server Error' : 'Error');
  const body = fault.status === 429 || fault.status === 403 ? { message } : { success: false, message, response: message };
  sendJson(res, fault.status, body, headers);
}

async function drain(req: IncomingMessage): Promise<void> {
  if (req.readableEnded) return;
  req.resume();
  await new Promise<void>((resolve) => {
    req.once('end', resolve);
    req.once('error', () => resolve());
    req.once('close', resolve);
  });
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
