import { QueueEvents } from 'bullmq';
import { GrammyError, type Api } from 'grammy';
import type { InlineKeyboardMarkup } from 'grammy/types';
import type { Logger } from '../../common/logger.js';
import { createRedis, failureText, parseFailure, parseProgress, RENDER_QUEUE, type RenderJob, type RenderQueue } from '../../pipeline/contract.js';
import { tryAgainKeyboard } from '../flow/keyboards.js';
import { withTitle } from '../flow/summary.js';
import { t } from '../i18n/index.js';
import type { BotStore } from '../store.js';
import { progressText } from './format.js';

/**
 * Keeps each job's one status message up to date. The worker reports progress only through BullMQ
 * (`job.updateProgress`), sends the chat action and the result itself, and — because the bot enqueues with
 * `failureNotice: 'bot'` — leaves the failure message to the bot. So this listens to the queue's events and edits
 * the status message in place: throttled per job (Telegram allows about one message a second per chat),
 * deduplicated (identical edits are refused; during a deploy overlap two bots hear every event), and on failure
 * with a "try again" button. The id of the last event handled is kept in Redis, so a bot that was down (a deploy,
 * a crash) catches up on what happened meanwhile — a failure notice is not lost — and repeats nothing it already
 * showed (the dedup above).
 */
export interface StatusNotifier {
  /**
   * Shows a text at once, bypassing the throttle. `final` (done, failed, cancelled): later progress reports of the
   * job are ignored until a non-final show (a retry) reopens it.
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
  minIntervalMs: number;
  log: Logger;
}

interface Pending {
  lastAt: number;
  timer: NodeJS.Timeout | null;
}

export function createStatusNotifier(o: StatusNotifierOptions): StatusNotifier {
  const pending = new Map<string, Pending>();
  let events: QueueEvents | null = null;
  let eventsConnection: ReturnType<typeof createRedis> | null = null;
  let closed = false;
  /** Edits of one job run one after another, so a slow progress edit can never land after "done". */
  const chains = new Map<string, Promise<void>>();
  const finished = new Set<string>();

  function serial(jobId: string, run: () => Promise<void>): Promise<void> {
    const next = (chains.get(jobId) ?? Promise.resolve()).then(run, run);
    chains.set(jobId, next);
    const forget = () => {
      if (chains.get(jobId) === next) chains.delete(jobId);
    };
    next.then(forget, forget);
    return next;
  }

  async function edit(jobId: string, body: string, markup?: InlineKeyboardMarkup): Promise<void> {
    const rec = await o.store.getStatus(jobId);
    if (!rec) return; // not ours (a CLI job), or the dialogue has not stored it yet
    const text = withTitle(rec.title, body);
    if (!(await o.store.claimStatusText(jobId, text, markup))) return;
    try {
      await o.api.editMessageText(rec.chatId, rec.messageId, text, markup ? { reply_markup: markup } : {});
    } catch (e) {
      if (e instanceof GrammyError && /not modified/i.test(e.description)) return;
      if (e instanceof GrammyError && /not found|can't be edited/i.test(e.description)) {
        // The user deleted it: post a new one and keep editing that.
        const m = await o.api.sendMessage(rec.chatId, text, markup ? { reply_markup: markup } : {}).catch(() => null);
        if (m) await o.store.setStatus(jobId, { ...rec, messageId: m.message_id });
        return;
      }
      o.log.warn({ jobId, err: (e as Error).message }, 'status edit failed');
    }
  }

  async function langOfJob(jobId: string): Promise<'ru' | 'en' | null> {
    return (await o.store.getStatus(jobId))?.lang ?? null;
  }

  function throttled(jobId: string, run: () => Promise<void>): void {
    const p = pending.get(jobId) ?? { lastAt: 0, timer: null };
    pending.set(jobId, p);
    if (p.timer) clearTimeout(p.timer);
    const wait = p.lastAt + o.minIntervalMs - Date.now();
    const go = () => {
      p.timer = null;
      p.lastAt = Date.now();
      serial(jobId, () => (finished.has(jobId) ? Promise.resolve() : run())).catch((e) =>
        o.log.warn({ jobId, err: (e as Error).message }, 'status update failed'),
      );
    };
    // The newest report wins: an older one still waiting for its slot is dropped.
    if (wait <= 0) go();
    else p.timer = setTimeout(go, wait);
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

  function stopThrottle(jobId: string): void {
    const p = pending.get(jobId);
    if (p?.timer) clearTimeout(p.timer);
    pending.delete(jobId);
  }

  const notifier: StatusNotifier = {
    async show(jobId, text, keyboard, final = false) {
      stopThrottle(jobId);
      if (final) {
        finished.add(jobId);
        // Bounded: only recent jobs can still have stray progress reports in flight.
        if (finished.size > 10_000) finished.delete(finished.values().next().value!);
      } else finished.delete(jobId);
      await serial(jobId, async () => {
        const lang = await langOfJob(jobId);
        if (lang) await edit(jobId, text(lang), keyboard?.(lang));
      });
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
        throttled(jobId, async () => {
          const lang = await langOfJob(jobId);
          if (lang) await edit(jobId, progressText(t(lang), p));
        });
        handled(id);
      });
      events.on('completed', ({ jobId }, id) => {
        if (closed) return;
        notifier.show(jobId, (l) => t(l).statusDone, undefined, true).then(() => handled(id), () => undefined);
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
      for (const id of [...pending.keys()]) stopThrottle(id);
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
