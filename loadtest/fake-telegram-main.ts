import type { Message } from 'grammy/types';
import { startFakeTelegram } from '../testing/fake-telegram.js';
import type { CallbackQueryInput, InjectedFault, UserMessageInput } from '../testing/fake-telegram.js';
import { serveRpc } from './rpc.js';

/**
 * The fake Telegram Bot API (testing/fake-telegram.ts) as a process of its own, so the bot and the workers talk to
 * it over HTTP as they would to Telegram. The load test's simulated users drive it over IPC (rpc.ts): they send
 * messages and press buttons, and read back what the bot shows in their chat.
 * Env: FAKE_TG_TOKEN, FAKE_TG_PORT (0 = free), FAKE_TG_DATA_DIR. Sends `{ ready: apiRoot }` when listening.
 */
export interface ChatView {
  /** The bot's messages in the chat, oldest first, as the last edit left them. */
  bot: Array<{ id: number; text: string; history: string[]; deleted: boolean; buttons: string[] }>;
  /** Files the bot sent to the chat (previews and results). */
  files: Array<{ method: string; messageId: number; size: number }>;
  /** Texts the bot sent with sendMessage, in order (refusals and notices), with their message ids. */
  sent: Array<{ id: number; text: string }>;
}

export interface FakeStats {
  calls: number;
  byMethod: Record<string, number>;
  failedByStatus: Record<string, number>;
  rateLimited: number;
}

const buttonsOf = (m: Message): string[] =>
  ((m.reply_markup as { inline_keyboard?: Array<Array<{ callback_data?: string }>> } | undefined)?.inline_keyboard ?? [])
    .flat()
    .flatMap((b) => (b.callback_data === undefined ? [] : [b.callback_data]));

const tg = await startFakeTelegram({
  token: process.env.FAKE_TG_TOKEN ?? '123456:loadtest-token-abcdef',
  port: Number(process.env.FAKE_TG_PORT ?? 0),
  dataDir: process.env.FAKE_TG_DATA_DIR,
});

function chatView(chatId: number): ChatView {
  const bot = tg
    .messages(chatId)
    .filter((m) => m.message.from?.id === tg.bot.id)
    .map((m) => ({ id: m.message.message_id, text: m.message.text ?? m.message.caption ?? '', history: m.history, deleted: m.deleted, buttons: buttonsOf(m.message) }))
    .sort((a, b) => a.id - b.id);
  const files = tg.sentFiles.filter((f) => f.chatId === chatId).map((f) => ({ method: f.method, messageId: f.messageId, size: f.size }));
  const sent = tg.calls
    .filter((c) => c.ok && c.method === 'sendMessage' && c.params.chat_id === chatId)
    .map((c) => ({ id: (c.result as Message).message_id, text: String(c.params.text) }));
  return { bot, files, sent };
}

function stats(): FakeStats {
  const byMethod: Record<string, number> = {};
  const failedByStatus: Record<string, number> = {};
  let rateLimited = 0;
  for (const c of tg.calls) {
    byMethod[c.method] = (byMethod[c.method] ?? 0) + 1;
    if (!c.ok) failedByStatus[c.httpStatus] = (failedByStatus[c.httpStatus] ?? 0) + 1;
    if (c.rateLimited) rateLimited++;
  }
  return { calls: tg.calls.length, byMethod, failedByStatus, rateLimited };
}

serveRpc({
  registerFile: (path: string, fileName?: string) => tg.registerFile(path, fileName ? { fileName } : undefined),
  pushUserMessage: async (input: UserMessageInput) => (await tg.pushUserMessage(input)).message?.message_id,
  pushCallbackQuery: (input: CallbackQueryInput) => void tg.pushCallbackQuery(input),
  chatView,
  stats,
  injectFault: (f: InjectedFault) => tg.injectFault(f),
  clearFaults: () => tg.clearFaults(),
});

process.send?.({ ready: tg.apiRoot });
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => void tg.close().finally(() => process.exit(0)));
}
