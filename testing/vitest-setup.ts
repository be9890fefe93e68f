/**
 * vitest's entry point (vitest.config.ts `setupFiles`, run in every test process before its test file): what an
 * entry point's `applyRuntimeConfig` does, for tests. Logs stay silent unless LOG_LEVEL asks for them; FFMPEG_PATH /
 * FFPROBE_PATH are honoured. Reading the environment here is the point: this is where the test process starts.
 */
import { loadRuntimeConfig, applyRuntimeConfig } from '../common/runtime-config.js';

applyRuntimeConfig(loadRuntimeConfig.parse(process.env), { defaultLevel: 'silent' });
