import { EventEmitter } from 'node:events';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { UserFromGetMe } from 'grammy/types';
import { createApiHandler } from './fake-telegram/api-handler.js';
import { createCallbackQueries } from './fake-telegram/callback-queries.js';
import { createChatStore } from './fake-telegram/chats.js';
import { createFaults } from './fake-telegram/faults.js';
import { createFileRegistry } from './fake-telegram/files.js';
import { CALLBACK_QUERY_TTL_MS, CLOUD_GET_FILE_LIMIT, CLOUD_UPLOAD_LIMIT, LOCAL_LIMIT, PHOTO_LIMIT } from './fake-telegram/limits.js';
import { createMessageQueries } from './fake-telegram/queries.js';
import { createRateLimiter, DEFAULT_RATE_LIMITS } from './fake-telegram/rate-limit.js';
import { startServer } from './fake-telegram/server.js';
import type { FakeState } from './fake-telegram/state.js';
import type { FakeTelegram, FakeTelegramOptions, RecordedCall } from './fake-telegram/types.js';
import { createUpdateQueue } from './fake-telegram/updates.js';
import { createUserUpdates } from './fake-telegram/user-updates.js';
import { waitFor } from './fake-telegram/wait-for.js';

export type * from './fake-telegram/types.js';
export { DEFAULT_RATE_LIMITS } from './fake-telegram/rate-limit.js';
export { NGINX_413_HTML } from './fake-telegram/errors.js';

/**
 * A local fake of the Telegram Bot API over real HTTP, for tests of the pipeline and the bot. It answers with the
 * shapes and error texts of the real server for the methods the project uses:
 *
 *   getMe, getUpdates (long poll with `timeout`, `offset` confirms, 409 when a second poller arrives or a webhook is
 *   set), setWebhook/deleteWebhook/getWebhookInfo, setMyCommands/getMyCommands/deleteMyCommands, sendMessage,
 *   editMessageText/Caption/ReplyMarkup, deleteMessage, copyMessage, forwardMessage, answerCallbackQuery,
 *   sendChatAction, getFile, sendVideo/sendVideoNote/sendDocument/sendPhoto (multipart uploads streamed to disk,
 *   `attach://` references, existing file ids and http(s) URLs) and `GET /file/bot<token>/<file_path>` downloads.
 *
 * It is as strict as the real service where a lenient fake would hide bugs:
 *   - request bodies over 50,000,000 bytes (10,000,000 for sendPhoto) get nginx's HTML 413, not JSON;
 *   - getFile refuses files over 20 MB; text over 4096 and captions over 1024 characters are refused;
 *   - video notes: not by URL, square only, length ≤ 640; callback_data over 64 bytes is BUTTON_DATA_INVALID;
 *   - callback queries can be answered once, within callbackQueryTtlMs (15 s);
 *   - flood control answers 429 with retry_after (private chats 5 burst + 1/s, groups 20/min, 30/s overall);
 *   - identical edits are "message is not modified"; a wrong token gets 401, an unknown method 404.
 * `local: true` behaves like a self-hosted `telegram-bot-api --local` (2000 MB, absolute file paths).
 *
 * Everything is recorded (`calls`, with 429s of flood control marked `rateLimited`, `sentFiles`, per-chat
 * `messages`), and faults can be injected per method. Tests take message ids from what the bot shows
 * (`lastBotMessage`, `messageWithButton`, `pressButton`), never from the fake's numbering.
 */
export async function startFakeTelegram(opts: FakeTelegramOptions): Promise<FakeTelegram> {
  const ownsDataDir = !opts.dataDir;
  const dataDir = opts.dataDir ?? (await mkdtemp(join(tmpdir(), 'fake-telegram-')));
  const uploadDir = join(dataDir, 'uploads');
  const incomingDir = join(dataDir, 'incoming');
  await mkdir(uploadDir, { recursive: true });
  await mkdir(incomingDir, { recursive: true });

  const events = new EventEmitter();
  events.setMaxListeners(0);
  const changed = () => events.emit('changed');
  const state = createState(opts, incomingDir);
  const calls: RecordedCall[] = [];
  const faults = createFaults();
  const rateLimiter = opts.rateLimits === false ? null : createRateLimiter({ ...DEFAULT_RATE_LIMITS, ...opts.rateLimits });
  const handleApi = createApiHandler({ token: opts.token, state, faults, rateLimiter, calls, uploadDir, changed });
  const host = opts.host ?? '127.0.0.1';
  const server = await startServer({ state, token: opts.token, host, port: opts.port ?? 0, handleApi });
  let closed = false;
  const userUpdates = createUserUpdates(state, changed);

  return {
    apiRoot: `http://${host}:${server.port}`,
    token: opts.token,
    dataDir,
    bot: state.bot,
    registerFile: (path, o) => state.files.register(path, o),
    ...userUpdates,
    ...createMessageQueries(state, userUpdates.pushCallbackQuery),
    calls,
    callsOf: (method) => calls.filter((c) => c.method.toLowerCase() === method.toLowerCase()),
    sentFiles: state.sentFiles,
    messages: (chatId) => state.chats.all(chatId),
    waitFor: (pred, o) => waitFor(events, pred, o),
    injectFault: (fault) => faults.add(fault),
    clearFaults: () => faults.clear(),
    blockChat: (chatId) => void state.blocked.add(chatId),
    async close() {
      if (closed) return;
      closed = true;
      state.updates.wake();
      await server.close();
      if (ownsDataDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
}

function botOf(opts: FakeTelegramOptions): UserFromGetMe {
  return {
    id: Number(/^(\d+):/.exec(opts.token)?.[1] ?? 1_000_001),
    is_bot: true,
    first_name: 'Bubblecast Test',
    username: 'bubblecast_test_bot',
    can_join_groups: true,
    can_read_all_group_messages: false,
    supports_inline_queries: false,
    can_connect_to_business: false,
    has_main_web_app: false,
    ...opts.botInfo,
  } as UserFromGetMe;
}

function createState(opts: FakeTelegramOptions, incomingDir: string): FakeState {
  const local = opts.local ?? false;
  const bot = botOf(opts);
  const blocked = new Set<number>();
  const settings = { webhookUrl: '', commands: [] as unknown[] };
  return {
    bot,
    local,
    limits: {
      getFile: opts.getFileLimitBytes ?? (local ? LOCAL_LIMIT : CLOUD_GET_FILE_LIMIT),
      upload: opts.uploadLimitBytes ?? (local ? LOCAL_LIMIT : CLOUD_UPLOAD_LIMIT),
      photo: PHOTO_LIMIT,
    },
    files: createFileRegistry({ local, incomingDir }),
    chats: createChatStore(bot, blocked),
    updates: createUpdateQueue(() => settings.webhookUrl !== ''),
    callbackQueries: createCallbackQueries(opts.callbackQueryTtlMs ?? CALLBACK_QUERY_TTL_MS),
    blocked,
    sentFiles: [],
    settings,
  };
}
