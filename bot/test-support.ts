import { Writable } from 'node:stream';
import { Api } from 'grammy';
import type { Message, Update, UserFromGetMe } from 'grammy/types';
import { pino } from 'pino';
import { createRedis, createRenderQueue, type PipelineHandle } from '../pipeline/contract.js';
import { createBot } from './create-bot.js';
import type { BotDeps } from './deps.js';
import type { PreviewService } from './preview/preview-service.js';
import { createStatusNotifier } from './progress/status-notifier.js';
import { BotStore } from './store.js';

/**
 * Shared by the bot's tests (not a test file): a Bot API peer made of a recording `fetch` (every wire call with
 * its parameters, answered like Telegram would), update builders, and deps on real Redis under a unique prefix.
 */
export const TOKEN = '424242:bot-test-token-SECRET-abcdef';
export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
export const BOT_INFO: UserFromGetMe = {
  id: 424242,
  is_bot: true,
  first_name: 'Bubblecast',
  username: 'bubblecast_test_bot',
  can_join_groups: false,
  can_read_all_group_messages: false,
  supports_inline_queries: false,
  can_connect_to_business: false,
  has_main_web_app: false,
} as UserFromGetMe;

export interface WireCall {
  method: string;
  params: Record<string, any>;
}

/** A fetch that plays Telegram: records calls, numbers sent messages per chat, refuses identical edits. */
export function recordingFetch() {
  const calls: WireCall[] = [];
  const nextId = new Map<number, number>();
  const texts = new Map<string, string>();
  /** Methods answered with Telegram's "query is too old" error (e.g. presses that waited out a restart). */
  const failing = new Set<string>();
  const fetchImpl = (async (input: string | URL | Request, init?: RequestInit) => {
    const url = String(input instanceof Request ? input.url : input);
    const method = url.split('/').pop()!;
    const params = typeof init?.body === 'string' ? JSON.parse(init.body) : {};
    calls.push({ method, params });
    if (failing.has(method)) {
      return new Response(
        JSON.stringify({ ok: false, error_code: 400, description: 'Bad Request: query is too old and response timeout expired or query ID is invalid' }),
        { status: 400, headers: { 'content-type': 'application/json' } },
      );
    }
    const ok = (result: unknown) => new Response(JSON.stringify({ ok: true, result }), { headers: { 'content-type': 'application/json' } });
    const chatId = Number(params.chat_id);
    const message = (id: number, extra: Record<string, unknown> = {}) =>
      ({ message_id: id, date: 1, chat: { id: chatId, type: 'private', first_name: 'U' }, from: BOT_INFO, ...extra }) as Message;
    switch (method) {
      case 'sendMessage':
      case 'sendPhoto': {
        const id = (nextId.get(chatId) ?? 1000) + 1;
        nextId.set(chatId, id);
        texts.set(`${chatId}/${id}`, params.text ?? params.caption ?? '');
        return ok(message(id, { text: params.text }));
      }
      case 'editMessageText': {
        const key = `${chatId}/${params.message_id}`;
        if (texts.get(key) === params.text && !params.reply_markup) {
          return new Response(JSON.stringify({ ok: false, error_code: 400, description: 'Bad Request: message is not modified' }), { status: 400 });
        }
        texts.set(key, params.text);
        return ok(message(params.message_id, { text: params.text }));
      }
      case 'editMessageReplyMarkup':
        return ok(message(params.message_id));
      default:
        return ok(true);
    }
  }) as typeof fetch;
  return {
    fetch: fetchImpl,
    calls,
    failing,
    of: (method: string) => calls.filter((c) => c.method === method),
    /** Calls made since `mark` (an index into calls). */
    since: (mark: number) => calls.slice(mark),
    clear: () => void calls.splice(0, calls.length),
  };
}

let updateId = 1;
let messageId = 1;

export interface From {
  id: number;
  lang?: string;
}

const user = (f: From) => ({ id: f.id, is_bot: false, first_name: 'Tester', language_code: f.lang ?? 'en' });
const chat = (f: From) => ({ id: f.id, type: 'private' as const, first_name: 'Tester' });

export function messageUpdate(f: From, fields: Record<string, unknown>): Update {
  const id = messageId++;
  return { update_id: updateId++, message: { message_id: id, date: Math.floor(Date.now() / 1000), chat: chat(f), from: user(f), ...fields } as Update['message'] };
}

export function textUpdate(f: From, text: string): Update {
  const entities = text.startsWith('/') ? [{ type: 'bot_command', offset: 0, length: text.split(/\s/)[0]!.length }] : undefined;
  return messageUpdate(f, { text, ...(entities ? { entities } : {}) });
}

export function videoUpdate(f: From, o: { size?: number; duration?: number; kind?: 'video' | 'video_note' | 'document'; id?: string } = {}): Update {
  const file = { file_id: `${o.id ?? 'vid'}${updateId}AAAA`, file_unique_id: `u${o.id ?? 'vid'}${updateId}`, file_size: o.size ?? 1_000_000 };
  if (o.kind === 'video_note') return messageUpdate(f, { video_note: { ...file, length: 480, duration: o.duration ?? 5 } });
  if (o.kind === 'document') return messageUpdate(f, { document: { ...file, mime_type: 'video/mp4', file_name: 'clip.mp4' } });
  return messageUpdate(f, { video: { ...file, width: 720, height: 1280, duration: o.duration ?? 5, mime_type: 'video/mp4' } });
}

export function callbackUpdate(f: From, onMessageId: number, data: string): Update {
  return {
    update_id: updateId++,
    callback_query: {
      id: `cq${updateId}`,
      from: user(f),
      chat_instance: 'ci',
      data,
      message: { message_id: onMessageId, date: 1, chat: chat(f), from: BOT_INFO, text: 'x' } as Message,
    },
  } as Update;
}

/** The same update sent in a group chat (a supergroup with id `groupId`, negative as Telegram's are). */
export function inGroup(update: Update, groupId: number): Update {
  const group = { id: groupId, type: 'supergroup' as const, title: 'Test group' };
  if (update.message) return { ...update, message: { ...update.message, chat: group } } as Update;
  const q = update.callback_query;
  if (q?.message) return { ...update, callback_query: { ...q, message: { ...q.message, chat: group } } } as Update;
  return update;
}

/** A unique user (chat) id per test. */
let userCounter = 7_000_000 + (process.pid % 1000) * 1000;
export const newUser = (lang = 'en'): From => ({ id: ++userCounter, lang });

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
