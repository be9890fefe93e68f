import { createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
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
import type { LumaPolarity, RenderResponseData, SourceResponseAttributes } from '../types.js';
import { routeOf, takeCounted, takeFaultResponse, takeStall, type FaultResponse, type LocalFaults } from './faults.js';
import { runRenderJob } from './render-job.js';
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
 *   GET  /assets/sources/{id}/{file}, /assets/renders/{id}.mp4 → the files
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
  /** How this renderer reads luma mattes (the real service's polarity is unverified; see shotstack:check). */
  lumaPolarity?: LumaPolarity;
  assetTimeoutMs?: number;
  renderTimeoutMs?: number;
  /** Lifetime of signed upload URLs (Shotstack: 1 h). */
  uploadUrlTtlMs?: number;
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
  close(): Promise<void>;
}

interface SourceRecord {
  attributes: SourceResponseAttributes;
  file?: string;
  fileName?: string;
}

const MAX_EDIT_BYTES = 5 * 1024 * 1024;
const OWNER = 'local';

export async function startLocalShotstack(opts: LocalShotstackOptions = {}): Promise<LocalShotstack> {
  const log = (opts.logger ?? rootLogger).child({ component: 'local-shotstack' });
  const host = opts.host ?? '127.0.0.1';
  const ownsDataDir = !opts.dataDir;
  const dataDir = opts.dataDir ?? (await mkdtemp(join(tmpdir(), 'local-shotstack-')));
  const sourcesDir = join(dataDir, 'sources');
  const rendersDir = join(dataDir, 'renders');
  const workRoot = join(dataDir, 'work');
  await Promise.all([sourcesDir, rendersDir, workRoot].map((d) => mkdir(d, { recursive: true })));

  const signingKey = randomBytes(32);
  const faults: LocalFaults = opts.faults ?? {};
  const sources = new Map<string, SourceRecord>();
  const renders = new Map<string, RenderResponseData>();
  const requests: RequestLogEntry[] = [];
  const shutdown = new AbortController();
  // One render at a time: the machine has 2 cores and ffmpeg uses both.
  let renderQueue: Promise<void> = Promise.resolve();
  let publicUrl = '';
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
    if (typeof given !== 'string') return false;
    const a = Buffer.from(given);
    const b = Buffer.from(opts.apiKey);
    return a.length === b.length && timingSafeEqual(a, b);
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
      if (api === 'edit') {
        if (method === 'POST' && rest === '/render') return submitRender(req, res);
        if (method === 'GET' && (m = rest.match(/^\/render\/([^/]+)$/))) return getRender(res, m[1]!);
      } else if (api === 'serve') {
        if (method === 'GET' && (m = rest.match(/^\/assets\/render\/([^/]+)$/))) return getHostedAssets(res, m[1]!);
      } else {
        if (method === 'POST' && rest === '/upload') return createUpload(req, res, env);
        if (method === 'GET' && (m = rest.match(/^\/sources\/([^/]+)$/))) return getSource(res, m[1]!);
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
      if (render?.status !== 'done') return sendJson(res, 404, { message: 'Not Found' });
      return sendFile(res, join(rendersDir, `${m[1]}.mp4`));
    }
    await drain(req);
    return sendJson(res, 404, { message: 'Not Found' });
  }

  async function submitRender(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let body: unknown;
    try {
      body = JSON.parse((await readBody(req, MAX_EDIT_BYTES)).toString('utf8'));
    } catch (e) {
      return sendJson(res, 400, validationErrorBody([{ message: `"body" ${(e as Error).message}`, path: [], type: 'body.invalid' }]));
    }
    const check = validateEdit(body);
    if (!check.ok) return sendJson(res, 400, validationErrorBody(check.details));
    const id = randomUUID();
    const record: RenderResponseData = { id, owner: OWNER, plan: 'local', status: 'queued', created: now() };
    renders.set(id, record);
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
          lumaPolarity: opts.lumaPolarity ?? 'white-visible',
          assetTimeoutMs: opts.assetTimeoutMs ?? 5 * 60_000,
          renderTimeoutMs: opts.renderTimeoutMs ?? 30 * 60_000,
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
    };
    renderQueue = track(renderQueue.then(execute));
    sendJson(res, 201, { success: true, message: 'Created', response: { message: 'Render Successfully Queued', id } });
  }

  function getRender(res: ServerResponse, id: string): void {
    const record = renders.get(id);
    if (!record) return sendJson(res, 404, { success: false, message: 'Not Found', response: `Render ${id} not found` });
    sendJson(res, 200, { success: true, message: 'OK', response: { ...record, updated: now() } });
  }

  function getHostedAssets(res: ServerResponse, renderId: string): void {
    const record = renders.get(renderId);
    if (record?.status !== 'done') return sendJson(res, 404, { message: 'Not Found' });
    const attributes = {
      id: renderId,
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

  function createUpload(req: IncomingMessage, res: ServerResponse, env: string): void {
    void drain(req);
    const id = randomUUID();
    const expires = Date.now() + (opts.uploadUrlTtlMs ?? 60 * 60_000);
    sources.set(id, { attributes: { id, owner: OWNER, status: 'queued', created: now(), updated: now() } });
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
    const valid = source && Number.isFinite(expires) && signature === sign(id, expires);
    if (!valid || Date.now() > expires) {
      await drain(req);
      res.writeHead(403, { 'content-type': 'application/xml' });
      res.end(`<Error><Code>AccessDenied</Code><Message>${valid ? 'Request has expired' : 'Signature does not match'}</Message></Error>`);
      return;
    }
    const dir = join(sourcesDir, id);
    await mkdir(dir, { recursive: true });
    const partial = join(dir, 'upload.part');
    await pipeline(req, createWriteStream(partial));
    const size = (await stat(partial)).size;
    const declared = Number(req.headers['content-length'] ?? NaN);
    if (Number.isFinite(declared) && declared !== size) {
      return sendXml(res, 400, `<Error><Code>IncompleteBody</Code><Message>Got ${size} of ${declared} bytes</Message></Error>`);
    }
    res.writeHead(200, { etag: `"${id}"` });
    res.end();
    track(importSource(source, partial, size));
  }

  /** What Shotstack does after an upload: inspect the file, store it under a public URL, mark it ready. */
  async function importSource(source: SourceRecord, partial: string, size: number): Promise<void> {
    const a = source.attributes;
    Object.assign(a, { status: 'importing', updated: now() });
    const injected = takeCounted(faults.failIngests);
    let media: MediaInfo | null = null;
    let failed = size === 0;
    try {
      media = await probeMedia(partial);
    } catch (e) {
      // Audio-only files are fine sources; files ffmpeg cannot read at all are not.
      if (!isMediaError(e) || e.code !== 'no_video_stream') failed = true;
    }
    if (failed || injected) {
      Object.assign(a, { status: injected?.status ?? 'failed', updated: now() });
      return;
    }
    const fileName = `source.${extensionOf(media)}`;
    const file = join(sourcesDir, a.id, fileName);
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
    async close() {
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
  if (format.includes('mp3')) return 'mp3';
  if (format.includes('image2') || format.includes('png_pipe')) return 'png';
  return 'bin';
}

const CONTENT_TYPES: Record<string, string> = {
  mp4: 'video/mp4',
  mov: 'video/quicktime',
  webm: 'video/webm',
  mp3: 'audio/mpeg',
  png: 'image/png',
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

function sendXml(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': 'application/xml' });
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

async function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) throw new Error(`must be at most ${maxBytes} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}
