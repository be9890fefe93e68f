import type { IncomingMessage, ServerResponse } from 'node:http';
import { setTimeout as delay } from 'node:timers/promises';
import type { LocalContext, RequestLogEntry, Route } from '../context.js';
import { routeOf, takeFaultResponse, takeStall, type FaultResponse, type LocalFaults } from '../faults.js';
import { drain, sendFault, sendJson } from '../http.js';
import { sendTooManyRequests, type RateLimitedApi } from '../rate-limit.js';
import { safeEqual } from '../safe-equal.js';
import { EDIT_ROUTES } from './edit.js';
import { FILE_ROUTES } from './files.js';
import { INGEST_ROUTES, UPLOAD_ROUTE } from './ingest.js';
import { SERVE_ROUTES } from './serve.js';

/**
 * Every request: logged, delayed or answered by the injected faults, then routed. `/{edit|ingest|serve}/{env}/…`
 * goes through the gateway's checks (environment, API key, rate limit) to that API's routes; the signed upload
 * and the served files need no key.
 */

const API_PATH = /^\/(edit|ingest|serve)\/([^/]+)(\/.*)$/;

const API_ROUTES: Record<RateLimitedApi, readonly Route[]> = { edit: EDIT_ROUTES, ingest: INGEST_ROUTES, serve: SERVE_ROUTES };

const ROOT_ROUTE: Route = {
  method: 'GET',
  pattern: /^\/$/,
  handle: (_ctx, { res }) => sendJson(res, 200, { name: 'bubblecast local Shotstack renderer', ok: true }),
};

const OPEN_ROUTES: readonly Route[] = [ROOT_ROUTE, UPLOAD_ROUTE, ...FILE_ROUTES];

export async function handleRequest(ctx: LocalContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://local');
  const path = url.pathname;
  const method = req.method ?? 'GET';
  logRequest(ctx.requests, req, res, method, path);
  const fault = await injectedFault(ctx.faults, method, path);
  if (fault) return sendFault(req, res, fault);

  const api = path.match(API_PATH);
  if (api) return handleApiRequest(ctx, { req, res, url, method }, api as unknown as [string, RateLimitedApi, string, string]);
  const found = findRoute(OPEN_ROUTES, method, path);
  if (found) return found.route.handle(ctx, { req, res, url, params: found.params, env: undefined });
  await drain(req);
  return sendJson(res, 404, { message: 'Not Found' });
}

interface Incoming {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  method: string;
}

/** The gateway in front of Shotstack's APIs, then the API's own routes. */
async function handleApiRequest(
  ctx: LocalContext,
  { req, res, url, method }: Incoming,
  [, api, env, rest]: [string, RateLimitedApi, string, string],
): Promise<void> {
  if (env !== 'stage' && env !== 'v1') return sendJson(res, 404, { message: 'Not Found' });
  if (!authorised(ctx, req)) {
    await drain(req);
    return sendJson(res, 403, { message: 'Forbidden' });
  }
  // Like Shotstack's gateway: a known key first (403), then its rate limit (429).
  if (ctx.rateLimiter && !ctx.rateLimiter.admit(req.headers['x-api-key'] as string | undefined, api)) {
    await drain(req);
    return sendTooManyRequests(res);
  }
  const found = findRoute(API_ROUTES[api], method, rest);
  if (found) return found.route.handle(ctx, { req, res, url, params: found.params, env });
  return sendJson(res, 404, { success: false, message: 'Not Found', response: `No route for ${method} ${url.pathname}` });
}

function findRoute(routes: readonly Route[], method: string, path: string): { route: Route; params: string[] } | null {
  for (const route of routes) {
    if (route.method !== method) continue;
    const m = path.match(route.pattern);
    if (m) return { route, params: m.slice(1) };
  }
  return null;
}

function authorised(ctx: LocalContext, req: IncomingMessage): boolean {
  if (!ctx.apiKey) return true;
  const given = req.headers['x-api-key'];
  return typeof given === 'string' && safeEqual(given, ctx.apiKey);
}

/** Records the request for tests; its status is filled in once the answer is sent. */
function logRequest(requests: RequestLogEntry[], req: IncomingMessage, res: ServerResponse, method: string, path: string): void {
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
}

/** Waits out the injected latency and stall for this route, then takes its injected answer, if any. */
async function injectedFault(faults: LocalFaults, method: string, path: string): Promise<FaultResponse | null> {
  const route = routeOf(path);
  if (route !== 'assets' && route !== null && faults.latencyMs) await delay(faults.latencyMs);
  const stallMs = takeStall(faults, route);
  if (stallMs) await delay(stallMs);
  return takeFaultResponse(faults, method, route);
}

