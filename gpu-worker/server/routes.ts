import { randomUUID } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { ZodError } from 'zod';
import { isMediaError } from '../../common/errors.js';
import { probeMedia } from '../../common/ffmpeg.js';
import { MIN_DURATION_SEC } from '../../common/media-gate.js';
import type { Logger } from '../../common/logger.js';
import { parseOverlayOptions, type OverlayOptions } from '../../engine/index.js';
import { API_PREFIX, OPTIONS_HEADER, type HealthBody, type SubmitAccepted, type UrlSubmission } from './api.js';
import { expectsContinue, HttpError, readJsonBody, sendError, sendJson } from './http-util.js';
import { receiveUpload } from './input.js';
import { checkInputUrl, fetchInput, type InputUrlPolicy } from './input-url.js';
import type { JobScheduler } from './jobs.js';
import { sendFile } from './result-file.js';

/** What the request handlers need from the running server. */
export interface WorkerContext {
  scheduler: JobScheduler;
  /** Per-process folder holding one sub-folder per job. */
  instanceDir: string;
  isAuthorized: (headers: IncomingMessage['headers']) => boolean;
  maxBodyBytes: number;
  fetchTimeoutMs: number;
  /** How `input.url` submissions are checked; null = refused (the default: GPU_WORKER_URL_INPUT). */
  inputUrl: InputUrlPolicy | null;
  concurrency: number;
  queueDepth: number;
  health: () => Promise<HealthBody>;
  /** Why the models could not be loaded, or null: a worker without models refuses jobs instead of failing each. */
  warmupError: () => string | null;
  log: Logger;
}

const JOBS_ROUTE = new RegExp(`^${API_PREFIX}/jobs(?:/([A-Za-z0-9-]+)(?:/result/([A-Za-z0-9._-]+))?)?/?$`);
/** `GET /v1/jobs/:id?waitMs=N` holds the answer until the job ends, at most this long (well under host caps). */
const MAX_LONG_POLL_MS = 25_000;
/** A URL submission is a tiny JSON document; anything bigger is a mistake. */
const MAX_JSON_BODY = 64 * 1024;

export function createRequestHandler(ctx: WorkerContext): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const started = performance.now();
    route(ctx, req, res)
      .catch((e: unknown) => sendError(req, res, toHttpError(e, ctx.log)))
      .finally(() => {
        const level = req.method === 'GET' && res.statusCode < 400 ? 'debug' : 'info';
        ctx.log[level](
          { method: req.method, path: req.url?.split('?')[0], status: res.statusCode, ms: Math.round(performance.now() - started) },
          'request',
        );
      });
  };
}

async function route(ctx: WorkerContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const { pathname, searchParams } = new URL(req.url ?? '/', 'http://worker');
  const method = req.method ?? 'GET';
  if (pathname === '/health' || pathname === '/ping') {
    if (method !== 'GET' && method !== 'HEAD') throw methodNotAllowed('GET');
    return health(ctx, req, res, pathname === '/ping');
  }
  // Everything else needs the token, checked before the path so that 401 is the only answer a stranger gets.
  if (!ctx.isAuthorized(req.headers)) {
    throw new HttpError(401, 'unauthorized', 'A valid bearer token is required.', {
      headers: { 'www-authenticate': 'Bearer' },
    });
  }
  if (pathname === '/ready') {
    const h = await ctx.health();
    return sendJson(req, res, h.ready ? 200 : 503, { ready: h.ready, status: h.status });
  }
  const m = JOBS_ROUTE.exec(pathname);
  if (!m) throw new HttpError(404, 'not_found', `No route ${pathname}.`);
  const [, id, fileName] = m;
  if (!id) {
    if (method !== 'POST') throw methodNotAllowed('POST');
    return submit(ctx, req, res);
  }
  if (fileName) {
    if (method !== 'GET' && method !== 'HEAD') throw methodNotAllowed('GET, HEAD');
    return result(ctx, req, res, id, fileName);
  }
  return jobRoute(ctx, req, res, method, id, searchParams);
}

