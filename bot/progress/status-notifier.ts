import { QueueEvents } from 'bullmq';
import { GrammyError, type Api } from 'grammy';
import type { InlineKeyboardMarkup } from 'grammy/types';
import type { Logger } from '../../common/logger.js';
import { createRedis, failureText, parseFailure, parseProgress, RENDER_QUEUE, type RenderJob, type RenderQueue } from '../../pipeline/contract.js';
import { tryAgainKeyboard } from '../flow/keyboards.js';
import { withTitle } from '../flow/summary.js';
import { t, type Language } from '../i18n/index.js';
import type { BotStore } from '../store.js';
import { ChatLanes, type EditOutcome } from './chat-lane.js';
import { progressText } from './format.js';

/**
 * Keeps each job's one status message up to date. The worker reports progress only through BullMQ
 * (`job.updateProgress`), sends the chat action and the result itself, and — because the bot enqueues with
 * `failureNotice: 'bot'` — leaves the failure message to the bot. So this listens to the queue's events and edits
 * the status message in place: deduplicated (identical edits are refused; during a deploy overlap two bots hear
 * every event), on failure with a "try again" button, and within a per-chat budget (`chat-lane.ts`): Telegram
 * limits messages per chat, not per job, so several jobs of one chat share one edit every `minIntervalMs`, and a
 * 429 holds that chat's edits for `retry_after` — a held "done" or "failed" is shown when the hold ends, never
 * dropped. The id of the last event handled is kept in Redis, so a bot that was down (a deploy, a crash) catches
 * up on what happened meanwhile — a failure notice is not lost — and repeats nothing it already showed (the dedup
 * above).
 */
export interface StatusNotifier {
  /**
   * Shows a text now (not waiting for the chat's edit interval; only a 429 hold delays it). `final` (done,
   * failed, cancelled): later progress reports of the job are ignored until a non-final show (a retry) reopens it.
   */
  show(
    jobId: string,
    text: (lang: 'ru' | 'en') => string,
    keyboard?: (lang: 'ru' | 'en') => InlineKeyboardMarkup | undefined,
    final?: boolean,
  ): Promise<void>;
  /** Starts listening to the queue (not needed by tests that only drive the dialogue). */
  listen(): Promise<void>;
  close(): Promise<void>;
}

export interface StatusNotifierOptions {
  api: Api;
  queue: RenderQueue;
  store: BotStore;
  redisUrl: string;
  prefix: string;
  /** Least time between two progress edits in one chat (all its jobs together). */
  minIntervalMs: number;
  log: Logger;
}

type Render = (lang: 'ru' | 'en') => { body: string; markup?: InlineKeyboardMarkup };

/** Remembered job ids are bounded: only recent jobs can still have stray events in flight. */
const MAX_REMEMBERED_JOBS = 10_000;

