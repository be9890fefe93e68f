import { pino, type DestinationStream, type Level, type Logger, type LoggerOptions } from 'pino';

/**
 * One pino logger for every process. Structured JSON on stdout; child loggers carry `jobId` and the component.
 * Secrets never reach it, by two layers:
 *  1. pino's `redact` paths censor the fields that hold a credential (tokens, API keys, auth headers, file and
 *     signed URLs) at the depths a path can name;
 *  2. every finished line passes `scrubSecrets` (pino's `hooks.streamWrite`) before it is written: the same
 *     fields at any depth, a Telegram bot token inside a URL or text (`/bot<token>/`, `/file/bot<token>/`),
 *     `Bearer …`, and the signing parameters of presigned URLs (S3 `X-Amz-Signature`/`X-Amz-Credential`,
 *     `Signature`, `signature`, …), whether they sit in a field, a message or an error's stack.
 * Callers should still log Telegram file *ids* and short operation names, never URLs: these layers are the net,
 * not the rule.
 */
export type { Logger };

/** A pino level, or `silent` (nothing is written). */
export type LogLevel = Level | 'silent';

export interface CreateLoggerOptions {
  /** pino level (default `info`). */
  level?: Level | 'silent';
  /** `service` field on every line (default `bubblecast`). */
  service?: string;
}

export const REDACT_CENSOR = '[redacted]';

/**
 * pino redact paths: the credential fields at the top level and one object down, and the credential headers of a
 * logged request (`headers`, `req.headers`, `<anything>.headers`). Wildcard paths cost about 0.7 µs per line each,
 * so deeper nesting and other spellings (`Authorization`, `X-Api-Key`, …) are left to `scrubSecrets`, which sees
 * every key at every depth for a fraction of that.
 */
export const REDACT_PATHS: readonly string[] = [
  'token',
  'apiKey',
  'botToken',
  'authorization',
  'password',
  'secret',
  'fileUrl',
  'uploadUrl',
  'signedUrl',
  '["x-api-key"]',
  '["x-gpu-worker-token"]',
  'headers.authorization',
  'headers.cookie',
  'headers["x-api-key"]',
  'headers["x-gpu-worker-token"]',
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'req.headers["x-gpu-worker-token"]',
  '*.token',
  '*.apiKey',
  '*.botToken',
  '*.fileUrl',
  '*.headers.authorization',
  '*.headers["x-api-key"]',
  '*.headers["x-gpu-worker-token"]',
];

// JSON keys whose string value is a secret at ANY depth of the serialized line (the redact paths stop at a depth).
const SECRET_KEY_RE =
  /"((?:proxy-)?authorization|x-api-key|x-gpu-worker-token|cookie|token|access_token|api[-_]?key|bot[-_]?token|password|secret|file[-_]?url|upload[-_]?url|signed[-_]?url)":"(?:[^"\\]|\\.)*"/gi;
// A bot token in a Bot API URL path: https://api.telegram.org/bot<token>/getMe, …/file/bot<token>/<path>.
const BOT_PATH_RE = /\/bot\d+:[A-Za-z0-9_-]+/g;
// A bare bot token (digits, colon, 35 url-safe characters as Telegram issues them).
const BOT_TOKEN_RE = /\b\d{5,}:[A-Za-z0-9_-]{30,}/g;
// A bearer credential in text (an error message that quotes a header); 8+ characters, so prose stays as it is.
const AUTH_SCHEME_RE = /\b(Bearer)(\s+)[A-Za-z0-9._~+/=-]{8,}/gi;
// Signing parameters of presigned URLs (S3/GCS/CloudFront, the local Shotstack renderer) and key-like parameters.
const SIGNED_PARAM_RE =
  /([?&](?:X-Amz-Signature|X-Amz-Credential|X-Amz-Security-Token|X-Goog-Signature|X-Goog-Credential|Signature|Policy|Key-Pair-Id|sig|token|access_token|api_key|apikey|key)=)[^&"\s\\#]*/gi;

/**
 * Removes secrets from one serialized log line (or any text). Cheap: a handful of linear regex passes over a
 * line of a few hundred bytes; values that match are replaced, the JSON stays valid.
 */
export function scrubSecrets(line: string): string {
  return line
    .replace(SECRET_KEY_RE, `"$1":"${REDACT_CENSOR}"`)
    .replace(BOT_PATH_RE, `/bot${REDACT_CENSOR}`)
    .replace(BOT_TOKEN_RE, REDACT_CENSOR)
    .replace(AUTH_SCHEME_RE, `$1$2${REDACT_CENSOR}`)
    .replace(SIGNED_PARAM_RE, `$1${REDACT_CENSOR}`);
}

/** The pino options every bubblecast logger is built with (exported so tests build the same logger). */
export function loggerOptions(o: CreateLoggerOptions = {}): LoggerOptions {
  return {
    level: o.level ?? 'info',
    base: { service: o.service ?? 'bubblecast' },
    redact: { paths: [...REDACT_PATHS], censor: REDACT_CENSOR },
    hooks: { streamWrite: scrubSecrets },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
}

/**
 * A logger with bubblecast's options and redaction. Pure: reads no environment; `destination` defaults to stdout.
 * Tests pass an in-memory stream to see exactly what a process would have written.
 */
export function createLogger(o: CreateLoggerOptions = {}, destination?: DestinationStream): Logger {
  return destination ? pino(loggerOptions(o), destination) : pino(loggerOptions(o));
}

export interface LoggingConfig {
  level: LogLevel;
  service: string;
}

/**
 * A logger whose level and `service` field are set after it is made, children included. This is how the process's
 * root logger is built (below); exported so tests can build one over an in-memory stream.
 *  - level: pino builds a child without a level of its own on top of its parent (prototype), so setting the root's
 *    level reaches every such child, made before or after. Nothing in bubblecast gives a child a level of its own.
 *  - service: a child copies its parent's bindings when it is made, so `service` is not a binding but a mixin that
 *    reads the current value on every line.
 */
export function createConfigurableLogger(destination?: DestinationStream): {
  logger: Logger;
  configure(c: LoggingConfig): void;
} {
  let service = 'bubblecast';
  const options: LoggerOptions = {
    ...loggerOptions(),
    // No `base`: pid and hostname stay off the lines, as before; `service` comes from the mixin.
    base: null,
    // A fresh object per line: pino merges the line's own fields into what the mixin returns.
    mixin: () => ({ service }),
  };
  const root = destination ? pino(options, destination) : pino(options);
  return {
    logger: root,
    configure(c) {
      root.level = c.level;
      service = c.service;
    },
  };
}

/**
 * The process's root logger. It reads no environment: it starts at `info` with service `bubblecast`, and the entry
 * point calls `configureLogging` once with its validated config (common/runtime-config.ts, `setUpProcess`), so
 * modules may make children at import time (`logger.child({ component })`) and still follow that call.
 */
const root = createConfigurableLogger();
export const logger: Logger = root.logger;

/** Sets the root logger's level and `service` field; an entry point calls it once, right after loading its config. */
export function configureLogging(c: LoggingConfig): void {
  root.configure(c);
}

export function jobLogger(jobId: string, component: string): Logger {
  return logger.child({ jobId, component });
}
