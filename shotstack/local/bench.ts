import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { runFfmpeg, spawnFfmpeg } from '../../common/ffmpeg.js';
import { createShotstackClient } from '../client.js';
import { DEFAULT_READINGS } from '../readings.js';
import { bubblePlacement, buildBubbleEdit, type BubbleEditOptions } from '../timeline.js';
import { startLocalShotstack } from './server.js';

/**
 * `npx tsx shotstack/local/bench.ts [runs]` — the acceptance render: a 10 s 720×1280 background with a
 * 720×720 luma-pair bubble at 9:16 hd through the real client and the local renderer, timed, then checked:
 * inside the bubble's disc the output must match the speaker clip, outside the bubble the background.
 * Speaker = Grace Hopper cropped from ../shared/media (matte = its ground-truth alpha) when present, else a
 * synthetic pattern with a disc matte; background = ffmpeg's testsrc2 (moving, detailed, so the encoder works).
 */
const runs = Number(process.argv[2] ?? 2);
const media = resolve('..', 'shared', 'media');
const X264 = ['-c:v', 'libx264', '-preset', 'veryfast', '-crf', '20', '-pix_fmt', 'yuv420p', '-threads', '2'];

async function rgbFrame(file: string, atSec: number, vf: string, w: number, h: number): Promise<Buffer> {
  const { child, done } = spawnFfmpeg(['-v', 'error', '-ss', String(atSec), '-i', file, '-frames:v', '1', '-vf', vf, '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-']);
  const chunks: Buffer[] = [];
  child.stdout!.on('data', (c: Buffer) => chunks.push(c));
  await done;
  const buf = Buffer.concat(chunks);
  if (buf.length !== w * h * 3) throw new Error(`frame of ${file}: ${buf.length} bytes`);
  return buf;
}

const dir = await mkdtemp(join(tmpdir(), 'shotstack-bench-'));
const server = await startLocalShotstack();
try {
  const bg = join(dir, 'background.mp4');
  const color = join(dir, 'color.mp4');
  const matte = join(dir, 'matte.mp4');
  await runFfmpeg(['-f', 'lavfi', '-i', 'testsrc2=s=720x1280:r=30:d=10', '-f', 'lavfi', '-i', 'sine=f=220:d=10', ...X264, '-c:a', 'aac', '-shortest', bg]);
  const hopper = join(media, 'hopper_mall_720x1280.mp4');
  const speaker = existsSync(hopper) ? 'hopper_mall (real person, GT matte)' : 'synthetic pattern + disc matte';
  if (existsSync(hopper)) {
    await runFfmpeg(['-i', hopper, '-vf', 'crop=720:720:0:180', ...X264, '-c:a', 'aac', color]);
    await runFfmpeg(['-i', join(media, 'hopper_mall_720x1280.alpha.mkv'), '-vf', 'crop=720:720:0:180,format=yuv420p', ...X264, '-an', matte]);
  } else {
    await runFfmpeg(['-f', 'lavfi', '-i', 'testsrc=s=720x720:r=30:d=10', '-f', 'lavfi', '-i', 'sine=f=440:d=10', ...X264, '-c:a', 'aac', '-shortest', color]);
    await runFfmpeg(['-f', 'lavfi', '-i', "color=c=black:s=720x720:r=30:d=10,format=gray,geq=lum='255*lt(hypot(X-359.5\\,Y-359.5)\\,331)'", ...X264, matte]);
  }

  const client = createShotstackClient({ apiUrl: server.url, env: 'stage', pollIntervalMs: 100 });
  const t0 = Date.now();
  const [bgSrc, colorSrc, matteSrc] = await Promise.all([bg, color, matte].map((f) => client.ingestFile(f)));
  const ingestMs = Date.now() - t0;

  const options: BubbleEditOptions = {
    position: 'bottomRight', size: 0.35, margin: 0.05, aspect: '9:16', resolution: 'hd', fps: 25,
    duration: 'bubble', backgroundAudio: true, backgroundVolume: 0.3, readings: DEFAULT_READINGS,
  };
  const edit = buildBubbleEdit({
    background: { src: bgSrc!, durationSec: 10, hasAudio: true },
    overlay: { kind: 'luma', colorSrc: colorSrc!, matteSrc: matteSrc! },
    overlayDurationSec: 10,
    options,
  });

  const timings: { wallMs: number; renderTimeMs: number | undefined }[] = [];
  let url = '';
  for (let i = 0; i < runs; i++) {
    const t = Date.now();
    const done = await client.waitForRender(await client.submitRender(edit), { timeoutMs: 10 * 60_000 });
    timings.push({ wallMs: Date.now() - t, renderTimeMs: done.renderTime });
    url = done.url;
  }
  const out = join(dir, 'render.mp4');
  await client.downloadTo(url, out);

  // Check one frame (t = 5 s): inside the disc ≈ the speaker clip scaled to the bubble, outside ≈ the background.
  const p = bubblePlacement(options);
  const side = Math.round(p.side / 2) * 2;
  const [outFrame, bgFrame, colorFrame, matteFrame] = await Promise.all([
    rgbFrame(out, 5, 'null', 720, 1280),
    rgbFrame(bg, 5, 'null', 720, 1280),
    rgbFrame(color, 5, `scale=${side}:${side}`, side, side),
    rgbFrame(matte, 5, `scale=${side}:${side}`, side, side),
  ]);
  let inside = 0, insideVsSpeaker = 0, insideVsBackground = 0, outside = 0, outsideVsBackground = 0;
  for (let y = 0; y < 1280; y++) {
    for (let x = 0; x < 720; x++) {
      const i = (y * 720 + x) * 3;
      const bx = x - Math.round(p.x);
      const by = y - Math.round(p.y);
      const inSquare = bx >= 0 && by >= 0 && bx < side && by < side;
      const diff = (a: Buffer, j: number) => (Math.abs(outFrame[i]! - a[j]!) + Math.abs(outFrame[i + 1]! - a[j + 1]!) + Math.abs(outFrame[i + 2]! - a[j + 2]!)) / 3;
      if (!inSquare) {
        outside++;
        outsideVsBackground += diff(bgFrame, i);
      } else {
        const j = (by * side + bx) * 3;
        if (matteFrame[j]! > 245) {
          inside++;
          insideVsSpeaker += diff(colorFrame, j);
          insideVsBackground += diff(bgFrame, i);
        }
      }
    }
  }
  console.log(
    JSON.stringify(
      {
        case: '10 s, 720×1280 background + 720×720 luma bubble → 9:16 hd (720×1280) @25 fps, bottomRight 0.35',
        speaker,
        ingestMs,
        renders: timings,
        loadAverage1m: loadavg()[0],
        check: {
          meanAbsDiffInsideDiscVsSpeaker: +(insideVsSpeaker / inside).toFixed(2),
          meanAbsDiffInsideDiscVsBackground: +(insideVsBackground / inside).toFixed(2),
          meanAbsDiffOutsideBubbleVsBackground: +(outsideVsBackground / outside).toFixed(2),
          pixelsInsideDisc: inside,
        },
      },
      null,
      2,
    ),
  );
} finally {
  await server.close();
  await rm(dir, { recursive: true, force: true });
}
