import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isMediaError } from '../common/errors.js';
import { probeMedia } from '../common/ffmpeg.js';
import { composePreview } from '../bot/preview/compose-preview.js';
import { DEFAULT_OPTIONS } from '../bot/flow/options.js';
import { parseOverlayOptions, renderOverlay } from '../engine/index.js';
import { AUTH, jobFolders, startTestServer } from '../gpu-worker/server/test-support.js';
import { failureText } from '../pipeline/messages.js';
import { makeHostileSet, makeLyingDurationMkv, type HostileSet } from './hostile-media.js';
import { media, needSharedMedia, repoRoot } from './media.js';

/**
 * What an attacker sends, tried where user bytes first meet ffmpeg: the probe every stage uses, the engine (head
 * video), and `npm run render` (background video). Each input is refused with its own code and a human message in
 * ru and en, within seconds, without an output file — and the other user's canary file is never decoded.
 */
const MAX_DURATION_SEC = 10;
const REFUSE_WITHIN_MS = 5_000;
let dir: string;
let set: HostileSet;
const seconds: Record<string, number> = {};

async function refusal(run: () => Promise<unknown>): Promise<{ code: string; ms: number }> {
  const t0 = performance.now();
  const err = await run().then(
    () => null,
    (e: unknown) => e,
  );
  const ms = performance.now() - t0;
  if (!isMediaError(err)) throw new Error(`expected a MediaError, got ${err === null ? 'success' : String(err)}`);
  return { code: err.code, ms };
}

describe.skipIf(!needSharedMedia())('hostile uploads', () => {
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bubblecast-hostile-'));
    set = await makeHostileSet(dir, { longerThanSec: MAX_DURATION_SEC });
  }, 60_000);
  afterAll(async () => {
    console.log(`hostile inputs refused (ms): ${JSON.stringify(seconds)}`);
    await rm(dir, { recursive: true, force: true });
  });

  it('the probe refuses each with its own code, within seconds', async () => {
    for (const [name, path] of Object.entries(set.files)) {
      const r = await refusal(() => probeMedia(path, { maxDurationSec: MAX_DURATION_SEC, minDurationSec: 0.5 }));
      expect({ name, code: r.code }).toEqual({ name, code: set.expected[name] });
      expect(r.ms).toBeLessThan(REFUSE_WITHIN_MS);
      seconds[`probe:${name}`] = Math.round(r.ms);
    }
  });

  it('every refusal has a human message in ru and en, not the generic one', () => {
    for (const code of new Set(Object.values(set.expected))) {
      for (const lang of ['ru', 'en'] as const) {
        const text = failureText(code as Parameters<typeof failureText>[0], lang);
        expect(text.length).toBeGreaterThan(20);
        expect(text).not.toBe(failureText('internal', lang));
      }
    }
    expect(failureText('still_image', 'ru')).toMatch(/фото/i);
    expect(failureText('still_image', 'en')).toMatch(/photo/i);
  });

  it('as the head video, the engine refuses each and writes nothing', async () => {
    for (const [name, path] of Object.entries(set.files)) {
      const out = join(dir, `engine-${name}`);
      const r = await refusal(() =>
        renderOverlay(path, out, parseOverlayOptions({ formats: ['webm', 'mask'], maxDurationSec: MAX_DURATION_SEC })),
      );
      expect({ name, code: r.code }).toEqual({ name, code: set.expected[name] });
      expect(r.ms).toBeLessThan(REFUSE_WITHIN_MS);
      const left = existsSync(out) ? await readdir(out) : [];
      expect({ name, left }).toEqual({ name, left: [] });
      seconds[`engine:${name}`] = Math.round(r.ms);
    }
  });

  it("the bot's preview refuses each, as head or as background, without writing a picture", async () => {
    for (const [name, path] of Object.entries(set.files)) {
      for (const role of ['head', 'background'] as const) {
        const outPath = join(dir, `preview-${name}-${role}.jpg`);
        const r = await refusal(() =>
          composePreview({
            headPath: role === 'head' ? path : media('hopper_static_720x720.mp4'),
            backgroundPath: role === 'background' ? path : null,
            output: role === 'head' ? 'note' : 'video',
            options: DEFAULT_OPTIONS,
            outPath,
          }),
        );
        expect({ name, role, code: r.code }).toEqual({ name, role, code: set.expected[name] });
        expect(existsSync(outPath)).toBe(false);
        seconds[`preview-${role}:${name}`] = Math.round(r.ms);
      }
    }
  });

  it('as an upload to the GPU worker, each is answered 422 with its code and leaves no job folder', async () => {
    const srv = await startTestServer(join(dir, 'gpu-worker'));
    try {
      for (const [name, path] of Object.entries(set.files)) {
        const t0 = performance.now();
        const res = await fetch(`${srv.url}/v1/jobs`, {
          method: 'POST',
          body: await readFile(path),
          headers: { ...AUTH, 'content-type': 'application/octet-stream', 'x-overlay-options': JSON.stringify({ maxDurationSec: MAX_DURATION_SEC }) },
        });
        const body = (await res.json()) as { error?: { code?: string } };
        expect({ name, status: res.status, code: body.error?.code }).toEqual({ name, status: 422, code: set.expected[name] });
        seconds[`gpu-upload:${name}`] = Math.round(performance.now() - t0);
      }
      expect(await jobFolders(srv.workDir)).toEqual([]);
    } finally {
      await srv.close('test end');
    }
  });

  it('file names are never read as ffmpeg protocols (concat:, subfile:, data:)', async () => {
    for (const name of [`concat:${set.canary}|${set.canary}`, `subfile:,start,0,end,0,:${set.canary}`, 'data:video/mp4;base64,AAAA']) {
      // The gate hands ffmpeg `file:<absolute path>`, so such a name is a (missing) file, never the canary.
      await expect(probeMedia(name)).rejects.toMatchObject({ code: 'ENOENT' });
    }
  });

  it('a header that under-states the length: decoding stops as too_long soon after the promised end', async () => {
    const lying = await makeLyingDurationMkv(dir, 2);
    const out = join(dir, 'engine-lying');
    const r = await refusal(() => renderOverlay(lying, out, parseOverlayOptions({ formats: ['webm'], maxDurationSec: 180 })));
    expect(r.code).toBe('too_long');
    const left = existsSync(out) ? await readdir(out) : [];
    expect(left).toEqual([]);
    seconds['engine:lying_duration_mkv'] = Math.round(r.ms);
  }, 60_000);

  it('as the background of `npm run render`, a playlist naming another job file is refused before any work', async () => {
    const out = join(dir, 'render-out.mp4');
    const t0 = performance.now();
    const { code, output } = await runRenderCli([
      '--head', media('hopper_static_720x720.mp4'),
      '--background', set.files.hls_playlist!,
      '--out', out,
    ]);
    seconds['render-cli:hls_background'] = Math.round(performance.now() - t0);
    expect(code).not.toBe(0);
    expect(output).toContain('media:not_video');
    expect(existsSync(out)).toBe(false);
  }, 60_000);
});

function runRenderCli(args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'pipeline', 'cli.ts'), ...args], {
      cwd: repoRoot,
      env: { ...process.env, LOG_LEVEL: 'silent', SHOTSTACK_API_KEY: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    p.stdout.on('data', (c) => (output += c));
    p.stderr.on('data', (c) => (output += c));
    p.on('error', reject);
    p.on('close', (code) => resolve({ code, output }));
  });
}

