import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { boundaryOf, readMultipart, type MultipartFile } from '../fake-telegram-multipart.js';
import { badRequest, BodyTooLargeError, NGINX_413_HTML } from './errors.js';
import { coerceFormValue, type Params } from './params.js';

/** Reading requests and writing answers, with the body cap nginx enforces in front of the real Bot API. */

/** How long a refused body is read and discarded before answering anyway (nginx's lingering_time is 30 s). */
const LINGER_MS = 30_000;

/**
 * The request's chunks, failing with BodyTooLargeError past `limit` bytes. The request is not destroyed when
 * reading stops early, so the rest can be drained and the client still gets an answer.
 */
async function* limitedBody(req: IncomingMessage, limit: number): AsyncGenerator<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) throw new BodyTooLargeError(limit);
  let total = 0;
  for await (const chunk of req.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > limit) throw new BodyTooLargeError(limit);
    yield chunk;
  }
}

/** Query string + body parameters; multipart files are streamed to `uploadDir` and put in `uploads`. */
export async function readParams(
  req: IncomingMessage,
  url: URL,
  o: { uploadDir: string; uploads: Map<string, MultipartFile>; bodyLimit: number },
): Promise<Params> {
  const params: Params = {};
  const fromForm = (key: string, value: string) => (params[key] = coerceFormValue(key, value));
  for (const [k, v] of url.searchParams) fromForm(k, v);
  if (req.method === 'GET' || req.method === 'HEAD') return params;
  const type = (req.headers['content-type'] ?? '').toLowerCase();
  const body = limitedBody(req, o.bodyLimit);
  if (type.startsWith('multipart/form-data')) {
    const boundary = boundaryOf(req.headers['content-type']);
    if (!boundary) throw badRequest('wrong multipart boundary');
    const dir = join(o.uploadDir, `${Date.now()}-${randomBytes(4).toString('hex')}`);
    await mkdir(dir, { recursive: true });
    const parsed = await readMultipart(body, boundary, dir);
    for (const f of parsed.fields) fromForm(f.name, f.value);
    for (const f of parsed.files) o.uploads.set(f.name, f);
    return params;
  }
  const chunks: Buffer[] = [];
  for await (const c of body) chunks.push(c);
  const text = Buffer.concat(chunks).toString('utf8');
  if (!text) return params;
  if (type.startsWith('application/json')) return Object.assign(params, parseJsonObject(text));
  for (const [k, v] of new URLSearchParams(text)) fromForm(k, v);
  return params;
}

function parseJsonObject(text: string): Params {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw badRequest("can't parse JSON object");
  }
  return json && typeof json === 'object' && !Array.isArray(json) ? (json as Params) : {};
}

/** Reads and discards what is left of the request (bounded), so the client sees the answer, not a broken pipe. */
export function drainRequest(req: IncomingMessage): Promise<void> {
  if (req.readableEnded || req.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(done, LINGER_MS);
    function done() {
      clearTimeout(timer);
      req.off('end', done).off('close', done).off('error', done);
      resolve();
    }
    req.on('end', done).on('close', done).on('error', done);
    req.resume();
  });
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)) });
  res.end(text);
}

/** nginx's answer to a body over client_max_body_size: HTML, and the connection is not kept alive. */
export function sendTooLargeHtml(res: ServerResponse): void {
  res.writeHead(413, {
    server: 'nginx/1.18.0',
    'content-type': 'text/html',
    'content-length': String(Buffer.byteLength(NGINX_413_HTML)),
    connection: 'close',
  });
  res.end(NGINX_413_HTML);
}
