import { QueueEvents } from 'bullmq';
import type { Logger } from '../../common/logger.js';
import { createRedis, failureText, parseFailure, parseProgress, RENDER_QUEUE, type RenderJob, type RenderQueue } from '../../pipeline/contract.js';
import { tryAgainKeyboard } from '../flow/keyboards.js';
import { t, type Language } from '../i18n/index.js';
import type { BotStore } from '../store.js';
import { createEventCursor } from './event-cursor.js';
import { progressText } from './format.js';
import type { Render } from './status-edit.js';
import type { StatusNotifier } from './status-notifier.js';

export interface QueueEventsDeps {
  queue: RenderQueue;
  store: BotStore;
  redisUrl: string;
  prefix: string;
  log: Logger;
  /** A progress report: edited within the chat's budget. */
  progress(jobId: string, render: Render): Promise<void>;
  show: StatusNotifier['show'];
  isClosed(): boolean;
}

/**
 * Listens to the render queue's events from the last one handled (event-cursor.ts) and turns them into status
 * texts: progress, done (or "uncertain" when delivery only asked the user), and the final failure or cancel.
 * Returns what `close` must close: BullMQ does not close a connection it was given.
 */
export async function listenToQueueEvents(d: QueueEventsDeps): Promise<{ events: QueueEvents; connection: ReturnType<typeof createRedis> }> {
  const connection = createRedis(d.redisUrl, { connectionName: 'bubblecast-bot-events' });
  connection.on('error', (e) => d.log.warn({ err: e.message }, 'redis error (queue events)'));
  let events: QueueEvents | null = null;
  try {
    const lastEventId = (await d.store.getLastEventId()) ?? undefined;
    events = new QueueEvents(RENDER_QUEUE, { connection, prefix: d.prefix, ...(lastEventId ? { lastEventId } : {}) });
    handleEvents(d, events);
    await events.waitUntilReady();
    await connection.ping();
    return { events, connection };
  } catch (e) {
    // Not listening after all: nothing of it may stay open (the notifier's close only knows a finished listen).
    await events?.close().catch(() => undefined);
    await connection.quit().catch(() => undefined);
    throw e;
  }
}

function handleEvents(d: QueueEventsDeps, events: QueueEvents): void {
  const cursor = createEventCursor(d.store);
  events.on('error', (e) => d.log.warn({ err: e.message }, 'queue events error'));
  events.on('progress', ({ jobId, data }, id) => {
    const p = parseProgress(data);
    if (!p || d.isClosed()) return;
    d.progress(jobId, (lang) => ({ body: progressText(t(lang), p) })).catch((e) =>
      d.log.warn({ jobId, err: (e as Error).message }, 'status update failed'),
    );
    cursor.handled(id);
  });
  events.on('completed', ({ jobId, returnvalue }, id) => {
    if (d.isClosed()) return;
    const text = deliveryWasUncertain(returnvalue) ? (l: Language) => t(l).statusUncertain : (l: Language) => t(l).statusDone;
    d.show(jobId, text, undefined, true).then(() => cursor.handled(id), () => undefined);
  });
  events.on('failed', ({ jobId, failedReason }, id) => {
    if (d.isClosed()) return;
    showFailure(d, jobId, failedReason).then(
      () => cursor.handled(id),
      (e) => d.log.warn({ jobId, err: (e as Error).message }, 'failure notice failed'),
    );
  });
}

/** Only the final failure: a job that will be retried is back in the queue, not failed. */
async function showFailure(d: QueueEventsDeps, jobId: string, failedReason: string): Promise<void> {
  const job = (await d.queue.getJob(jobId)) as RenderJob | undefined;
  if (job && (await job.getState()) !== 'failed') return;
  const failure = parseFailure(failedReason);
  if (failure.code === 'cancelled') return d.show(jobId, (l) => t(l).statusCancelled, undefined, true);
  await d.show(
    jobId,
    (l) => t(l).statusFailed(failureText(failure.code, l)),
    (l) => tryAgainKeyboard(t(l), jobId),
    true,
  );
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
