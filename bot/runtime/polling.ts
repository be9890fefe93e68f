import { run, type RunnerHandle } from '@grammyjs/runner';
import { GrammyError, type Bot } from 'grammy';
import type { Logger } from '../../common/logger.js';
import type { BotContext } from '../context.js';

/**
 * Long polling with @grammyjs/runner (updates of different chats run concurrently; sequentialize keeps each chat
 * in order), restarted after a 409 Conflict. On Railway a deploy briefly runs the old and the new instance side
 * by side; Telegram then answers one of the two pollers with 409 and the runner stops for good. Here the loser
 * waits and polls again: once the old instance is gone (SIGTERM), the new one gets every update.
 */
export const ALLOWED_UPDATES = ['message', 'callback_query'] as const;

export interface Polling {
  stop(): Promise<void>;
  /** Resolves when polling ends (after stop(), or with the error that is not a conflict). */
  done: Promise<void>;
}

export function startPolling(bot: Bot<BotContext>, o: { log: Logger; conflictRetryMs?: number; maxConflictRetryMs?: number }): Polling {
  let handle: RunnerHandle | null = null;
  let stopping = false;
  let wake: (() => void) | null = null;
  const base = o.conflictRetryMs ?? 5000;
  const max = o.maxConflictRetryMs ?? 60_000;

  const done = (async () => {
    let delay = base;
    while (!stopping) {
      handle = run(bot, { runner: { fetch: { allowed_updates: ALLOWED_UPDATES }, silent: true } });
      try {
        await handle.task();
        return; // stopped on purpose
      } catch (e) {
        if (stopping) return;
        if (!(e instanceof GrammyError && e.error_code === 409)) {
          o.log.error({ err: e instanceof Error ? e.message : String(e) }, 'polling stopped');
          throw e;
        }
        o.log.warn({ retryInMs: delay, description: e.description }, '409 Conflict: another instance is polling (deploy overlap?); polling again later');
        await new Promise<void>((r) => {
          const timer = setTimeout(r, delay);
          wake = () => (clearTimeout(timer), r());
        });
        wake = null;
        delay = Math.min(delay * 2, max);
      }
    }
  })();

  return {
    done,
    async stop() {
      stopping = true;
      wake?.();
      const h = handle;
      if (h?.isRunning()) await h.stop();
      await done.catch(() => undefined);
    },
  };
}
