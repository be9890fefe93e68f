import { existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runFfmpeg } from '../../common/ffmpeg.js';
import { frameAt, makeTempDir } from '../../testing/shotstack-media.js';
import { buildRenderArgs } from './ffmpeg-args.js';
import { planRender, type AssetInfo } from './plan.js';
import { startLocalShotstack, type LocalShotstack } from './server.js';
import {
  CANARY_RGB,
  SIDE,
  clientFor,
  makeHostileFiles,
  renderOutcome,
  showsCanary,
  singleAssetEdit,
  startAssetHost,
  type AssetHost,
  type HostileFiles,
} from './test-support.js';

/**
 * Hostile render assets against the local renderer, over real loopback HTTP with real ffmpeg: playlists that name
 * a local file, URLs and redirects to private addresses, oversized downloads. Every refusal is checked by its
 * message (so a refusal for another reason does not pass) and, for the media cases, by the canary's colour never
 * reaching an output. The controls (the canary itself, redirects to an allowed address) show the same path
 * renders when nothing is wrong, so the refusals are not an artefact of a broken setup.
 */
let tmp: { dir: string; cleanup: () => Promise<void> };
let files: HostileFiles;
let host: AssetHost;
/** Default options: public addresses only. */
let strict: LocalShotstack;
/** Loopback 127.0.0.1 allow-listed, as a test that serves its assets itself needs. */
let loopback: LocalShotstack;

const CAP = 300;
let capped: LocalShotstack;
/** Resolves the test-only names below itself (the machine's DNS knows none of them). */
let pinned: LocalShotstack;

beforeAll(async () => {
  tmp = await makeTempDir('shotstack-hostile-');
  files = await makeHostileFiles(tmp.dir);
  host = await startAssetHost({ 'canary.mp4': files.canary, 'evil.mp4': files.hls, 'concat.mp4': files.concat });
  strict = await startLocalShotstack();
  loopback = await startLocalShotstack({ assetAddressAllowList: ['127.0.0.1'] });
  capped = await startLocalShotstack({ assetAddressAllowList: ['127.0.0.1'], limits: { maxAssetBytes: CAP } });
  pinned = await startLocalShotstack({
    assetAddressAllowList: ['127.0.0.1'],
    resolveAssetHost: async (name) => {
      if (name === 'assets.invalid') return [{ address: '127.0.0.1', family: 4 }];
      if (name === 'mixed.invalid') return [{ address: '127.0.0.1', family: 4 }, { address: '10.0.0.1', family: 4 }];
      throw Object.assign(new Error('not found'), { code: 'ENOTFOUND' });
    },
  });
});

afterAll(async () => {
  await Promise.all([strict, loopback, capped, pinned].map((s) => s?.close()));
  await host?.close();
  await tmp?.cleanup();
});

const renderedFile = (server: LocalShotstack, id: string) => join(server.dataDir, 'renders', `${id}.mp4`);