export function createStatusNotifier(o: StatusNotifierOptions): StatusNotifier {
  let events: QueueEvents | null = null;
  let eventsConnection: ReturnType<typeof createRedis> | null = null;
  let closed = false;
  const finished = new Set<string>();
  const chatOfJob = new Map<string, number>();
  const lanes = new ChatLanes(o.minIntervalMs, o.log);

  const remember = (m: { size: number; keys(): IterableIterator<string>; delete(k: string): boolean }) => {
    if (m.size > MAX_REMEMBERED_JOBS) m.delete(m.keys().next().value!);
  };

  /** The chat of a job's status message (fixed for the job's life), or null when the bot did not start it. */
  async function chatOf(jobId: string): Promise<number | null> {
    const known = chatOfJob.get(jobId);
    if (known !== undefined) return known;
    const rec = await o.store.getStatus(jobId);
    if (!rec) return null; // not ours (a CLI job), or the dialogue has not stored it yet
    chatOfJob.set(jobId, rec.chatId);
    remember(chatOfJob);
    return rec.chatId;
  }

  async function edit(jobId: string, render: Render): Promise<EditOutcome> {
    const rec = await o.store.getStatus(jobId);
    if (!rec) return 'skipped';
    const { body, markup } = render(rec.lang);
    const text = withTitle(rec.title, body);
    if (!(await o.store.claimStatusText(jobId, text, markup))) return 'skipped';
    try {
      await o.api.editMessageText(rec.chatId, rec.messageId, text, markup ? { reply_markup: markup } : {});
      return 'sent';
    } catch (e) {
      if (e instanceof GrammyError && /not modified/i.test(e.description)) return 'sent';
      // Not shown after all: the same text must be allowed again.
      await o.store.forgetStatusText(jobId).catch(() => undefined);
      if (e instanceof GrammyError && e.error_code === 429) return { retryAfterMs: (e.parameters.retry_after ?? 1) * 1000 };
      if (e instanceof GrammyError && /not found|can't be edited/i.test(e.description)) {
        // The user deleted it: post a new one and keep editing that.
        const m = await o.api.sendMessage(rec.chatId, text, markup ? { reply_markup: markup } : {}).catch(() => null);
        if (m) await o.store.setStatus(jobId, { ...rec, messageId: m.message_id });
        if (m) await o.store.claimStatusText(jobId, text, markup);
        return 'sent';
      }
      o.log.warn({ jobId, err: (e as Error).message }, 'status edit failed');
      return 'sent';
    }
  }

  async function queueProgress(jobId: string, render: Render): Promise<void> {
    if (finished.has(jobId)) return;
    const chatId = await chatOf(jobId);
    if (chatId === null || finished.has(jobId) || closed) return;
    lanes.offer(chatId, jobId, { run: () => edit(jobId, render), progress: true, skip: () => finished.has(jobId) });
  }

  // Stream ids ("<ms>-<seq>") grow; handlers finish out of order, so only a newer id is written.
  let lastId: string | null = null;
  const newer = (a: string, b: string) => {
    const [am, as] = a.split('-').map(Number);
    const [bm, bs] = b.split('-').map(Number);
    return am! > bm! || (am === bm && as! > bs!);
  };
  function handled(id: string): void {
    if (lastId && !newer(id, lastId)) return;
    lastId = id;
    o.store.setLastEventId(id).catch(() => undefined);
  }

  const notifier: StatusNotifier = {
    async show(jobId, text, keyboard, final = false) {
      if (final) {
        finished.add(jobId);
        remember(finished);
      } else finished.delete(jobId);
      const chatId = await chatOf(jobId);
      if (chatId === null) return;
      const render: Render = (lang) => ({ body: text(lang), markup: keyboard?.(lang) });
      await lanes.now(chatId, jobId, { run: () => edit(jobId, render), progress: false, skip: () => false });
    },

    async listen() {
      const connection = createRedis(o.redisUrl, { connectionName: 'bubblecast-bot-events' });
      eventsConnection = connection;
      connection.on('error', (e) => o.log.warn({ err: e.message }, 'redis error (queue events)'));
      const lastEventId = (await o.store.getLastEventId()) ?? undefined;
      events = new QueueEvents(RENDER_QUEUE, { connection, prefix: o.prefix, ...(lastEventId ? { lastEventId } : {}) });
      events.on('error', (e) => o.log.warn({ err: e.message }, 'queue events error'));
      events.on('progress', ({ jobId, data }, id) => {
        const p = parseProgress(data);
        if (!p || closed) return;
        queueProgress(jobId, (lang) => ({ body: progressText(t(lang), p) })).catch((e) =>
          o.log.warn({ jobId, err: (e as Error).message }, 'status update failed'),
        );
        handled(id);
      });
      events.on('completed', ({ jobId, returnvalue }, id) => {
        if (closed) return;
        const text = deliveryWasUncertain(returnvalue) ? (l: Language) => t(l).statusUncertain : (l: Language) => t(l).statusDone;
        notifier.show(jobId, text, undefined, true).then(() => handled(id), () => undefined);
      });
      events.on('failed', ({ jobId, failedReason }, id) => {
        if (closed) return;
        void (async () => {
          // Only the final failure: a job that will be retried is back in the queue, not failed.
          const job = (await o.queue.getJob(jobId)) as RenderJob | undefined;
          if (job && (await job.getState()) !== 'failed') return;
          const failure = parseFailure(failedReason);
          if (failure.code === 'cancelled') return notifier.show(jobId, (l) => t(l).statusCancelled, undefined, true);
          await notifier.show(
            jobId,
            (l) => t(l).statusFailed(failureText(failure.code, l)),
            (l) => tryAgainKeyboard(t(l), jobId),
            true,
          );
        })().then(
          () => handled(id),
          (e) => o.log.warn({ jobId, err: (e as Error).message }, 'failure notice failed'),
        );
      });
      await events.waitUntilReady();
      await connection.ping();
    },

    async close() {
      closed = true;
      lanes.close();
      if (events) {
        const c = events;
        events = null;
        await c.close();
      }
      // BullMQ does not close a connection it was given.
      await eventsConnection?.quit().catch(() => undefined);
      eventsConnection = null;
    },
  };
  return notifier;
}

/** Whether a completed job only asked the user («Send again») instead of sending: its status must not say "below". */
function deliveryWasUncertain(returnvalue: unknown): boolean {
  try {
    const v = (typeof returnvalue === 'string' ? JSON.parse(returnvalue) : returnvalue) as { delivered?: { uncertain?: boolean } } | null;
    return v?.delivered?.uncertain === true;
  } catch {
    return false;
  }
}
