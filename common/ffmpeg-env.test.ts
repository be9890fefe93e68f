import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configureFfmpeg, runFfmpeg, toolEnv } from './ffmpeg.js';

/**
 * ffmpeg parses what users send; whatever it is made to do, it must not find the bot token or an API key in its
 * environment. It gets the malloc settings that keep libvpx's per-frame buffers off fresh pages.
 */
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bc-ffenv-'));
});
afterAll(async () => {
  configureFfmpeg();
  await rm(dir, { recursive: true, force: true });
});

describe('the environment ffmpeg runs in', () => {
  it('holds no secret of ours, only what running a binary needs, plus the malloc tunables', async () => {
    // A stand-in "ffmpeg" that writes out the environment it was given.
    const dump = join(dir, 'env.txt');
    const fake = join(dir, 'ffmpeg-env');
    await writeFile(fake, `#!/bin/sh\nenv > ${dump}\n`);
    await chmod(fake, 0o755);
    configureFfmpeg({ ffmpegPath: fake });
    const saved = process.env.BOT_TOKEN;
    process.env.BOT_TOKEN = '123456:secret-token';
    try {
      await runFfmpeg(['-version']);
    } finally {
      if (saved === undefined) delete process.env.BOT_TOKEN;
      else process.env.BOT_TOKEN = saved;
    }
    const env = await readFile(dump, 'utf8');
    expect(env).not.toContain('secret-token');
    expect(env).toMatch(/^PATH=/m);
    expect(env).toMatch(/^GLIBC_TUNABLES=glibc\.malloc\.mmap_threshold=\d+/m);
  });

  it("keeps an operator's own GLIBC_TUNABLES", () => {
    expect(toolEnv({ GLIBC_TUNABLES: 'glibc.malloc.arena_max=2', SHOTSTACK_API_KEY: 'k' })).toEqual({
      GLIBC_TUNABLES: 'glibc.malloc.arena_max=2',
    });
  });
});