describe('playlists and lists as render assets', () => {
  it('control: the canary itself, fetched from an allowed address, renders and shows its colour', async () => {
    const out = await renderOutcome(loopback, singleAssetEdit(`${host.url}/files/canary.mp4`), tmp.dir);
    expect(out.error).toBeUndefined();
    expect(await showsCanary(out.file!)).toBe(true);
  });

  for (const [label, name] of [['an HLS playlist', 'evil.mp4'], ['an ffconcat list', 'concat.mp4']] as const) {
    it(`refuses ${label} that names a local file; the canary reaches no output`, async () => {
      const src = `${host.url}/files/${name}`;
      const out = await renderOutcome(loopback, singleAssetEdit(src), tmp.dir);
      expect(out.error).toContain(`Asset ${src} is not a video or image the renderer can read`);
      expect(existsSync(renderedFile(loopback, out.id))).toBe(false);
      expect(host.hits).toContain(`/files/${name}`); // it was fetched: the refusal is the gate's, not the network's
    });

    it(`refuses ${label} uploaded as a source (ingest ends "failed")`, async () => {
      const path = name === 'evil.mp4' ? files.hls : files.concat;
      await expect(clientFor(loopback).ingestFile(path)).rejects.toThrow(/ended as "failed"/);
    });
  }

  it('still accepts a PNG luma (an allowed image demuxer): it masks its clip for the whole clip', async () => {
    const png = join(tmp.dir, 'left-half.png');
    await runFfmpeg(['-f', 'lavfi', '-i', `color=c=black:s=${SIDE}x${SIDE},format=gray,geq=lum='255*lt(X,${SIDE / 2})'`, '-frames:v', '1', png]);
    const client = clientFor(loopback);
    const [video, matte] = [await client.ingestFile(files.canary), await client.ingestFile(png)];
    const edit = singleAssetEdit(video!);
    edit.timeline.tracks[0]!.clips.push({ asset: { type: 'luma', src: matte! }, start: 0, length: 1 });
    const out = await renderOutcome(loopback, edit, tmp.dir);
    expect(out.error).toBeUndefined();
    const isCanary = (p: readonly number[]) => CANARY_RGB.every((c, k) => Math.abs(p[k]! - c) <= 30);
    for (const frame of [2, 22]) {
      const px = await frameAt(out.file!, frame, SIDE);
      expect([isCanary(px(SIDE / 4, SIDE / 2)), isCanary(px((3 * SIDE) / 4, SIDE / 2))]).toEqual([true, false]);
    }
  });

  it('opens assets through the gate in the render itself: a playlist that got past the probe still renders nothing', async () => {
    const info: AssetInfo = { width: SIDE, height: SIDE, durationSec: 1, hasAudio: false, alphaDecoder: null, hasAlpha: false };
    const plan = planRender(singleAssetEdit('http://assets.invalid/x.mp4'), () => info);
    const render = (input: string, out: string) =>
      runFfmpeg(buildRenderArgs(plan, () => input, out));

    const control = join(tmp.dir, 'gate-control.mp4');
    await render(files.canary, control);
    expect(await showsCanary(control)).toBe(true);

    const hostile = join(tmp.dir, 'gate-hls.mp4');
    await expect(render(files.hls, hostile)).rejects.toThrow(/whitelist/);
    expect(existsSync(hostile) && (await showsCanary(hostile))).toBe(false);
  });
});

