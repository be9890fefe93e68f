import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalShotstack, type LocalShotstack } from '../../shotstack/local/server.js';
import { createShotstackClient } from '../../shotstack/client.js';
import { startFakeTelegram, type FakeTelegram } from '../../testing/fake-telegram.js';
import { ConfigError } from '../config.js';
import { logger } from '../logger.js';
import { createTelegramApi } from '../telegram/api.js';
import { loadMetricsConfig } from './config.js';
import type { Metrics } from './metrics.js';
import { createPrometheusMetrics } from './prometheus.js';
import { sampleValue } from './prom-text.js';
import { startMetricsServer, type MetricsServer } from './server.js';

/**
 * The in-process half of the operators' numbers over real HTTP on loopback: the endpoint's protection, and the
 * retry counters moved by the real Telegram policy against the fake Bot API and by the real Shotstack client
 * against the local renderer, each answering with injected faults.
 */
const TOKEN = 'metrics-test-token-0123456789';
const BOT_TOKEN = '777001:metrics-test-token-SECRET';

describe('metrics endpoint', () => {
  let registry: Registry;
  let server: MetricsServer;
  let tg: FakeTelegram;
  let shotstack: LocalShotstack;
  let m: Metrics;

  beforeAll(async () => {
    registry = new Registry();
    m = createPrometheusMetrics(registry);
    server = await startMetricsServer({ registry, port: 0, host: '127.0.0.1', token: TOKEN, log: logger });
    tg = await startFakeTelegram({ token: BOT_TOKEN });
    shotstack = await startLocalShotstack({ port: 0, logger });
  });
  afterAll(async () => {
    await server?.close();
    await tg?.close();
    await shotstack?.close();
  });

  const scrape = async () => {
    const res = await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    return res.text();
  };

  it('answers only GET /metrics, and only with the bearer token', async () => {
    expect((await fetch(`${server.url}/metrics`)).status).toBe(401);
    expect((await fetch(`${server.url}/metrics`, { headers: { authorization: 'Bearer wrong-token-0123456789' } })).status).toBe(401);
    expect((await fetch(`${server.url}/healthz`, { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(404);
    expect(await scrape()).toContain('# TYPE bubblecast_telegram_retries_total counter');
  });

  it('counts the Telegram policy’s resends by method and reason', async () => {
    const api = createTelegramApi(BOT_TOKEN, { apiRoot: tg.apiRoot, backoffMs: 1, onRetry: m.telegramRetry });
    // Two 5xx and a dropped connection on an idempotent method: three resends, then it succeeds.
    tg.injectFault({ method: 'getMe', status: 502, description: 'Bad Gateway: injected', times: 2 });
    tg.injectFault({ method: 'getMe', drop: true });
    await api.getMe();
    const text = await scrape();
    expect(sampleValue(text, 'bubblecast_telegram_retries_total', { method: 'getMe', reason: 'server_error' })).toBe(2);
    expect(sampleValue(text, 'bubblecast_telegram_retries_total', { method: 'getMe', reason: 'network' })).toBe(1);
    // Secrets never become labels.
    expect(text).not.toContain(BOT_TOKEN.split(':')[1]!);
  });

  it('counts the Shotstack client’s resends by reason', async () => {
    const client = createShotstackClient({ apiUrl: shotstack.url, env: 'stage', retryBaseDelayMs: 1, retryMaxDelayMs: 5, rateLimitWindowMs: 10, onRetry: m.shotstackRetry });
    shotstack.injectFaults({
      respond: [
        { route: 'ingest', method: 'DELETE', status: 429, count: 1 },
        { route: 'ingest', method: 'DELETE', status: 503, count: 2 },
      ],
    });
    // After the faults the renderer answers 404 (no such source), which the client reads as "already gone".
    expect(await client.deleteSource('no-such-source')).toBe(false);
    const text = await scrape();
    expect(sampleValue(text, 'bubblecast_shotstack_retries_total', { reason: 'rate_limit' })).toBe(1);
    expect(sampleValue(text, 'bubblecast_shotstack_retries_total', { reason: 'server_error' })).toBe(2);
  });
});

describe('metrics config', () => {
  it('is off by default, loopback when on, and refuses an open interface without a token, naming it', () => {
    expect(loadMetricsConfig.parse({})).toMatchObject({ METRICS_PORT: 0, METRICS_HOST: '127.0.0.1' });
    expect(loadMetricsConfig.parse({ METRICS_PORT: '9464', METRICS_HOST: '::', METRICS_TOKEN: TOKEN })).toMatchObject({ METRICS_PORT: 9464 });
    expect(() => loadMetricsConfig.parse({ METRICS_PORT: '9464', METRICS_HOST: '::' })).toThrow(ConfigError);
    expect(() => loadMetricsConfig.parse({ METRICS_PORT: '9464', METRICS_HOST: '::' })).toThrow(/METRICS_TOKEN: required when METRICS_HOST/);
    expect(() => loadMetricsConfig.parse({ METRICS_PORT: 'nine' })).toThrow(/METRICS_PORT/);
  });
});
