import { existsSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir } from '../../testing/shotstack-media.js';
import type { Edit } from '../types.js';
import { DEFAULT_LIMITS, checkPlanLimits, type LocalLimits } from './limits.js';
import { PlanError, planRender, type AssetInfo } from './plan.js';
import { startLocalShotstack, type LocalShotstack } from './server.js';
import { clientFor, makeHostileFiles, rawRequest, renderOutcome, singleAssetEdit, type HostileFiles } from './test-support.js';
import { validateEdit } from './validation.js';

/**
 * Caps on what one request may cost: timeline size and length, output size and JSON body size are refused at
 * submit with a 400 shaped like Shotstack's ValidationError; uploads over the cap get S3's EntityTooLarge; what
 * depends on the assets fails the render. Each cap is tested just over and (where it matters) just under.
 */
const LIMITS: Partial<LocalLimits> = {
  maxTracks: 3,
  maxClips: 4,
  maxDurationSec: 20,
  maxOutputPixels: 1280 * 720,
  maxEditBytes: 4096,
  maxUploadBytes: 64 * 1024,
};
const limits: LocalLimits = { ...DEFAULT_LIMITS, ...LIMITS };

let tmp: { dir: string; cleanup: () => Promise<void> };
let files: HostileFiles;
let server: LocalShotstack;

beforeAll(async () => {
  tmp = await makeTempDir('shotstack-limits-');
  files = await makeHostileFiles(tmp.dir);
  server = await startLocalShotstack({ limits: LIMITS });
});

afterAll(async () => {
  await server?.close();
  await tmp?.cleanup();
});

const SRC = 'http://assets.example/v.mp4';
const clip = (start: number | 'auto', length: number | 'auto' | 'end') => ({ asset: { type: 'video', src: SRC }, start, length });
const editOf = (tracks: unknown[][], output: Record<string, unknown> = { format: 'mp4', resolution: 'sd' }) => ({
  timeline: { tracks: tracks.map((clips) => ({ clips })) },
  output,
});
const limitMessages = (body: unknown) => {
  const r = validateEdit(body, limits);
  return r.ok ? [] : r.details.filter((d) => d.type === 'local.limit').map((d) => d.message);
};

describe('timeline caps at submit', () => {
  it('counts tracks and clips', () => {
    expect(limitMessages(editOf([[clip(0, 1)], [clip(0, 1)], [clip(0, 1)]]))).toEqual([]);
    expect(limitMessages(editOf([[clip(0, 1)], [clip(0, 1)], [clip(0, 1)], [clip(0, 1)]]))).toEqual([
      '"timeline.tracks" has 4 tracks; the local renderer takes at most 3',
    ]);
    expect(limitMessages(editOf([[clip(0, 1), clip(1, 1), clip(2, 1)], [clip(0, 1), clip(1, 1)]]))).toEqual([
      '"timeline.tracks" has 5 clips; the local renderer takes at most 4',
    ]);
  });

  it('measures the length it can know: numbers, and "auto" starts after known ends', () => {
    expect(limitMessages(editOf([[clip(0, 20)]]))).toEqual([]);
    expect(limitMessages(editOf([[clip(19, 2)]]))).toEqual(['"timeline" lasts at least 21 s; the local renderer renders at most 20 s']);
    expect(limitMessages(editOf([[clip(0, 15), clip('auto', 6)]]))).toEqual(['"timeline" lasts at least 21 s; the local renderer renders at most 20 s']);
    expect(limitMessages(editOf([[clip(0, 'auto'), clip('auto', 30)]]))).toEqual([]); // unknown until probed: see the plan check
  });

  it('refuses an output over the pixel cap, by size or by preset', () => {
    expect(limitMessages(editOf([[clip(0, 1)]], { format: 'mp4', resolution: 'hd' }))).toEqual([]);
    expect(limitMessages(editOf([[clip(0, 1)]], { format: 'mp4', resolution: '1080' }))).toEqual([
      '"output" is 1920×1080; the local renderer renders at most 921600 pixels',
    ]);
    expect(limitMessages(editOf([[clip(0, 1)]], { format: 'mp4', size: { width: 4000, height: 4000 } }))).toHaveLength(1);
  });

  it('answers over HTTP with a 400 in Shotstack’s ValidationError shape', async () => {
    const res = await rawRequest(`${server.url}/edit/stage/render`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(editOf([[clip(0, 1)], [clip(0, 1)], [clip(0, 1)], [clip(0, 1)]])),
    });
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body)).toEqual({
      success: false,
      message: 'Bad Request',
      response: {
        error: {
          name: 'ValidationError',
          details: [{ message: '"timeline.tracks" has 4 tracks; the local renderer takes at most 3', path: ['timeline', 'tracks'], type: 'local.limit' }],
        },
      },
    });
  });

  it('refuses a JSON body over the cap, announced or chunked, with the same shape', async () => {
    const big = JSON.stringify({ ...editOf([[clip(0, 1)]]), padding: 'x'.repeat(8192) });
    const expected = {
      success: false,
      message: 'Bad Request',
      response: { error: { name: 'ValidationError', details: [{ message: '"body" must be at most 4096 bytes', path: [], type: 'local.limit' }] } },
    };
    for (const chunked of [false, true]) {
      const res = await rawRequest(`${server.url}/edit/stage/render`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: big, chunked });
      expect(res.status).toBe(400);
      expect(JSON.parse(res.body)).toEqual(expected);
    }
  });
});