describe('asset URLs and redirects: public addresses only', () => {
  it('control: the strict default still renders its own ingested sources (read from its store, not fetched)', async () => {
    const src = await clientFor(strict).ingestFile(files.canary);
    const out = await renderOutcome(strict, singleAssetEdit(src), tmp.dir);
    expect(out.error).toBeUndefined();
    expect(await showsCanary(out.file!)).toBe(true);
  });

  const firstHops: [string, (port: number) => string, RegExp][] = [
    ['127.0.0.1', (p) => `http://127.0.0.1:${p}/files/canary.mp4?first`, /127\.0\.0\.1 is not a public address/],
    ['localhost', (p) => `http://localhost:${p}/files/canary.mp4?localhost`, /localhost resolves to (127\.0\.0\.1|::1), which is not a public address/],
    ['[::ffff:127.0.0.1]', (p) => `http://[::ffff:127.0.0.1]:${p}/files/canary.mp4?mapped`, /is not a public address/],
    ['[::1]', (p) => `http://[::1]:${p}/files/canary.mp4?v6`, /::1 is not a public address/],
  ];
  for (const [label, url, message] of firstHops) {
    it(`without an allow-list, refuses the very first hop to ${label} (nothing is requested)`, async () => {
      const src = url(host.port);
      const out = await renderOutcome(strict, singleAssetEdit(src), tmp.dir);
      expect(out.error).toMatch(message);
      expect(host.hits.filter((h) => h.endsWith(new URL(src).search))).toEqual([]);
    });
  }

  it('control: with 127.0.0.1 allow-listed, a redirect to 127.0.0.1 is followed and renders', async () => {
    const src = `${host.url}/redirect?to=${encodeURIComponent(`${host.url}/files/canary.mp4`)}`;
    const out = await renderOutcome(loopback, singleAssetEdit(src), tmp.dir);
    expect(out.error).toBeUndefined();
    expect(await showsCanary(out.file!)).toBe(true);
  });

  const targets: [string, string, RegExp][] = [
    ['the metadata service 169.254.169.254', 'http://169.254.169.254/latest/meta-data/', /169\.254\.169\.254 is not a public address/],
    ['a private 10.x address', 'http://10.0.0.1/video.mp4', /10\.0\.0\.1 is not a public address/],
    ['another loopback address (127.0.0.2)', 'http://127.0.0.2/video.mp4', /127\.0\.0\.2 is not a public address/],
    ['metadata behind an IPv4-mapped IPv6 literal', 'http://[::ffff:169.254.169.254]/', /is not a public address/],
    ['a file: URL', 'file:///etc/passwd', /redirected to a file: URL/],
  ];
  for (const [label, to, message] of targets) {
    it(`with 127.0.0.1 allow-listed, refuses a redirect to ${label}`, async () => {
      const src = `${host.url}/redirect?to=${encodeURIComponent(to)}`;
      const out = await renderOutcome(loopback, singleAssetEdit(src), tmp.dir);
      expect(out.error).toMatch(message);
      expect(out.error).toContain(`Unable to download asset ${src}`);
    });
  }

  it('follows 5 redirects and refuses a 6th', async () => {
    const five = await renderOutcome(loopback, singleAssetEdit(`${host.url}/chain/5`), tmp.dir);
    expect(five.error).toBeUndefined();
    const six = await renderOutcome(loopback, singleAssetEdit(`${host.url}/chain/6`), tmp.dir);
    expect(six.error).toMatch(/more than 5 redirects/);
  });

  it('connects to the address it checked: a name only the renderer resolves renders', async () => {
    // The machine's DNS cannot resolve assets.invalid: a second lookup at connect time would fail the download.
    const out = await renderOutcome(pinned, singleAssetEdit(`http://assets.invalid:${host.port}/files/canary.mp4?pinned`), tmp.dir);
    expect(out.error).toBeUndefined();
    expect(host.hits).toContain('/files/canary.mp4?pinned');
  });

  it('refuses a name when any one of its addresses is private, and a name that does not resolve', async () => {
    const mixed = await renderOutcome(pinned, singleAssetEdit(`http://mixed.invalid:${host.port}/files/canary.mp4?mixed`), tmp.dir);
    expect(mixed.error).toMatch(/mixed\.invalid resolves to 10\.0\.0\.1, which is not a public address/);
    expect(host.hits).not.toContain('/files/canary.mp4?mixed');
    const nx = await renderOutcome(pinned, singleAssetEdit(`http://nx.invalid:${host.port}/files/canary.mp4`), tmp.dir);
    expect(nx.error).toMatch(/cannot resolve nx\.invalid \(ENOTFOUND\)/);
  });
});

describe('download cap', () => {
  it(`refuses an asset whose Content-Length is over the cap, and cuts off a chunked one that runs past it`, async () => {
    expect((await stat(files.canary)).size).toBeGreaterThan(2 * CAP);
    const declared = await renderOutcome(capped, singleAssetEdit(`${host.url}/files/canary.mp4?cap`), tmp.dir);
    expect(declared.error).toMatch(new RegExp(`\\d+ bytes, over the ${CAP}-byte limit`));
    const chunked = await renderOutcome(capped, singleAssetEdit(`${host.url}/chunked/canary.mp4?cap`), tmp.dir);
    expect(chunked.error).toMatch(new RegExp(`more than the ${CAP}-byte limit`));
  });
});
