import { createReadStream } from 'node:fs';
import { stat, writeFile } from 'node:fs/promises';
import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { runFfmpeg } from '../../common/ffmpeg.js';
import { readFrames } from '../../testing/media.js';
import { createShotstackClient, type ShotstackClient } from '../client.js';
import { isShotstackError } from '../errors.js';
import type { Edit } from '../types.js';
import type { LocalShotstack } from './server.js';

/**
 * Test support for the hardening tests of the local renderer: a canary video of a colour nothing else uses, the
 * hostile files that name it (an HLS playlist, an ffconcat list, both saved as `.mp4`), a loopback "asset host"
 * that serves them and answers redirects, and a pixel check that tells whether the canary leaked into a render.
 */
export const CANARY_RGB = [16, 224, 160] as const;
const CANARY_HEX = '0x10E0A0';
export const SIDE = 64;

export interface HostileFiles {
  canary: string;
  /** `#EXTM3U` naming the canary by absolute path, saved as evil.mp4. */
  hls: string;
  /** `ffconcat version 1.0` naming the canary by absolute path, saved as concat.mp4. */
  concat: string;
}

export async function makeHostileFiles(dir: string): Promise<HostileFiles> {
  const canary = join(dir, 'canary.mp4');
  await runFfmpeg([
    '-f', 'lavfi', '-i', `color=c=${CANARY_HEX}:s=${SIDE}x${SIDE}:d=1:r=25`,
    '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-threads', '2', '-an', canary,
  ]);
  const hls = join(dir, 'evil.mp4');
  await writeFile(hls, `#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\n${canary}\n#EXT-X-ENDLIST\n`);
  const concat = join(dir, 'concat.mp4');
  await writeFile(concat, `ffconcat version 1.0\nfile '${canary}'\n`);
  return { canary, hls, concat };
}

/** True when any pixel of any frame of `file` has the canary's colour. */
export async function showsCanary(file: string): Promise<boolean> {
  const rgb = await readFrames(file, { pixFmt: 'rgb24' });
  for (let i = 0; i + 2 < rgb.length; i += 3) {
    if (CANARY_RGB.every((c, k) => Math.abs(rgb[i + k]! - c) <= 30)) return true;
  }
  return false;
}

/** A one-track Edit: `src` full frame, SIDE×SIDE, 1 s, mute. */
export function singleAssetEdit(src: string, clip: Record<string, unknown> = {}): Edit {
  return {
    timeline: { tracks: [{ clips: [{ asset: { type: 'video', src }, start: 0, length: 1, ...clip }] }] },
    output: { format: 'mp4', size: { width: SIDE, height: SIDE }, fps: 25, mute: true },
  } as Edit;
}

export function clientFor(server: LocalShotstack): ShotstackClient {
  return createShotstackClient({ apiUrl: server.url, env: 'stage', pollIntervalMs: 20, maxRetries: 0 });
}

export type RenderOutcome = { id: string; file: string; error?: undefined } | { id: string; error: string; file?: undefined };

/** Submits, waits, downloads: the render's file, or the error Shotstack-style `failed` carries. */
export async function renderOutcome(server: LocalShotstack, edit: Edit, dir: string): Promise<RenderOutcome> {
  const client = clientFor(server);
  const id = await client.submitRender(edit);
  try {
    const done = await client.waitForRender(id, { timeoutMs: 60_000 });
    const file = join(dir, `${id}.mp4`);
    await client.downloadTo(done.url, file);
    return { id, file };
  } catch (e) {
    if (isShotstackError(e) && e.kind === 'render_failed') return { id, error: e.serviceMessage ?? e.message };
    throw e;
  }
}

export interface AssetHost {
  url: string;
  port: number;
  /** Request paths received, in order. */
  hits: string[];
  close(): Promise<void>;
}

/**
 * A loopback HTTP server standing in for "the internet": `/files/{name}` serves a file (with Content-Length),
 * `/chunked/{name}` the same without it, `/redirect?to=URL` answers 302 to URL, `/chain/{n}` redirects n times
 * before landing on the canary.
 */
export async function startAssetHost(files: Record<string, string>): Promise<AssetHost> {
  const hits: string[] = [];
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://host');
    hits.push(url.pathname + url.search);
    let m: RegExpMatchArray | null;
    if ((m = url.pathname.match(/^\/(files|chunked)\/(.+)$/)) && files[m[2]!]) {
      const file = files[m[2]!]!;
      void stat(file)
        .then(async ({ size }) => {
          res.writeHead(200, { 'content-type': 'video/mp4', ...(m![1] === 'files' ? { 'content-length': String(size) } : {}) });
          await pipeline(createReadStream(file), res);
        })
        // The renderer hanging up mid-body (its download cap) is what some tests want: not an error here.
        .catch(() => res.destroy());
      return;
    }
    if (url.pathname === '/redirect') {
      res.writeHead(302, { location: url.searchParams.get('to') ?? '/' });
      return void res.end();
    }
    if ((m = url.pathname.match(/^\/chain\/(\d+)$/))) {
      const n = Number(m[1]);
      res.writeHead(302, { location: n > 1 ? `/chain/${n - 1}` : '/files/canary.mp4' });
      return void res.end();
    }
    res.writeHead(404);
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    hits,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/**
 * One plain HTTP request (the client library would refuse or retry what these tests send on purpose). Resolves
 * with the answer even when the server closes the connection right after it, as it does for refused bodies.
 */
export function rawRequest(
  url: string,
  o: { method: string; headers?: Record<string, string>; body?: Buffer | string; chunked?: boolean },
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: o.method, headers: o.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    if (o.chunked) req.setHeader('transfer-encoding', 'chunked');
    req.end(o.body);
  });
}
