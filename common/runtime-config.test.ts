import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { repoRoot } from '../testing/media.js';
import { configureFfmpeg, ffmpegPaths } from './ffmpeg.js';
import { configureLogging, logger } from './logger.js';
import { applyRuntimeConfig, loadRuntimeConfig } from './runtime-config.js';

/**
 * No module reads the environment when imported: each entry point loads the runtime config once (setUpProcess) and
 * applies it to the root logger and the ffmpeg module. These tests hold that contract.
 */
describe('runtime config at the entry point', () => {
  const before = { level: logger.level, paths: { ...ffmpegPaths() } };
  afterEach(() => {
    configureLogging({ level: before.level as 'silent', service: 'bubblecast' });
    configureFfmpeg(before.paths);
  });

  it('applyRuntimeConfig sets the level (LOG_LEVEL, else the default asked for) and where ffmpeg/ffprobe are', () => {
    applyRuntimeConfig(loadRuntimeConfig.parse({ LOG_LEVEL: 'error', FFMPEG_PATH: '/opt/ff/ffmpeg', FFPROBE_PATH: '/opt/ff/ffprobe' }));
    expect(logger.level).toBe('error');
    expect(ffmpegPaths()).toEqual({ ffmpegPath: '/opt/ff/ffmpeg', ffprobePath: '/opt/ff/ffprobe' });
    applyRuntimeConfig(loadRuntimeConfig.parse({}), { defaultLevel: 'warn' });
    expect(logger.level).toBe('warn');
    expect(ffmpegPaths()).toEqual({ ffmpegPath: 'ffmpeg', ffprobePath: 'ffprobe' });
  });

  it('LOG_LEVEL=verbose stops a process at start with one line naming the variable, no stack trace', async () => {
    const r = await new Promise<{ code: number | null; output: string }>((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'pipeline/cli.ts'), '--help'], {
        cwd: repoRoot,
        env: { ...process.env, LOG_LEVEL: 'verbose' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      child.stdout.on('data', (c) => (output += c));
      child.stderr.on('data', (c) => (output += c));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, output }));
    });
    expect(r.code).toBe(1);
    expect(r.output).toMatch(/^Invalid configuration \(runtime\): LOG_LEVEL: /);
    expect(r.output).not.toContain('    at ');
    expect(r.output).not.toContain('usage:');
  });
});
