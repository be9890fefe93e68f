import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { webhookCallback, type Bot } from 'grammy';
import type { Logger } from '../../common/logger.js';
import type { BotContext } from '../context.js';

/**
 * The bot's HTTP side: `GET /healthz` always (Railway's health check), and in webhook mode `POST <path>` for
 * Telegram's updates, refused unless the X-Telegram-Bot-Api-Secret-Token header matches WEBHOOK_SECRET.
 */
export interface BotHttp {
  server: Server;
  /** The bound port (PORT=0 asks the kernel for a free one). */
  port: number;
  url: string;
  close(): Promise<void>;
}

export async function startBotHttp(o: {
  bot: Bot<BotContext>;
  port: number;
  host?: string;
  webhook: { path: string; secret: string } | null;
  log: Logger;
  healthy(): boolean;
}): Promise<BotHttp> {
  const handle = o.webhook ? webhookCallback(o.bot, 'http', { secretToken: o.webhook.secret, timeoutMilliseconds: 55_000, onTimeout: 'return' }) : null;
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method === 'GET' && path === '/healthz') {
      const ok = o.healthy();
      res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ ok }));
      return;
    }
    if (handle && o.webhook && req.method === 'POST' && path === o.webhook.path) {
      handle(req, res).catch((e: unknown) => {
        o.log.error({ err: e instanceof Error ? e.message : String(e) }, 'webhook update failed');
        if (!res.headersSent) res.writeHead(500).end();
      });
      return;
    }
    res.writeHead(404).end();
  });
  // A port in use is a start failure with its reason ("listen EADDRINUSE…"), not an uncaught 'error' event.
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host ?? '0.0.0.0', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    server,
    port,
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
