import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Api } from 'grammy';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeTelegram, type FakeTelegram } from '../testing/fake-telegram.js';
import { media, needSharedMedia, readFrames } from '../testing/media.js';
import { DEFAULT_OPTIONS, type ChosenOptions } from './flow/options.js';
import { composePreview } from './preview/compose-preview.js';
import { createPreviewService } from './preview/preview-service.js';
import { captureLogger, TOKEN } from './test-support.js';

/**
 * The preview photo: one frame composed on the CPU with the engine's pieces, placed by the pipeline's layout.
 * Checked on real footage with ground truth (hopper_static: a still speaker) over a synthetic background.
 */
describe.skipIf(!needSharedMedia())('preview', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bot-preview-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const opts = (o: Partial<ChosenOptions>): ChosenOptions => ({ ...DEFAULT_OPTIONS, ...o });
  const mean = (px: Buffer, W: number, x0: number, y0: number, x1: number, y1: number) => {
    let s = 0;
    let n = 0;
    for (let y = Math.round(y0); y < y1; y += 2) {
      for (let x = Math.round(x0); x < x1; x += 2) {
        s += px[(y * W + x) * 3]! + px[(y * W + x) * 3 + 1]! + px[(y * W + x) * 3 + 2]!;
        n++;
      }
    }
    return s / n / 3;
  };

  it('puts the cut-out speaker where the render will (16:9, top left, L) over the background, and nowhere else', async () => {
    // A black background: anything bright is the speaker.
    const black = join(dir, 'black.mp4');
    const { runFfmpeg } = await import('../common/ffmpeg.js');
    await runFfmpeg(['-f', 'lavfi', '-i', 'color=c=black:s=640x360:d=1:r=25', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', black]);
    const r = await composePreview({
      headPath: media('hopper_static_720x720.mp4'),
      backgroundPath: black,
      output: 'video',
      options: opts({ position: 'topLeft', size: 'L', aspect: '16:9' }),
      outPath: join(dir, 'a.jpg'),
    });
    // sd 16:9 = 1024×576; L = 0.5 × 576 = 288 px; margin 4% of the width ≈ 41 px.
    expect(r).toMatchObject({ width: 1024, height: 576, bubble: { side: 288, x: 41, y: 41 } });
    expect(r.personCoverage).toBeGreaterThan(0.1);
    expect(r.ms).toBeLessThan(5000);
    const px = await readFrames(r.path, { pixFmt: 'rgb24', count: 1 });
    expect(px.length).toBe(1024 * 576 * 3);
    const { x, y, side } = r.bubble;
    expect(mean(px, 1024, x + side * 0.35, y + side * 0.3, x + side * 0.65, y + side * 0.7)).toBeGreaterThan(40); // face
    expect(mean(px, 1024, 500, 100, 1000, 550)).toBeLessThan(4); // the rest: background only
    expect(mean(px, 1024, x + 2, y + 2, x + 12, y + 12)).toBeLessThan(8); // outside the circle's corner
  });

  it('"no background": the bubble alone on a square; a video with nobody in it → no_person', async () => {
    const r = await composePreview({ headPath: media('hopper_static_720x720.mp4'), backgroundPath: null, output: 'note', options: DEFAULT_OPTIONS, outPath: join(dir, 'n.jpg') });
    expect(r).toMatchObject({ width: 512, height: 512 });
    await expect(
      composePreview({ headPath: media('bad/no_person_1280x720.mp4'), backgroundPath: null, output: 'overlay', options: DEFAULT_OPTIONS, outPath: join(dir, 'x.jpg') }),
    ).rejects.toMatchObject({ name: 'MediaError', code: 'no_person' });
  });

  describe('the service (downloads through the Bot API)', () => {
    let tg: FakeTelegram;
    beforeAll(async () => {
      tg = await startFakeTelegram({ token: TOKEN });
    });
    afterAll(async () => {
      await tg?.close();
    });

    it('downloads once per order, reports failures as data, and never logs the token', async () => {
      const { log, lines } = captureLogger();
      const svc = createPreviewService({
        api: new Api(TOKEN, { apiRoot: tg.apiRoot }),
        token: TOKEN,
        apiRoot: tg.apiRoot,
        downloadLimitBytes: 20 * 1024 * 1024,
        maxBytes: 100 * 1024 * 1024,
        timeoutMs: 20_000,
        dir: join(dir, 'svc'),
        log,
      });
      // A folder left by a dialogue that ended with /cancel (its cleanup never ran) is swept by the next preview.
      const stale = join(dir, 'svc', 'left-by-cancel');
      await mkdir(stale, { recursive: true });
      await utimes(stale, new Date(Date.now() - 2 * 3600_000), new Date(Date.now() - 2 * 3600_000));
      const f = tg.registerFile(media('hopper_static_720x720.mp4'));
      const ref = { source: 'telegram' as const, kind: 'video' as const, fileId: f.file_id, fileUniqueId: f.file_unique_id, sizeBytes: f.file_size };
      const a = await svc.make({ key: 'k1', head: ref, background: null, output: 'overlay', options: DEFAULT_OPTIONS });
      const b = await svc.make({ key: 'k1', head: ref, background: null, output: 'overlay', options: opts({ shape: 'rect' }) });
      expect(a.ok && b.ok).toBe(true);
      expect(tg.callsOf('getFile')).toHaveLength(1); // the second preview reused the download
      expect(existsSync(stale)).toBe(false);
      const bad = await svc.make({ key: 'k2', head: { ...ref, fileId: 'AAAAnot-a-file' }, background: null, output: 'note', options: DEFAULT_OPTIONS });
      expect(bad).toMatchObject({ ok: false, reason: 'failed' });
      await svc.cleanup('k1');
      expect(lines.some((l) => l.includes('telegram file downloaded'))).toBe(true);
      expect(lines.join('\n')).not.toContain(TOKEN);
      expect(lines.join('\n')).not.toContain(TOKEN.split(':')[1]!);
    });
  });
});
