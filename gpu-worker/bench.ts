/**
 * `npm run bench [-- --in FILE] [--runs N] [--edges on|off|on,off]` — the engine's speed against the bare ffmpeg work it
 * cannot avoid (`--edges` renders with and/or without the edge refinement, engine/frame/edges.ts; default on).
 *
 * For fast/webm and fast/luma on a 720×1280 clip with a 720×720 bubble it prints per-stage ms/frame, end-to-end
 * fps, the bare ffmpeg decode+crop+encode of the same outputs (no segmentation), run alternately (A B A B), and the
 * ratios of their median wall and CPU seconds.
 * A benchmark script, not a test: numbers depend on the machine; report them with the machine's description.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { runFfmpeg, probeMedia } from '../common/ffmpeg.js';
import { setUpProcess } from '../common/runtime-config.js';
import { buildEncoderArgs, parseOverlayOptions, renderOverlay, warmup, engineStatus } from '../engine/index.js';

setUpProcess({ defaultLevel: 'warn' });
const { values } = parseArgs({
  options: {
    in: { type: 'string', default: resolve('../shared/media/hopper_mall_720x1280.mp4') },
    runs: { type: 'string', default: '1' },
    size: { type: 'string', default: '720' },
    edges: { type: 'string', default: 'on' },
  },
});
const input = resolve(values.in!);
const runs = Math.max(1, Number(values.runs));
const size = Number(values.size);
const edgeModes = values.edges!.split(',').map((e) => e.trim() === 'on');

const info = await probeMedia(input);
const W = info.video!.width;
const H = info.video!.height;
const side = Math.min(W, H);
const fps = Math.min(30, Math.round(info.video!.fps));
process.stderr.write(`bench: ${input} ${W}x${H} ${info.durationSec}s @${fps}fps, ${cpus().length} cpu(s) ${cpus()[0]?.model ?? ''}\n`);
await warmup(['fast']);
const status = await engineStatus();

/**
 * ffmpeg alone: decode → same crop → the same encoder arguments the engine uses (opaque yuva420p, no model, no
 * RGB anywhere: the cheapest chain that writes the same files).
 */
async function bare(format: 'webm' | 'luma', dir: string): Promise<Cost> {
  const encodeArgs = buildEncoderArgs({
    cropSide: side, size, fps, formats: [format], outDir: dir, audioFrom: null,
    noteBackground: '#000000', noteMaxSide: 640, noteMaxSec: 60,
  });
  // Replace the raw stdin input with the decoded, cropped file: same filters and encoders downstream.
  const fc = encodeArgs.indexOf('-filter_complex');
  const crop = `[0:v]fps=${fps},crop=${side}:${side}:${(W - side) / 2}:${(H - side) / 2},format=yuva420p,`;
  const args = [
    '-loglevel', 'error', '-i', input,
    '-filter_complex', encodeArgs[fc + 1].replace('[0:v]', crop),
    ...encodeArgs.slice(fc + 2),
  ];
  return measured(() => runFfmpeg(args));
}

interface Cost {
  wallMs: number;
  /** This process's CPU (all its threads: ONNX runs in-process) plus that of the children it reaped (ffmpeg). */
  cpuSec: number;
}

/** Linux: CPU seconds of the children this process has waited for (utime+stime of reaped children, /proc/self/stat). */
function reapedChildrenCpuSec(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // After "pid (comm) ", field 3 is index 0: cutime and cstime are fields 16 and 17, in clock ticks (100 Hz on Linux).
  return (Number(fields[13]) + Number(fields[14])) / 100;
}

function cpuSecNow(): number {
  const own = process.cpuUsage();
  return (own.user + own.system) / 1e6 + reapedChildrenCpuSec();
}

async function measured(fn: () => Promise<unknown>): Promise<Cost> {
  const cpu0 = cpuSecNow();
  const t0 = performance.now();
  await fn();
  return { wallMs: performance.now() - t0, cpuSec: cpuSecNow() - cpu0 };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

const rows: string[] = [];
let stageNames: string[] = [];
for (const refineEdges of edgeModes)
for (const format of ['webm', 'luma'] as const) {
  let last: Awaited<ReturnType<typeof renderOverlay>> | null = null;
  const engine: Cost[] = [];
  const reference: Cost[] = [];
  // A B A B: the engine and its bare-ffmpeg reference alternate, so a change in the machine's load hits both.
  for (let r = 0; r < runs; r++) {
    const dir = await mkdtemp(join(tmpdir(), 'bubblecast-bench-'));
    try {
      const opts = parseOverlayOptions({ engine: 'fast', formats: [format], size, keepAudio: false, refineEdges });
      engine.push(await measured(async () => (last = await renderOverlay(input, dir, opts))));
      reference.push(await bare(format, dir));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
  const res = last!;
  const [eWall, eCpu, bWall, bCpu] = [median(engine.map((c) => c.wallMs)), median(engine.map((c) => c.cpuSec)), median(reference.map((c) => c.wallMs)), median(reference.map((c) => c.cpuSec))];
  stageNames = Object.keys(res.perFrame).map((k) => k.replace(/Ms$/, ''));
  rows.push(
    `| fast/${format}${refineEdges ? '' : ' (edges off)'} | ${res.provider} | ${res.frames} | ${(eWall / 1000).toFixed(2)} / ${eCpu.toFixed(2)} | ${(bWall / 1000).toFixed(2)} / ${bCpu.toFixed(2)} | ` +
      `${(eWall / bWall).toFixed(2)}× / ${(eCpu / bCpu).toFixed(2)}× | ${(res.frames / (eWall / 1000)).toFixed(1)} | ` +
      Object.values(res.perFrame).map((v) => v.toFixed(2)).join(' | ') + ' |',
  );
}
console.log(`engine status: ${JSON.stringify(status.models.filter((m) => m.loaded))}, gpu: ${status.gpuName ?? 'none'}`);
console.log(`median of ${runs} run(s) each, engine and bare ffmpeg alternating; CPU = this process's threads + its reaped ffmpeg children`);
const head = ['engine/format', 'provider', 'frames', 'engine wall s / CPU s', 'bare ffmpeg wall s / CPU s', 'engine/bare wall / CPU', 'engine fps', ...stageNames.map((n) => `${n} ms/frame`)];
console.log(`| ${head.join(' | ')} |`);
console.log(`|${head.map(() => '---').join('|')}|`);
for (const r of rows) console.log(r);
