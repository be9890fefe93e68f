import { defineConfig } from 'vitest/config';

// The machine has 2 cores and many tests run ffmpeg + ONNX: few files at a time, generous timeouts.
export default defineConfig({
  test: {
    include: ['**/*.test.ts'],
    exclude: ['node_modules/**', 'models/**'],
    // The test process's entry point: logs silent unless LOG_LEVEL says otherwise, FFMPEG_PATH/FFPROBE_PATH applied.
    setupFiles: ['testing/vitest-setup.ts'],
    pool: 'forks',
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    testTimeout: 120_000,
    hookTimeout: 120_000,
    reporters: ['default'],
  },
});