/** GET /v1/jobs/:id (long poll with `waitMs`) and DELETE /v1/jobs/:id (cancel, or forget a finished job). */
async function jobRoute(ctx: WorkerContext, req: IncomingMessage, res: ServerResponse, method: string, id: string, searchParams: URLSearchParams): Promise<void> {
  if (method === 'GET') {
    await ctx.scheduler.waitForEnd(id, Math.min(MAX_LONG_POLL_MS, Number(searchParams.get('waitMs')) || 0));
    const status = ctx.scheduler.status(id);
    if (!status) throw jobNotFound(id);
    return sendJson(req, res, 200, status);
  }
  if (method === 'DELETE') {
    const status = await ctx.scheduler.cancel(id);
    if (!status) throw jobNotFound(id);
    return sendJson(req, res, 200, status);
  }
  throw methodNotAllowed('GET, DELETE');
}

async function health(ctx: WorkerContext, req: IncomingMessage, res: ServerResponse, isPing: boolean): Promise<void> {
  const h = await ctx.health();
  // /ping follows RunPod's load-balancer convention: 200 ready, 204 still loading, anything else unhealthy.
  if (isPing) {
    const status = h.status === 'ok' ? 200 : h.status === 'starting' ? 204 : 503;
    if (status === 204) {
      res.writeHead(204).end();
      return;
    }
    return sendJson(req, res, status, h);
  }
  return sendJson(req, res, h.status === 'ok' || h.status === 'starting' ? 200 : 503, h);
}

/**
 * POST /v1/jobs. Everything that can be refused without the video is refused before reading it (and before
 * `100 Continue`, so a client that asked for it uploads nothing): shutdown 503, size 413, options 400, capacity
 * 429. Then the input is stored, probed (MediaError → 422) and queued (202).
 */
async function submit(ctx: WorkerContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const { scheduler } = ctx;
  if (!scheduler.isAccepting) {
    throw new HttpError(503, 'shutting_down', 'This worker is shutting down.', { headers: { 'retry-after': '5' } });
  }
  const broken = ctx.warmupError();
  if (broken) throw new HttpError(503, 'not_ready', `This worker cannot run jobs: ${broken}`);
  const isJson = /^application\/json\b/i.test(req.headers['content-type'] ?? '');
  const declaredBytes = Number(req.headers['content-length'] ?? NaN);
  const bodyLimit = isJson ? MAX_JSON_BODY : ctx.maxBodyBytes;
  if (declaredBytes > bodyLimit) {
    throw new HttpError(413, 'body_too_large', `The body is ${declaredBytes} bytes; this worker accepts ${bodyLimit}.`);
  }

  let options: OverlayOptions;
  let fetchFrom: { url: URL; policy: InputUrlPolicy } | null = null;
  if (isJson) {
    // A JSON body can only be a URL submission: refused before it is read when the operator has not turned them on.
    if (!ctx.inputUrl) {
      throw new HttpError(
        400,
        'refused_url',
        'URL submissions (input.url) are turned off on this worker (GPU_WORKER_URL_INPUT); upload the video bytes instead.',
      );
    }
    if (expectsContinue(req)) res.writeContinue();
    const body = (await readJsonBody(req, MAX_JSON_BODY)) as Partial<UrlSubmission> | null;
    fetchFrom = { url: checkInputUrl(body?.input?.url, ctx.inputUrl), policy: ctx.inputUrl };
    options = parseOptions(body?.options);
  } else {
    options = parseOptions(readOptionsHeader(req));
  }
  if (!scheduler.tryReserve()) {
    throw new HttpError(429, 'busy', `All ${ctx.concurrency} job slots and ${ctx.queueDepth} queue places are taken.`, {
      headers: { 'retry-after': String(scheduler.retryAfterSec()) },
    });
  }

  const id = randomUUID();
  const dir = join(ctx.instanceDir, id);
  const inputPath = join(dir, 'input');
  let queued = false;
  try {
    await mkdir(dir);
    const t0 = performance.now();
    if (fetchFrom) {
      await fetchInput(fetchFrom.url, inputPath, { ...fetchFrom.policy, maxBytes: ctx.maxBodyBytes, timeoutMs: ctx.fetchTimeoutMs });
    } else {
      if (expectsContinue(req)) res.writeContinue();
      await receiveUpload(req, inputPath, ctx.maxBodyBytes);
    }
    const t1 = performance.now();
    // The cheap checks (empty, not a video, no video stream, too long, too large) answer now as 422 instead of
    // as a failed job a poll later; the engine is handed this probe instead of running ffprobe again.
    const probe = await probeMedia(inputPath, { maxBytes: options.maxInputBytes, maxDurationSec: options.maxDurationSec, minDurationSec: MIN_DURATION_SEC });
    const status = scheduler.enqueue({
      id,
      dir,
      inputPath,
      probe,
      options,
      receiveMs: t1 - t0,
      probeMs: performance.now() - t1,
    });
    queued = true;
    const body: SubmitAccepted = { id, state: status.state, statusUrl: `${API_PREFIX}/jobs/${id}` };
    sendJson(req, res, 202, body, { location: body.statusUrl });
  } finally {
    if (!queued) {
      scheduler.release();
      await rm(dir, { recursive: true, force: true });
    }
  }
}

