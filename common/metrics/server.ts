import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { Logger } from '../logger.js';

/**
 * `GET /metrics` in Prometheus' text format, on its own listener (METRICS_PORT/METRICS_HOST), never on the bot's
 * public PORT: in webhook mode that one is on the internet. With a token, a scrape without
 * `Authorization: Bearer <token>` gets 401 and triggers no Redis reads.
 */
export interface MetricsServer {
  server: Server;
  /** http://host:port, for tests and the start-up log. */
  url: string;
  close(): Promise<void>;
}

export interface MetricsServerOptions {
  registry: Registry;
  port: number;
  host: string;
  token?: string;
  log: Logger;
}

export async function startMetricsServer(o: MetricsServerOptions): Promise<MetricsServer> {
  const authorized = bearerCheck(o.token);
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' || path !== '/metrics') return void res.writeHead(404).end();
    if (!authorized(req)) return void res.writeHead(401, { 'www-authenticate': 'Bearer' }).end();
    o.registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': o.registry.contentType }).end(text),
      (e: unknown) => {
        // A collector failed (Redis down): say so in the log, not in the answer.
        o.log.warn({ err: e instanceof Error ? e.message : String(e) }, 'metrics scrape failed');
        res.writeHead(500).end();
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host = o.host.includes(':') ? `[${o.host}]` : o.host;
  return { server, url: `http://${host}:${port}`, close: () => new Promise<void>((r) => server.close(() => r())) };
}

/** Constant-time comparison (of hashes, so lengths never differ); no token = everyone may scrape. */
function bearerCheck(token: string | undefined): (req: IncomingMessage) => boolean {
  if (!token) return () => true;
  const want = createHash('sha256').update(token).digest();
  return (req) => {
    const m = /^Bearer (.+)$/i.exec(req.headers.authorization ?? '');
    return m !== null && timingSafeEqual(createHash('sha256').update(m[1]!).digest(), want);
  };
}
