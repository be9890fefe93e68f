import { existsSync } from 'node:fs';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { makeTempDir } from '../../testing/shotstack-media.js';
import { startLocalShotstack, type LocalShotstack } from './server.js';
import { clientFor, makeHostileFiles, rawRequest, renderOutcome, singleAssetEdit, type HostileFiles } from './test-support.js';

/**
 * Retention of the local renderer: what a previous process left is removed at start-up, sources and renders
 * expire after the TTL (by an injected clock, so nothing sleeps for a day), the periodic sweep runs on its own,
 * and discardRender removes a render and its sources at once. Checked on disk and over HTTP (404s).
 */
let tmp: { dir: string; cleanup: () => Promise<void> };
let files: HostileFiles;

beforeAll(async () => {
  tmp = await makeTempDir('shotstack-retention-');
  files = await makeHostileFiles(tmp.dir);
});

afterAll(async () => {
  await tmp?.cleanup();
});

const TTL = 60_000;
const sourceIdOf = (src: string) => /\/assets\/sources\/([^/]+)\//.exec(src)![1]!;
const status = async (url: string) => (await rawRequest(url, { method: 'GET' })).status;

async function withServer(opts: Parameters<typeof startLocalShotstack>[0], run: (s: LocalShotstack) => Promise<void>): Promise<void> {
  const server = await startLocalShotstack(opts);
  try {
    await run(server);
  } finally {
    await server.close();
  }
}

describe('local renderer retention', () => {
  it('removes at start-up what a previous process left in its data dir', async () => {
    const dataDir = join(tmp.dir, 'leftovers');
    for (const [dir, file] of [['sources/old-source', 'source.mp4'], ['renders', 'old-render.mp4'], ['work/old-job', 'output.mp4']] as const) {
      await mkdir(join(dataDir, dir), { recursive: true });
      await writeFile(join(dataDir, dir, file), 'old bytes');
    }
    await writeFile(join(dataDir, 'not-ours.txt'), 'kept');
    await withServer({ dataDir }, async () => {
      for (const dir of ['sources', 'renders', 'work']) expect(await readdir(join(dataDir, dir))).toEqual([]);
      expect(existsSync(join(dataDir, 'not-ours.txt'))).toBe(true);
    });
  });

  it('a second renderer started by mistake on the same data dir and port deletes nothing', async () => {
    const dataDir = join(tmp.dir, 'shared');
    await withServer({ dataDir }, async (first) => {
      const src = await clientFor(first).ingestFile(files.canary);
      await expect(startLocalShotstack({ dataDir, port: first.port })).rejects.toThrow(/EADDRINUSE/);
      expect(await status(src)).toBe(200);
    });
  });

  it('removes sources and renders older than the TTL, keeps younger ones', async () => {
    let t = Date.parse('2030-01-01T00:00:00Z');
    await withServer({ retentionMs: TTL, now: () => t, sweepIntervalMs: 3_600_000 }, async (server) => {
      const client = clientFor(server);
      const oldSrc = await client.ingestFile(files.canary);
      const render = await renderOutcome(server, singleAssetEdit(oldSrc), tmp.dir);
      expect(render.error).toBeUndefined();
      t += TTL / 2;
      const youngSrc = await client.ingestFile(files.canary);
      const renderUrl = `${server.url}/assets/renders/${render.id}.mp4`;

      t += TTL / 2 - 1;
      await server.sweepExpired();
      expect(await status(oldSrc)).toBe(200); // one millisecond short of the TTL
      expect(await status(renderUrl)).toBe(200);

      t += 1;
      await server.sweepExpired();
      expect(existsSync(join(server.dataDir, 'sources', sourceIdOf(oldSrc)))).toBe(false);
      expect(existsSync(join(server.dataDir, 'renders', `${render.id}.mp4`))).toBe(false);
      expect(await status(oldSrc)).toBe(404);
      expect(await status(renderUrl)).toBe(404);
      expect(await status(`${server.url}/edit/stage/render/${render.id}`)).toBe(404);
      expect(await status(`${server.url}/ingest/stage/sources/${sourceIdOf(oldSrc)}`)).toBe(404);
      expect(await status(youngSrc)).toBe(200);
      expect(existsSync(join(server.dataDir, 'sources', sourceIdOf(youngSrc)))).toBe(true);
    });
  });

  it('sweeps on its own timer', async () => {
    let t = Date.now();
    await withServer({ retentionMs: TTL, now: () => t, sweepIntervalMs: 50 }, async (server) => {
      const src = await clientFor(server).ingestFile(files.canary);
      const dir = join(server.dataDir, 'sources', sourceIdOf(src));
      expect(existsSync(dir)).toBe(true);
      t += TTL;
      await vi.waitFor(() => expect(existsSync(dir)).toBe(false), { timeout: 5000, interval: 50 });
    });
  });

  it('discardRender removes the render and the sources its Edit used, nothing else', async () => {
    await withServer({}, async (server) => {
      const client = clientFor(server);
      const [used, other] = [await client.ingestFile(files.canary), await client.ingestFile(files.canary)];
      const render = await renderOutcome(server, singleAssetEdit(used!), tmp.dir);
      expect(render.error).toBeUndefined();
      await server.discardRender(render.id);
      expect(await readdir(join(server.dataDir, 'renders'))).toEqual([]);
      expect(existsSync(join(server.dataDir, 'sources', sourceIdOf(used!)))).toBe(false);
      expect(await status(used!)).toBe(404);
      expect(await status(other!)).toBe(200);
      await server.discardRender(render.id); // twice (a retried job) is fine
    });
  });

  it('keeps no bytes of an upload it could not import', async () => {
    await withServer({}, async (server) => {
      await expect(clientFor(server).ingestFile(files.hls)).rejects.toThrow(/ended as "failed"/);
      expect(await readdir(join(server.dataDir, 'sources'))).toEqual([]);
    });
  });
});
