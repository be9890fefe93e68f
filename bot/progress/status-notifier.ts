import type { Api } from 'grammy';
import type { InlineKeyboardMarkup } from 'grammy/types';
import type { Logger } from '../../common/logger.js';
import type { RenderQueue } from '../../pipeline/contract.js';
import type { BotStore } from '../store.js';
import { ChatLanes } from './chat-lane.js';
import { listenToQueueEvents } from './queue-events.js';
import { editStatus, type Render } from './status-edit.js';

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

/** Remembered job ids are bounded: only recent jobs can still have stray events in flight. */
const MAX_REMEMBERED_JOBS = 10_000;
/** How long a final notice waits for its job's status message to be stored (see chatOnceStored), and how often it looks. */
const STATUS_RECORD_WAIT_MS = 120_000;
const STATUS_RECORD_POLL_MS = 250;

export function createStatusNotifier(o: StatusNotifierOptions): StatusNotifier {
  let listening: Awaited<ReturnType<typeof listenToQueueEvents>> | null = null;
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

  /**
   * A job can end before its dialogue has stored the status message: the dialogue enqueues, then sends "queued",
   * and that send may wait out a 429 while a bad file fails within a second. A final notice of a job the bot
   * enqueued (`failureNotice: 'bot'`) therefore waits for the record instead of being dropped; other jobs (the CLI's)
   * have no status message and get nothing.
   */
  async function chatOnceStored(jobId: string): Promise<number | null> {
    const job = await o.queue.getJob(jobId);
    if (job?.data.failureNotice !== 'bot') return null;
    const end = Date.now() + STATUS_RECORD_WAIT_MS;
    while (!closed && Date.now() < end) {
      await new Promise((r) => setTimeout(r, STATUS_RECORD_POLL_MS));
      const chatId = await chatOf(jobId);
      if (chatId !== null) return chatId;
    }
    if (!closed) o.log.warn({ jobId }, 'status message never stored: final notice not shown');
    return null;
  }

  async function queueProgress(jobId: string, render: Render): Promise<void> {
    if (finished.has(jobId)) return;
    const chatId = await chatOf(jobId);
    if (chatId === null || finished.has(jobId) || closed) return;
    lanes.offer(chatId, jobId, { run: () => editStatus(o, jobId, render), progress: true, skip: () => finished.has(jobId) });
  }

  const notifier: StatusNotifier = {
    async show(jobId, text, keyboard, final = false) {
      if (final) {
        finished.add(jobId);
        remember(finished);
      } else finished.delete(jobId);
      const chatId = (await chatOf(jobId)) ?? (final ? await chatOnceStored(jobId) : null);
      if (chatId === null || closed) return;
      const render: Render = (lang) => ({ body: text(lang), markup: keyboard?.(lang) });
      await lanes.now(chatId, jobId, { run: () => editStatus(o, jobId, render), progress: false, skip: () => false });
    },

    async listen() {
      listening = await listenToQueueEvents({ ...o, progress: queueProgress, show: notifier.show, isClosed: () => closed });
      // Closed while it was connecting: what it opened goes too.
      if (closed) await stopListening();
    },

    async close() {
      closed = true;
      lanes.close();
      await stopListening();
    },
  };

  async function stopListening(): Promise<void> {
    const l = listening;
    listening = null;
    if (!l) return;
    await l.events.close();
    // BullMQ does not close a connection it was given.
    await l.connection.quit().catch(() => undefined);
  }
  return notifier;
}
