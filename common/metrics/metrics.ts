/**
 * What the code that does the work tells operators, as one small interface: modules take a `Metrics` (or one of
 * its callbacks) as an argument and default to NO_METRICS, so callers and tests that pass nothing are unchanged.
 * Only the entry points know about Prometheus (prometheus.ts). Labels carry closed sets of words (output kind,
 * path, reason, Bot API method), never ids, URLs or secrets.
 */
export type TelegramRetryReason = 'rate_limit' | 'network' | 'server_error';
export type ShotstackRetryReason = 'rate_limit' | 'network' | 'server_error';

export interface JobCompleted {
  /** video | overlay | note. */
  output: string;
  /** gpu | cpu: where the overlay ran. */
  path: string;
  /** The attempt that finished: its pipeline run (resumed stages cost nothing). */
  processingSec: number;
  /** Enqueue → done, as the user waited (retries and queueing included). */
  latencySec: number;
}

export interface Metrics {
  jobCompleted(j: JobCompleted): void;
  telegramRetry(method: string, reason: TelegramRetryReason): void;
  shotstackRetry(reason: ShotstackRetryReason): void;
}

export const NO_METRICS: Metrics = Object.freeze({
  jobCompleted: () => undefined,
  telegramRetry: () => undefined,
  shotstackRetry: () => undefined,
});
