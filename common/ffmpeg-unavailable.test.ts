import { spawn } from 'node:child_process';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { classifyError } from '../pipeline/classify.js';
import { failureText } from '../pipeline/messages.js';
import { repoRoot } from '../testing/media.js';
import { FfmpegUnavailableError, isFfmpegUnavailableError } from './errors.js';
import { checkFfmpegTools, configureFfmpeg, ffmpegPaths, probeMedia } from './ffmpeg.js';

/**
 * A missing or broken ffmpeg/ffprobe is the operator's problem: every entry point (render CLI, pipeline worker, bot,
 * GPU worker) stops at start with a message naming the binary, FFMPEG_PATH/FFPROBE_PATH and how to install it, and
 * a job that meets it fails as `pipeline:misconfigured` (the user reads "our side"), never `internal` or a media code.
 */
const INSTALL = 'sudo apt-get install -y ffmpeg';

let dir: string;
/** An "ffmpeg" that starts but fails, like a build missing a shared library. */
let broken: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bc-noffmpeg-'));
  broken = join(dir, 'ffmpeg-broken');
  await writeFile(broken, '#!/bin/sh\necho "error while loading shared libraries: libavcodec.so.59" >&2\nexit 1\n');
  await chmod(broken, 0o755);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function run(entry: string, args: string[], env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, entry), ...args], {
      cwd: repoRoot,
      env: { ...process.env, VITEST: '', LOG_LEVEL: 'info', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (c) => (output += c));
    child.stderr.on('data', (c) => (output += c));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

describe('checkFfmpegTools', () => {
  it('answers with both version lines when they work', async () => {
    const v = await checkFfmpegTools();
    expect(v.ffmpeg).toMatch(/^ffmpeg version /);
    expect(v.ffprobe).toMatch(/^ffprobe version /);
  });

  it('names the binary, its variable and the install command: missing, failing, or not ffmpeg at all', async () => {
    const missing = await checkFfmpegTools({ ffprobe: '/nonexistent/ffprobe' }).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(FfmpegUnavailableError);
    expect(missing).toMatchObject({ tool: 'ffprobe', variable: 'FFPROBE_PATH', path: '/nonexistent/ffprobe' });
    expect((missing as Error).message).toContain('ffprobe cannot run (FFPROBE_PATH=/nonexistent/ffprobe): not found');
    expect((missing as Error).message).toContain(INSTALL);
    expect((missing as Error).message).toContain('brew install ffmpeg');

    const failing = await checkFfmpegTools({ ffmpeg: broken }).catch((e: unknown) => e);
    expect(failing).toMatchObject({ tool: 'ffmpeg', variable: 'FFMPEG_PATH' });
    expect((failing as Error).message).toContain('failed (exit code 1): error while loading shared libraries: libavcodec.so.59');

    const impostor = await checkFfmpegTools({ ffmpeg: '/bin/true' }).catch((e: unknown) => e);
    expect((impostor as Error).message).toContain('does not answer as ffmpeg');
  });
});

describe('entry points stop at start, naming the binary', () => {
  it('npm run render: `failed: pipeline:misconfigured: …`, exit 1 — missing ffprobe, broken ffmpeg', async () => {
    const args = ['--head', join(dir, 'head.mp4'), '--background', join(dir, 'bg.mp4'), '--out', join(dir, 'out.mp4')];
    const missing = await run('pipeline/cli.ts', args, { FFPROBE_PATH: '/nonexistent/ffprobe' });
    expect(missing.code).toBe(1);
    expect(missing.output).toContain('failed: pipeline:misconfigured: ffprobe cannot run (FFPROBE_PATH=/nonexistent/ffprobe): not found');
    expect(missing.output).toContain(INSTALL);
    expect(missing.output).not.toContain('internal');

    const bad = await run('pipeline/cli.ts', args, { FFMPEG_PATH: broken });
    expect(bad.code).toBe(1);
    expect(bad.output).toContain(`failed: pipeline:misconfigured: ffmpeg cannot run (FFMPEG_PATH=${broken})`);
    expect(bad.output).toContain('libavcodec.so.59');
  });

  it('npm run worker: exits 1 with the message before it connects to Redis', async () => {
    // An unreachable Redis: the check runs first, so the process still stops at once with the ffmpeg message.
    const r = await run('pipeline/worker/main.ts', [], { FFMPEG_PATH: '/nonexistent/ffmpeg', REDIS_URL: 'redis://127.0.0.1:1' });
    expect(r.code).toBe(1);
    expect(r.output).toContain('ffmpeg cannot run (FFMPEG_PATH=/nonexistent/ffmpeg)');
    expect(r.output).toContain(INSTALL);
    expect(r.output).not.toMatch(/ECONNREFUSED|durability/);
  });

  it('npm run bot (previews on): exits 1 with the message and the BOT_PREVIEW way out', async () => {
    const r = await run('bot/main.ts', [], { BOT_TOKEN: '424242:bot-test-token-SECRET-abcdef', FFPROBE_PATH: broken, REDIS_URL: 'redis://127.0.0.1:1' });
    expect(r.code).toBe(1);
    expect(r.output).toContain(`ffprobe cannot run (FFPROBE_PATH=${broken})`);
    expect(r.output).toContain('BOT_PREVIEW=false');
  });

  it('npm run gpu-worker: exits 1 with the message', async () => {
    const r = await run('gpu-worker/server/main.ts', [], {
      GPU_WORKER_TOKEN: 'a-token-of-sixteen-chars',
      PORT: '0',
      FFMPEG_PATH: '/nonexistent/ffmpeg',
      BUBBLECAST_SERVICE: 'gpu-under-test',
    });
    expect(r.code).toBe(1);
    expect(r.output).toContain('ffmpeg cannot run (FFMPEG_PATH=/nonexistent/ffmpeg)');
    // The entry point applied the runtime config before logging: the fatal line carries its service.
    expect(r.output).toContain('"service":"gpu-under-test"');
  });
});

describe('a job that meets a missing ffprobe', () => {
  const configured = { ...ffmpegPaths() };
  afterEach(() => configureFfmpeg(configured));

  it('fails as pipeline:misconfigured, is not retried, and the user reads the "our side" text', async () => {
    // What a worker started with FFPROBE_PATH=/nonexistent/ffprobe has (its entry point applies the variable).
    configureFfmpeg({ ...configured, ffprobePath: '/nonexistent/ffprobe' });
    const video = join(dir, 'any.mp4');
    await writeFile(video, 'not even looked at');
    const err = await probeMedia(video).catch((e: unknown) => e);
    expect(isFfmpegUnavailableError(err)).toBe(true);
    const { failure, retryable } = classifyError(err);
    expect(failure).toMatchObject({ category: 'pipeline', code: 'misconfigured', userFixable: false });
    expect(failure.message).toContain('FFPROBE_PATH=/nonexistent/ffprobe');
    expect(retryable).toBe(false);
    expect(failureText(failure.code, 'en')).toBe('Something is wrong on our side. We are on it; please try again later.');
  });
});