function readOptionsHeader(req: IncomingMessage): unknown {
  const raw = req.headers[OPTIONS_HEADER];
  if (raw === undefined || raw === '') return {};
  try {
    return JSON.parse(Array.isArray(raw) ? raw[0] : raw);
  } catch {
    throw new HttpError(400, 'bad_options', `The ${OPTIONS_HEADER} header is not valid JSON.`);
  }
}

function parseOptions(raw: unknown): OverlayOptions {
  try {
    return parseOverlayOptions(raw);
  } catch (e) {
    if (e instanceof ZodError) {
      const issues = e.issues.map((i) => ({ path: i.path.map((p) => (typeof p === 'symbol' ? String(p) : p)), message: i.message }));
      const summary = issues.map((i) => `${i.path.join('.') || '(options)'}: ${i.message}`).join('; ');
      throw new HttpError(400, 'bad_options', `Invalid options: ${summary}`, { issues });
    }
    throw e;
  }
}

async function result(ctx: WorkerContext, req: IncomingMessage, res: ServerResponse, id: string, name: string): Promise<void> {
  const found = ctx.scheduler.resultPath(id, name);
  if ('missing' in found) {
    if (found.missing === 'job') throw jobNotFound(id);
    if (found.missing === 'not_done') throw new HttpError(409, 'not_ready', `Job ${id} has no results (not done).`);
    throw new HttpError(404, 'not_found', `Job ${id} has no file ${name}.`);
  }
  await sendFile(req, res, found.path);
}

function jobNotFound(id: string): HttpError {
  // Also what a poll gets from a fresh instance that never saw the job: the client resubmits once, then gives up.
  return new HttpError(404, 'not_found', `No job ${id} on this instance (finished and expired, deleted, or another instance).`);
}

function methodNotAllowed(allow: string): HttpError {
  return new HttpError(405, 'method_not_allowed', `Use ${allow}.`, { headers: { allow } });
}

function toHttpError(e: unknown, log: Logger): HttpError {
  if (e instanceof HttpError) {
    // A 5xx with a cause (a disk error) is the operator's problem, not the client's: say it loudly.
    if (e.status >= 500 && e.cause) log.error({ err: e.cause, code: e.code }, e.message);
    return e;
  }
  if (isMediaError(e)) return new HttpError(422, e.code, e.message);
  log.error({ err: e }, 'request failed');
  return new HttpError(500, 'internal', 'Internal error.');
}
