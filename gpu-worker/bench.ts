/**
 * `npm run bench [-- --in FILE] [--runs N]` — the engine's speed against the bare ffmpeg work it cannot avoid.
 *
 * For fast/webm and fast/luma on a 720×1280 clip with a 720×720 bubble it prints per-stage ms/frame, end-to-end
 * fps, the bare ffmpeg decode+crop+encode time of the same outputs (no segmentation), and their ratio.
 * A benchmark script, not a test: numbers depend on the machine; report them with the machine's description.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { runFfmpeg, probeMedia } from '../common/ffmpeg.js';
import { buildEncoderArgs, parseOverlayOptions, renderOverlay, warmup, engineStatus } from '../engine/index.js';

const { values } = parseArgs({
  options: {
    in: { type: 'string', default: resolve('../shared/media/hopper_mall_720x1280.mp4') },
    runs: { type: 'string', default: '1' },
    size: { type: 'string', default: '720' },
  },
});
const input = resolve(values.in!);
const runs = Math.max(1, Number(values.runs));
const size = Number(values.size);

const info = await probeMedia(input);
const W = info.video!.width;
const H = info.video!.height;
const side = Math.min(W, H);
const fps = Math.min(30, Math.round(info.video!.fps));
process.stderr.write(`bench: ${input} ${W}x${H} ${info.durationSec}s @${fps}fps, ${cpus().length} cpu(s) ${cpus()[0]?.model ?? ''}\n`);
await warmup(['fast']);
const status = await engineStatus();

/** ffmpeg alone: decode → same crop → the same encoder arguments the engine uses (opaque input, no model). */
async function bare(format: 'webm' | 'luma', dir: string): Promise<number> {
  const encodeArgs = buildEncoderArgs({
    cropSide: side, size, fps, formats: [format], outDir: dir, audioFrom: null,
    noteBackground: '#000000', noteMaxSide: 640, noteMaxSec: 60,
  });
  // Replace the raw stdin input with the decoded, cropped file: same filters and encoders downstream.
  const i = encodeArgs.indexOf('pipe:0');
  const fc = encodeArgs.indexOf('-filter_complex');
  const crop = `[0:v]fps=${fps},crop=${side}:${side}:${(W - side) / 2}:${(H - side) / 2},format=rgba,`;
  const args = [
    '-loglevel', 'error', '-i', input,
    '-filter_complex', encodeArgs[fc + 1].replace('[0:v]', crop),
    ...encodeArgs.slice(fc + 2),
  ];
  void i;
  const t0 = performance.now();
  await runFfmpeg(args);
  return performance.now() - t0;
}

const rows: string[] = [];
for (const format of ['webm', 'luma'] as const) {
  let best: Awaited<ReturnType<typeof renderOverlay>> | null = null;
  let bestBare = Infinity;
  for (let r = 0; r < runs; r++) {
    const dir = await mkdtemp(join(tmpdir(), 'bubblecast-bench-'));
    try {
      const res = await renderOverlay(input, dir, parseOverlayOptions({ engine: 'fast', formats: [format], size, keepAudio: false }));
      if (!best || res.wallMs < best.wallMs) best = res;
      bestBare = Math.min(bestBare, await bare(format, dir));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
  const e2eFps = best!.frames / (best!.wallMs / 1000);
  const bareFps = best!.frames / (bestBare / 1000);
  rows.push(
    `| fast/${format} | ${best!.provider} | ${best!.frames} | ${e2eFps.toFixed(1)} | ${bareFps.toFixed(1)} | ${(best!.wallMs / bestBare).toFixed(2)}× | ` +
      Object.values(best!.perFrame).map((v) => v.toFixed(2)).join(' | ') + ' |',
  );
}
console.log(`engine status: ${JSON.stringify(status.models.filter((m) => m.loaded))}, gpu: ${status.gpuName ?? 'none'}`);
console.log('| engine/format | provider | frames | end-to-end fps | bare ffmpeg fps | engine/bare time | decode wait | preprocess | infer | postprocess | compose | encode wait (ms/frame) |');
console.log('|---|---|---|---|---|---|---|---|---|---|---|---|');
for (const r of rows) console.log(r);
