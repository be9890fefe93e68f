import { z } from 'zod';
import { defineConfig } from './config.js';

/**
 * Variables every process reads (logging, where the ffmpeg binaries are), validated like the per-area configs so a
 * typo such as LOG_LEVEL=verbose stops the process with a message naming the variable instead of a pino stack trace.
 */
export const loadRuntimeConfig = defineConfig(
  'runtime',
  z.object({
    /** pino level; tests default to silent, processes to info. */
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).optional(),
    /** `service` field on every log line: lets bot, worker and GPU worker share one log drain. */
    BUBBLECAST_SERVICE: z.string().default('bubblecast'),
    FFMPEG_PATH: z.string().default('ffmpeg'),
    FFPROBE_PATH: z.string().default('ffprobe'),
  }),
);