describe('caps that depend on the assets fail the render', () => {
  const info: AssetInfo = { width: 640, height: 360, durationSec: 30, hasAudio: false, alphaDecoder: null, hasAlpha: false };
  const plan = (e: unknown) => planRender(e as Edit, () => info);

  it('refuses a timeline whose "auto" lengths run past the cap', () => {
    expect(() => checkPlanLimits(plan(editOf([[clip(0, 'auto')]])), limits)).toThrow(
      new PlanError('the timeline lasts 30 s; the local renderer renders at most 20 s'),
    );
    expect(() => checkPlanLimits(plan(editOf([[clip(0, 20)]])), limits)).not.toThrow();
  });

  it('refuses a layer scaled far beyond the output', () => {
    const scaled = (scale: number) => editOf([[{ ...clip(0, 1), scale }]]);
    expect(() => checkPlanLimits(plan(scaled(1.5)), limits)).not.toThrow();
    expect(() => checkPlanLimits(plan(scaled(5)), limits)).toThrow(/scaled to 5120×2880/);
  });

  it('reports it as the failed render’s error', async () => {
    const short = await startLocalShotstack({ limits: { maxDurationSec: 0.5 } });
    try {
      const src = await clientFor(short).ingestFile(files.canary);
      const out = await renderOutcome(short, singleAssetEdit(src, { length: 'auto' }), tmp.dir);
      expect(out.error).toMatch(/the timeline lasts 1(\.\d+)? s; the local renderer renders at most 0.5 s/);
    } finally {
      await short.close();
    }
  });
});

describe('upload cap', () => {
  async function uploadSlot(): Promise<{ id: string; url: string }> {
    const res = await rawRequest(`${server.url}/ingest/stage/upload`, { method: 'POST' });
    const { data } = JSON.parse(res.body) as { data: { id: string; attributes: { url: string } } };
    return { id: data.id, url: data.attributes.url };
  }

  it('accepts an upload under the cap (control)', async () => {
    expect((await stat(files.canary)).size).toBeLessThan(64 * 1024);
    const src = await clientFor(server).ingestFile(files.canary);
    expect(src).toMatch(/\/assets\/sources\//);
  });

  it('refuses an upload whose Content-Length is over the cap without storing a byte', async () => {
    const slot = await uploadSlot();
    const res = await rawRequest(slot.url, { method: 'PUT', body: Buffer.alloc(64 * 1024 + 1) });
    expect(res.status).toBe(400);
    expect(res.body).toContain('<Code>EntityTooLarge</Code>');
    expect(existsSync(join(server.dataDir, 'sources', slot.id))).toBe(false);
  });

  it('stops a chunked upload that runs past the cap and removes what it wrote', async () => {
    const slot = await uploadSlot();
    const res = await rawRequest(slot.url, { method: 'PUT', body: Buffer.alloc(128 * 1024), chunked: true });
    expect(res.status).toBe(400);
    expect(res.body).toContain('<Code>EntityTooLarge</Code>');
    expect(existsSync(join(server.dataDir, 'sources', slot.id))).toBe(false);
    expect(await readdir(join(server.dataDir, 'sources'))).not.toContain(slot.id);
  });
});
