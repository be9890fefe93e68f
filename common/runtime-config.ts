import { z } from 'zod';
import { ConfigError, defineConfig } from './config.js';
import { configureFfmpeg } from './ffmpeg.js';
import { configureLogging, type LogLevel } from './logger.js';

/**
 * Variables every process reads (logging, where the ffmpeg binaries are), validated like the per-area configs so a
 * typo such as LOG_LEVEL=verbose stops the process with a message naming the variable instead of a pino stack trace.
 */
export const loadRuntimeConfig = defineConfig(
  'runtime',
  z.object({
    /** pino level; processes default to info (the render CLI to warn), tests to silent (testing/vitest-setup.ts). */
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).optional(),
    /** `service` field on every log line: lets bot, worker and GPU worker share one log drain. */
    BUBBLECAST_SERVICE: z.string().default('bubblecast'),
    FFMPEG_PATH: z.string().default('ffmpeg'),
    FFPROBE_PATH: z.string().default('ffprobe'),
    /** The build's version, as the GPU worker's /health reports it (default: package.json's version). */
    BUBBLECAST_VERSION: z.string().optional(),
  }),
);

export type RuntimeConfig = ReturnType<typeof loadRuntimeConfig>;

/**
 * Configures what every process shares — the root logger's level and service, where ffmpeg and ffprobe are — from
 * the validated runtime config. Entry points call it once, before they log or run ffmpeg; `defaultLevel` is the
 * level when LOG_LEVEL is unset (the render CLI's progress bar owns stderr, so it asks for `warn`).
 */
export function applyRuntimeConfig(cfg: RuntimeConfig, o: { defaultLevel?: LogLevel } = {}): void {
  configureLogging({ level: cfg.LOG_LEVEL ?? o.defaultLevel ?? 'info', service: cfg.BUBBLECAST_SERVICE });
  configureFfmpeg({ ffmpegPath: cfg.FFMPEG_PATH, ffprobePath: cfg.FFPROBE_PATH });
}

/**
 * The usual start of an entry point: load the runtime config and apply it. A bad variable (LOG_LEVEL=verbose) stops
 * the process here, exit code 1, with one line naming the variable instead of a stack trace.
 */
export function setUpProcess(o: { defaultLevel?: LogLevel } = {}): RuntimeConfig {
  let cfg: RuntimeConfig;
  try {
    cfg = loadRuntimeConfig();
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    process.stderr.write(`${e.message}\n`);
    process.exit(1);
  }
  applyRuntimeConfig(cfg, o);
  return cfg;
}
