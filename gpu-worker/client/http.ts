import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/**
 * One HTTP exchange on Node's own client. Not fetch: uploads need a real Content-Length (serverless proxies
 * refuse or buffer chunked bodies) and `Expect: 100-continue` (so a refusal costs no upload), and connection
 * failures should surface as plain errno codes the client can classify.
 */
export class NetworkError extends Error {
  constructor(message: string, readonly code = 'ETIMEDOUT') {
    super(message);
    this.name = 'NetworkError';
  }
}

export interface UploadBody {
  open: () => Readable;
  length: number;
  /** Send headers first and the body only after `100 Continue` (or after a short wait, for proxies that eat it). */
  expectContinue: boolean;
}

export interface HttpExchange {
  method: string;
  url: URL;
  headers?: Record<string, string>;
  body?: UploadBody;
  signal: AbortSignal;
  /** Socket idle limit: a silent server fails the exchange with a NetworkError instead of hanging. */
  idleTimeoutMs: number;
}

export interface HttpAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  body: IncomingMessage;
}

/** How long to wait for `100 Continue` before sending the body anyway (curl waits 1 s). */
const CONTINUE_WAIT_MS = 1000;

export function exchange(x: HttpExchange): Promise<HttpAnswer> {
  const send = x.url.protocol === 'https:' ? httpsRequest : httpRequest;
  const headers: Record<string, string> = { ...x.headers };
  if (x.body) {
    headers['content-length'] = String(x.body.length);
    if (x.body.expectContinue) headers.expect = '100-continue';
  }
  return new Promise<HttpAnswer>((resolve, reject) => {
    let bodyStarted = false;
    let answered = false;
    const req = send(x.url, { method: x.method, headers, signal: x.signal, timeout: x.idleTimeoutMs }, (res) => {
      answered = true;
      // Answered before we sent the body (a refusal): this socket cannot be reused, drop it once read.
      if (x.body && !bodyStarted) res.once('close', () => req.destroy());
      resolve({ status: res.statusCode ?? 0, headers: res.headers, body: res });
    });
    req.on('timeout', () => req.destroy(new NetworkError(`no answer from ${x.url.host} within ${x.idleTimeoutMs} ms`)));
    req.on('error', (e) => {
      // An early answer (413, 401…) can be followed by a reset of the half-sent body: the answer wins.
      if (!answered) reject(e);
    });
    if (!x.body) {
      req.end();
      return;
    }
    const body = x.body;
    const startBody = () => {
      if (bodyStarted || answered) return;
      bodyStarted = true;
      clearTimeout(fallback);
      pipeline(body.open(), req).catch((e: unknown) => req.destroy(e as Error));
    };
    const fallback = setTimeout(startBody, body.expectContinue ? CONTINUE_WAIT_MS : 0);
    req.on('continue', startBody);
    req.on('response', () => clearTimeout(fallback));
    req.on('close', () => clearTimeout(fallback));
    req.flushHeaders();
  });
}

/** Reads a JSON answer (bounded). A body that is not JSON (a proxy's HTML error page) yields null. */
export async function readJson<T>(res: IncomingMessage, maxBytes = 1024 * 1024): Promise<T | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) {
      res.destroy();
      return null;
    }
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as T;
  } catch {
    return null;
  }
}
