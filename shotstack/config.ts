import { z } from 'zod';
import { defineConfig, env } from '../common/config.js';
import { missingReadings, parseReadingsList, READING_KEYS } from './readings.js';
import type { ShotstackClientOptions } from './client.js';

/**
 * Shotstack settings, keyed by environment variable. With no `SHOTSTACK_API_KEY` the default target is the local
 * Shotstack-compatible renderer (`npm run shotstack:local`), so a newcomer renders without an account.
 */
export const shotstackConfigSchema = z.object({
  /** Sandbox (`stage`) and production (`v1`) keys differ. Optional: unset means "use the local renderer". */
  SHOTSTACK_API_KEY: z.string().optional(),
  SHOTSTACK_ENV: z.enum(['stage', 'v1']).default('stage'),
  /** Base URL override (no trailing path), e.g. a proxy or a local renderer on another host. */
  SHOTSTACK_API_URL: env.url().optional(),
  /** Port of the local renderer; also the port `npm run shotstack:local` listens on. */
  SHOTSTACK_LOCAL_PORT: env.int(4550, 0, 65535),
  /** Interface the local renderer binds to (loopback by default: it has no authentication). */
  SHOTSTACK_LOCAL_HOST: z.string().default('127.0.0.1'),
  /** Where the local renderer keeps sources and renders (git-ignored by default). */
  SHOTSTACK_LOCAL_DATA_DIR: z.string().default('tmp/shotstack-local'),
  /** Retired: a deploy that still sets it would silently render with calibrated readings instead, so it stops. */
  SHOTSTACK_LUMA_POLARITY: z
    .string()
    .optional()
    .refine((v) => v === undefined, 'is retired: remove it; the luma polarity is calibrated now, or forced with SHOTSTACK_READINGS=luma=…'),
  /**
   * How the local renderer reads the Edit where Shotstack's docs are open (shotstack/readings.ts), a comma list such
   * as `luma=white-transparent,scale=width,luma-geometry=viewport`; unnamed readings keep today's default.
   */
  SHOTSTACK_LOCAL_EMULATE: readingsList(false),
  /**
   * Forces the renderer readings instead of calibrating them (all of `luma, luma-geometry, scale, alpha-webm,
   * alpha-mov` must be named); unset = calibrate on first use (shotstack/calibration).
   */
  SHOTSTACK_READINGS: readingsList(true),
  /** Calibration is redone after this many days (and whenever the schema version changes). */
  SHOTSTACK_CALIBRATION_MAX_AGE_DAYS: env.int(30, 1, 3650),
  /** Per-key request budgets per 60 s window, shared by all workers; unset = Shotstack's limit for SHOTSTACK_ENV. */
  SHOTSTACK_EDIT_RATE_PER_MIN: env.int(0, 0, 100_000),
  SHOTSTACK_INGEST_RATE_PER_MIN: env.int(0, 0, 100_000),
  /** Uploads one process runs at once (each source is one upload plus polling). */
  SHOTSTACK_INGEST_CONCURRENCY: env.int(2, 1, 16),
  /**
   * How long Shotstack's hosted (Serve API) copy of a finished render is kept after the job has its file; sources are
   * deleted as soon as the result is downloaded. The download link a user may be sent is the render's temporary URL,
   * which Shotstack expires after 24 h and its API cannot delete, so the hosted copy serves nobody: 0 = delete at once.
   */
  SHOTSTACK_RENDER_RETENTION_SEC: env.int(0, 0, 30 * 24 * 3600),
  /** Limit for one HTTP exchange (not for whole uploads/downloads, which have their own). */
  SHOTSTACK_REQUEST_TIMEOUT_MS: env.int(30_000, 100),
  /** Limit for one upload PUT or one download of a rendered file. */
  SHOTSTACK_TRANSFER_TIMEOUT_MS: env.int(15 * 60_000, 1000),
  /**
   * First wait between status polls; later waits grow ×1.5 up to 5× this. With a key it is at least
   * MIN_CLOUD_POLL_INTERVAL_MS (Shotstack's rate limit is per key, shared by every poll of every worker).
   */
  SHOTSTACK_POLL_INTERVAL_MS: env.int(3000, 50),
  /** How long waitForRender waits before giving up (Shotstack needs ~20 s per minute of output, plus queueing). */
  SHOTSTACK_RENDER_DEADLINE_MS: env.int(15 * 60_000, 1000),
  /** How long ingestFile waits for a source to become `ready` after the upload. */
  SHOTSTACK_INGEST_DEADLINE_MS: env.int(10 * 60_000, 1000),
  SHOTSTACK_MAX_RETRIES: env.int(5, 0, 20),
});

/**
 * A readings comma list (shotstack/readings.ts); `complete` requires every reading to be named. The config loader
 * puts the variable's name in front of each message.
 */
function readingsList(complete: boolean) {
  return z
    .string()
    .superRefine((v, ctx) => {
      try {
        const partial = parseReadingsList(v);
        const missing = missingReadings(partial);
        if (complete && missing.length) {
          ctx.addIssue({ code: 'custom', message: `must name every reading (${READING_KEYS.join(', ')}); missing ${missing.join(', ')}` });
        }
      } catch (e) {
        ctx.addIssue({ code: 'custom', message: (e as Error).message });
      }
    })
    .optional();
}

export type ShotstackConfig = z.infer<typeof shotstackConfigSchema>;

export const loadShotstackConfig = defineConfig('shotstack', shotstackConfigSchema);

export const SHOTSTACK_CLOUD_URL = 'https://api.shotstack.io';

/** Where requests go: an explicit override, else Shotstack when a key is set, else the local renderer. */
export function resolveApiUrl(cfg: ShotstackConfig): string {
  if (cfg.SHOTSTACK_API_URL) return cfg.SHOTSTACK_API_URL.replace(/\/+$/, '');
  if (cfg.SHOTSTACK_API_KEY) return SHOTSTACK_CLOUD_URL;
  return `http://127.0.0.1:${cfg.SHOTSTACK_LOCAL_PORT}`;
}

/** True when the target is the local renderer (no key and no override): callers can say so in logs. */
export function usesLocalRenderer(cfg: ShotstackConfig): boolean {
  return !cfg.SHOTSTACK_API_URL && !cfg.SHOTSTACK_API_KEY;
}

/** Polling Shotstack faster than this spends the key's request budget for nothing (renders take tens of seconds). */
export const MIN_CLOUD_POLL_INTERVAL_MS = 3000;

export function clientOptionsFromConfig(cfg: ShotstackConfig): ShotstackClientOptions {
  const pollIntervalMs = cfg.SHOTSTACK_API_KEY
    ? Math.max(MIN_CLOUD_POLL_INTERVAL_MS, cfg.SHOTSTACK_POLL_INTERVAL_MS)
    : cfg.SHOTSTACK_POLL_INTERVAL_MS;
  return {
    apiUrl: resolveApiUrl(cfg),
    apiKey: cfg.SHOTSTACK_API_KEY,
    env: cfg.SHOTSTACK_ENV,
    timeoutMs: cfg.SHOTSTACK_REQUEST_TIMEOUT_MS,
    transferTimeoutMs: cfg.SHOTSTACK_TRANSFER_TIMEOUT_MS,
    pollIntervalMs,
    ingestConcurrency: cfg.SHOTSTACK_INGEST_CONCURRENCY,
    renderDeadlineMs: cfg.SHOTSTACK_RENDER_DEADLINE_MS,
    ingestDeadlineMs: cfg.SHOTSTACK_INGEST_DEADLINE_MS,
    maxRetries: cfg.SHOTSTACK_MAX_RETRIES,
  };
}
