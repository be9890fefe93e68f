import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readPublishedStatus } from '../shotstack/calibration/index.js';
import { loadShotstackConfig } from '../shotstack/config.js';
import { startLocalShotstack, type LocalShotstack } from '../shotstack/local/server.js';
import { DEFAULT_READINGS, readingsFromList, type RendererReadings } from '../shotstack/readings.js';
import { createRedis } from './redis.js';
import { openRenderer } from './services.js';
import { REDIS_URL } from './test-support.js';

/**
 * Where the renderer's readings come from, through openRenderer as the worker and the CLI call it: forced by
 * SHOTSTACK_READINGS, the local renderer's emulation, or a real calibration of the service at SHOTSTACK_API_URL
 * (here a local renderer emulating unusual readings), shared through Redis and published for /mode.
 */
const logger = pino({ level: 'silent' });
const ALL = 'luma=white-transparent,luma-geometry=viewport,scale=width,alpha-webm=kept,alpha-mov=lost';

describe('openRenderer: the readings source', () => {
  it('SHOTSTACK_READINGS forces the readings: known at once, no calibration, nothing asked of the service', async () => {
    // Port 9 (discard): any request would fail, so an answer proves nothing was asked.
    const cfg = loadShotstackConfig.parse({ SHOTSTACK_API_URL: 'http://127.0.0.1:9', SHOTSTACK_API_KEY: 'k', SHOTSTACK_READINGS: ALL });
    const opened = await openRenderer(cfg, { logger });
    try {
      expect(await opened.renderer.readings.get({ waitMs: 0 })).toEqual(readingsFromList(ALL));
      expect(await opened.renderer.readings.status()).toMatchObject({ state: 'known', origin: 'forced' });
    } finally {
      await opened.close();
    }
  });

  it('the in-process local renderer: what SHOTSTACK_LOCAL_EMULATE tells it to emulate, the rest default', async () => {
    const opened = await openRenderer(loadShotstackConfig.parse({ SHOTSTACK_LOCAL_EMULATE: 'scale=height' }), { logger });
    try {
      expect(opened.renderer.isLocal).toBe(true);
      expect(await opened.renderer.readings.status()).toEqual({ state: 'known', origin: 'local', readings: { ...DEFAULT_READINGS, scale: 'height' } });
    } finally {
      await opened.close();
    }
  });

  describe('a service at SHOTSTACK_API_URL is calibrated', () => {
    const service: RendererReadings = { ...DEFAULT_READINGS, luma: 'white-transparent', scale: 'width', lumaGeometry: 'viewport' };
    const prefix = `bctest-readings-source-${process.pid}-${Date.now().toString(36)}`;
    const redis = createRedis(REDIS_URL);
    let server: LocalShotstack;

    beforeAll(async () => {
      server = await startLocalShotstack({ emulate: service });
    });
    afterAll(async () => {
      const keys = await redis.keys(`${prefix}:*`);
      if (keys.length) await redis.del(...keys);
      await redis.quit();
      await server?.close();
    });

    it('measures the readings the service really has, and publishes them for /mode', async () => {
      const cfg = loadShotstackConfig.parse({ SHOTSTACK_API_URL: server.url, SHOTSTACK_API_KEY: 'k', SHOTSTACK_POLL_INTERVAL_MS: '100' });
      const opened = await openRenderer(cfg, { logger, calibrationRedis: { url: REDIS_URL, prefix } });
      try {
        // openRenderer started the calibration already: probes were sent before anyone asked.
        for (const end = Date.now() + 10_000; !server.requests.some((r) => r.path === '/ingest/stage/upload'); ) {
          if (Date.now() > end) throw new Error('no calibration started at open');
          await new Promise((r) => setTimeout(r, 50));
        }
        expect(await opened.renderer.readings.get({ waitMs: 150_000 })).toEqual(service);
        expect(await readPublishedStatus(redis, prefix)).toMatchObject({ state: 'known', origin: 'calibrated', readings: service });
      } finally {
        await opened.close();
      }
    }, 180_000);
  });
});
