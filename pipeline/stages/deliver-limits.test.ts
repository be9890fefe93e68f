import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runFfmpeg } from '../../common/ffmpeg.js';
import { logger } from '../../common/logger.js';
import { createTelegramApi } from '../../common/telegram/api.js';
import { startFakeTelegram, type FakeTelegram } from '../../testing/fake-telegram.js';
import { classifyError } from '../classify.js';
import { telegramLimits } from '../config.js';
import { parseJobData, type JobData } from '../contract.js';
import { createTelegramDelivery, type Deliverable } from './deliver.js';

/**
 * Delivery when the Bot API server's real upload cap is below ours (the fake's nginx answers HTML 413 over its
 * cap): the stage re-encodes and sends once, or sends the link, or gives up as output_too_large — never the
 * telegram_unavailable + re-upload loop a 413 read as a network error used to cause.
 */
const TOKEN = '4343:deliver-limits-SECRET-token';
const SERVER_CAP = 2_000_000;

const data = (chatId: number): JobData =>
  parseJobData({ chatId, userId: chatId, messageId: 3, language: 'en', head: { source: 'local', path: '/x' }, background: { source: 'local', path: '/y' } });

describe('deliver against a server whose upload cap is lower than ours', () => {
  let dir: string;
  let video: string;
  const ctx = () => ({ signal: new AbortController().signal, log: logger, workDir: dir });
  const deliverable = async (over: Partial<Deliverable> = {}): Promise<Deliverable> => ({
    kind: 'video',
    path: video,
    bytes: (await stat(video)).size,
    durationSec: 2,
    width: 1280,
    height: 720,
    ...over,
  });
  const withServer = async (cap: number, run: (tg: FakeTelegram) => Promise<void>) => {
    const tg = await startFakeTelegram({ token: TOKEN, uploadLimitBytes: cap });
    try {
      await run(tg);
    } finally {
      await tg.close();
    }
  };
  const deliveryFor = (tg: FakeTelegram) =>
    createTelegramDelivery({ api: createTelegramApi(TOKEN, { apiRoot: tg.apiRoot, log: logger }), uploadLimitBytes: telegramLimits(false).uploadBytes });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'deliver-limits-'));
    video = join(dir, 'lossless.mp4');
    // Lossless 720p: a few MB for 2 s — over the server's cap, far under ours, and easy to shrink.
    await runFfmpeg(['-f', 'lavfi', '-i', 'testsrc2=s=1280x720:d=2:r=25', '-c:v', 'libx264', '-preset', 'ultrafast', '-qp', '0', '-pix_fmt', 'yuv420p', video]);
    const { size } = await stat(video);
    // The test's premise: one refusal at this size, and half of it fits.
    expect(size).toBeGreaterThan(SERVER_CAP);
    expect(size / 2).toBeLessThan(SERVER_CAP * 0.9);
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('our cloud cap keeps a margin under 50,000,000 bytes', () => {
    expect(telegramLimits(false).uploadBytes).toBeLessThan(50_000_000);
    expect(telegramLimits(false).uploadBytes).toBeGreaterThanOrEqual(45_000_000);
  });

  it('a 413 for the video leads to a smaller re-encode, sent once', async () => {
    await withServer(SERVER_CAP, async (tg) => {
      const d = await deliverable();
      const record = await deliveryFor(tg).deliver(d, data(601), ctx());
      expect(record).toMatchObject({ method: 'sendVideo', shrunk: true });
      expect(record.bytes).toBeLessThan(SERVER_CAP);
      expect(tg.callsOf('sendVideo').map((c) => c.httpStatus)).toEqual([413, 200]);
      expect(tg.sentFiles.filter((f) => f.chatId === 601)).toHaveLength(1);
      expect(tg.callsOf('sendChatAction').map((c) => c.params.action)).toEqual(['upload_video', 'upload_video']);
    });
  });

  it('when even the re-encode is refused: the download link, or output_too_large (final) without one', async () => {
    await withServer(300_000, async (tg) => {
      const delivery = deliveryFor(tg);
      const link = await delivery.deliver(await deliverable({ publicUrl: 'https://cdn.example/render.mp4' }), data(602), ctx());
      expect(link).toMatchObject({ method: 'sendMessage', asLink: true });
      expect(tg.callsOf('sendMessage').at(-1)?.params.text).toContain('https://cdn.example/render.mp4');
      expect(tg.callsOf('sendVideo').map((c) => c.httpStatus)).toEqual([413, 413]);

      const err = await delivery.deliver(await deliverable(), data(603), ctx()).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'output_too_large', retryable: false });
      expect(classifyError(err)).toMatchObject({ retryable: false, failure: { code: 'output_too_large' } });
      expect(tg.callsOf('sendVideo')).toHaveLength(4);
      expect(tg.sentFiles).toHaveLength(0);
    });
  });

  it('the overlay goes as a document without content-type detection; a 413 for it is final', async () => {
    await withServer(SERVER_CAP, async (tg) => {
      const delivery = deliveryFor(tg);
      const small = join(dir, 'small.webm');
      await runFfmpeg(['-f', 'lavfi', '-i', 'testsrc2=s=64x64:d=1:r=10', '-c:v', 'libvpx-vp9', '-b:v', '100k', small]);
      const ok = await delivery.deliver(await deliverable({ kind: 'overlay', path: small, bytes: (await stat(small)).size }), data(604), ctx());
      expect(ok).toMatchObject({ method: 'sendDocument' });
      expect(tg.callsOf('sendDocument').at(-1)?.params).toMatchObject({ disable_content_type_detection: true });
      expect(tg.sentFiles.at(-1)).toMatchObject({ chatId: 604, field: 'document' });

      const err = await delivery.deliver(await deliverable({ kind: 'overlay' }), data(605), ctx()).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'output_too_large', retryable: false });
      // One upload refused (nginx refuses before reading parameters, so the record has none), none repeated.
      expect(tg.callsOf('sendDocument').map((c) => c.httpStatus)).toEqual([200, 413]);
    });
  });
});
