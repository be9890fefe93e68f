import { pino, type Logger } from 'pino';
import { loadRuntimeConfig } from './runtime-config.js';

const runtime = loadRuntimeConfig();

/**
 * One pino logger for every process. Structured JSON on stdout; child loggers carry `jobId` and the component.
 * Secrets never reach it: the redact list covers the fields that could hold a token, and callers must log
 * Telegram file *ids* and paths, never file URLs (they embed the bot token).
 */
export const logger: Logger = pino({
  level: runtime.LOG_LEVEL ?? (process.env.VITEST ? 'silent' : 'info'),
  base: { service: runtime.BUBBLECAST_SERVICE },
  redact: {
    paths: [
      'token',
      'apiKey',
      'authorization',
      'headers.authorization',
      'headers["x-api-key"]',
      '*.token',
      '*.apiKey',
      '*.botToken',
      'botToken',
      'fileUrl',
      '*.fileUrl',
    ],
    censor: '[redacted]',
  },
  timestamp: pino.stdTimeFunctions.isoTime,
});

export type { Logger };

export function jobLogger(jobId: string, component: string): Logger {
  return logger.child({ jobId, component });
}
