import { createReadStream } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { pipeline } from 'node:stream/promises';
import { sendJson } from './http-body.js';
import type { FakeState } from './state.js';

/** The HTTP server: /bot<token>/<method> to the API handler, GET /file/bot<token>/<path> to downloads. */

type ApiHandler = (req: IncomingMessage, res: ServerResponse, token: string, method: string, url: URL) => Promise<void>;

const notFound = { ok: false, error_code: 404, description: 'Not Found' };

async function handleFileDownload(s: FakeState, token: string, res: ServerResponse, givenToken: string, filePath: string) {
  if (givenToken !== token) return sendJson(res, 401, { ok: false, error_code: 401, description: 'Unauthorized' });
  const f = s.files.byPath(filePath);
  if (!f) return sendJson(res, 404, notFound);
  if (f.file_size > s.limits.getFile) return sendJson(res, 400, { ok: false, error_code: 400, description: 'Bad Request: file is too big' });
  res.writeHead(200, { 'content-type': f.mimeType, 'content-length': String(f.file_size) });
  await pipeline(createReadStream(f.path), res);
}

export interface RunningServer {
  port: number;
  close(): Promise<void>;
}

export async function startServer(o: { state: FakeState; token: string; host: string; port: number; handleApi: ApiHandler }): Promise<RunningServer> {
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://fake-telegram');
    let m: RegExpMatchArray | null;
    let work: Promise<void>;
    if ((m = url.pathname.match(/^\/bot([^/]+)\/([A-Za-z]+)$/))) {
      work = o.handleApi(req, res, decodeURIComponent(m[1]!), m[2]!, url);
    } else if (req.method === 'GET' && (m = url.pathname.match(/^\/file\/bot([^/]+)\/(.+)$/))) {
      work = handleFileDownload(o.state, o.token, res, decodeURIComponent(m[1]!), decodeURIComponent(m[2]!));
    } else {
      req.resume();
      return sendJson(res, 404, notFound);
    }
    work.catch((e: unknown) => {
      if (!res.headersSent) sendJson(res, 500, { ok: false, error_code: 500, description: `Internal Server Error: ${(e as Error).message}` });
      else res.destroy();
    });
  });
  const sockets = new Set<Socket>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      }),
  };
}
