import { Writable } from 'node:stream';
import { Api } from 'grammy';
import { pino } from 'pino';
import { createRedis, createRenderQueue, type PipelineHandle } from '../pipeline/contract.js';
import { createBot } from './create-bot.js';
import type { BotDeps } from './deps.js';
import type { PreviewService } from './preview/preview-service.js';
import { createStatusNotifier } from './progress/status-notifier.js';
import { BotStore } from './store.js';
import { recordingFetch } from './test-support/recording-fetch.js';
import { BOT_INFO } from './test-support/updates.js';

export type { BotMessage } from './test-support/chat-log.js';

/**
 * Shared by the bot's tests (not a test file): a Bot API peer made of a recording `fetch` (every wire call with
 * its parameters, answered like Telegram would), update builders, and deps on real Redis under a unique prefix.
 */
export const TOKEN = '424242:bot-test-token-SECRET-abcdef';
export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

export { recordingFetch, type WireCall } from './test-support/recording-fetch.js';
export { BOT_INFO, callbackUpdate, inGroup, messageUpdate, newUser, textUpdate, videoUpdate, type From } from './test-support/updates.js';

/** Captured pino lines, for asserting what reached the logs. */
export function captureLogger() {
  const lines: string[] = [];
  const log = pino({ level: 'debug' }, new Writable({ write: (c, _e, cb) => (lines.push(String(c)), cb()) }));
  return { log, lines };
}

export interface TestBotEnv {
  prefix: string;
  pipeline: PipelineHandle;
  store: BotStore;
  deps(api: Api, over?: Partial<BotDeps>): BotDeps;
  newBot(over?: Partial<BotDeps>): { bot: ReturnType<typeof createBot>; wire: ReturnType<typeof recordingFetch> };
  close(): Promise<void>;
}

export function testBotEnv(name: string, o: { preview?: PreviewService | null; adminIds?: number[] } = {}): TestBotEnv {
  const prefix = `bcbot-${name}-${process.pid}-${Date.now().toString(36)}`;
  const redis = createRedis(REDIS_URL);
  const queue = createRenderQueue(redis, prefix);
  const pipeline: PipelineHandle = { queue, redis, prefix, close: async () => undefined };
  const store = new BotStore(redis, prefix);
  const { log } = captureLogger();
  const env: TestBotEnv = {
    prefix,
    pipeline,
    store,
    deps(api, over = {}) {
      const status = createStatusNotifier({ api, queue, store, redisUrl: REDIS_URL, prefix, minIntervalMs: 10, log });
      return {
        pipeline,
        store,
        limits: { maxDurationSec: 180, maxBytes: 200 * 1024 * 1024, telegramDownloadBytes: 20 * 1024 * 1024 },
        maxActivePerUser: 5,
        adminIds: o.adminIds ?? [],
        envMode: 'auto',
        preview: o.preview ?? null,
        status,
        conversationTtlSec: 3600,
        log,
        ...over,
      };
    },
    newBot(over = {}) {
      const wire = recordingFetch();
      const deps = env.deps(new Api(TOKEN, { fetch: wire.fetch }), over);
      const bot = createBot({ token: TOKEN, botInfo: BOT_INFO, fetch: wire.fetch, deps });
      return { bot, wire };
    },
    async close() {
      await queue.obliterate({ force: true }).catch(() => undefined);
      const keys = await redis.keys(`${prefix}:*`);
      if (keys.length) await redis.del(...keys);
      await queue.close();
      await redis.quit();
    },
  };
  return env;
}
