/**
 * `npm run bench [-- --in FILE] [--runs N] [--edges on|off|on,off]` — the engine's speed against the bare ffmpeg work it
 * cannot avoid (`--edges` renders with and/or without the edge refinement, engine/frame/edges.ts; default on).
 *
 * For fast/webm and fast/luma on a 720×1280 clip with a 720×720 bubble it prints per-stage ms/frame, end-to-end
 * fps, the bare ffmpeg decode+crop+encode of the same outputs (no segmentation, opaque alpha) and the floor (the same
 * ffmpeg work, encoding the engine's own frames with their real matte), run alternately (A B C A B C), and the
 * ratios of their median wall and CPU seconds. Neither column includes a probe: the bench probes the clip once (the
 * bare chains' crop needs its size) and hands the engine that probe, as production callers hand it the media gate's.
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

/** The cropping half of the reference chains: the input decoded at the engine's rate, cut to the bubble's square. */
const cropFilter = `fps=${fps},crop=${side}:${side}:${(W - side) / 2}:${(H - side) / 2}`;

/**
 * ffmpeg alone: decode → same crop → the same encoder arguments the engine uses (opaque yuva420p, no model, no
 * RGB anywhere: the cheapest chain that writes the same kind of files). The reference.
 */
async function bare(format: 'webm' | 'luma', dir: string): Promise<Cost> {
  const encodeArgs = buildEncoderArgs(encodePlan(format, dir));
  // Replace the raw stdin input with the decoded, cropped file: same filters and encoders downstream.
  const fc = encodeArgs.indexOf('-filter_complex');
  const args = [
    '-loglevel', 'error', '-i', input,
    '-filter_complex', encodeArgs[fc + 1].replace('[0:v]', `[0:v]${cropFilter},format=yuva420p,`),
    ...encodeArgs.slice(fc + 2),
  ];
  return measured(() => runFfmpeg(args));
}

/**
 * The floor under any engine that writes these files: ffmpeg decoding and cropping the input (its frames thrown
 * away) while it encodes the engine's own bubble frames, read back from the engine's output into a raw file before
 * the clock starts. Unlike `bare`, its alpha plane is the real, moving matte, which costs the encoders more than an
 * opaque one (VP9's second, alpha stream; x264's matte file): what is left between the engine and this is the
 * engine's own work (model, refinement, compositing, pipes).
 */
async function floor(format: 'webm' | 'luma', dir: string): Promise<Cost> {
  const raw = join(dir, 'bubble.yuva');
  await runFfmpeg(format === 'webm'
    ? ['-loglevel', 'error', '-c:v', 'libvpx-vp9', '-i', join(dir, 'overlay.webm'), '-f', 'rawvideo', '-pix_fmt', 'yuva420p', raw]
    : ['-loglevel', 'error', '-i', join(dir, 'color.mp4'), '-i', join(dir, 'matte.mp4'), '-filter_complex', '[1:v]format=gray[m];[0:v][m]alphamerge', '-f', 'rawvideo', '-pix_fmt', 'yuva420p', raw]);
  const encodeArgs = buildEncoderArgs(encodePlan(format, dir));
  const pipe = encodeArgs.indexOf('pipe:0');
  const fc = encodeArgs.indexOf('-filter_complex');
  const args = [
    ...encodeArgs.slice(0, pipe), raw, '-i', input,
    '-filter_complex', `${encodeArgs[fc + 1]};[1:v]${cropFilter},nullsink`,
    ...encodeArgs.slice(fc + 2),
  ];
  return measured(() => runFfmpeg(args));
}

function encodePlan(format: 'webm' | 'luma', dir: string) {
  return {
    cropSide: side, size, fps, formats: [format], outDir: dir, audioFrom: null,
    noteBackground: '#000000', noteMaxSide: 640, noteMaxSec: 60,
  };
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
  const floors: Cost[] = [];
  // A B C A B C: the engine and its references alternate, so a change in the machine's load hits both.
  for (let r = 0; r < runs; r++) {
    const dir = await mkdtemp(join(tmpdir(), 'bubblecast-bench-'));
    try {
      const opts = parseOverlayOptions({ engine: 'fast', formats: [format], size, keepAudio: false, refineEdges });
      // The engine gets the probe the bare chains' crop was computed from, as production callers hand it the media gate's.
      engine.push(await measured(async () => (last = await renderOverlay(info, dir, opts))));
      reference.push(await bare(format, dir));
      floors.push(await floor(format, dir));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
  const res = last!;
  const [eWall, eCpu, bWall, bCpu] = [median(engine.map((c) => c.wallMs)), median(engine.map((c) => c.cpuSec)), median(reference.map((c) => c.wallMs)), median(reference.map((c) => c.cpuSec))];
  const [fWall, fCpu] = [median(floors.map((c) => c.wallMs)), median(floors.map((c) => c.cpuSec))];
  stageNames = Object.keys(res.perFrame).map((k) => k.replace(/Ms$/, ''));
  rows.push(
    `| fast/${format}${refineEdges ? '' : ' (edges off)'} | ${res.provider} | ${res.frames} | ${(eWall / 1000).toFixed(2)} / ${eCpu.toFixed(2)} | ${(bWall / 1000).toFixed(2)} / ${bCpu.toFixed(2)} | ` +
      `${(eWall / bWall).toFixed(2)}× / ${(eCpu / bCpu).toFixed(2)}× | ${(fWall / 1000).toFixed(2)} / ${fCpu.toFixed(2)} | ${(eWall / fWall).toFixed(2)}× / ${(eCpu / fCpu).toFixed(2)}× | ${(res.frames / (eWall / 1000)).toFixed(1)} | ` +
      Object.values(res.perFrame).map((v) => v.toFixed(2)).join(' | ') + ' |',
  );
}
console.log(`engine status: ${JSON.stringify(status.models.filter((m) => m.loaded))}, gpu: ${status.gpuName ?? 'none'}`);
console.log(`median of ${runs} run(s) each, engine and bare ffmpeg alternating; CPU = this process's threads + its reaped ffmpeg children`);
console.log('bare = decode + crop + encode with an opaque alpha plane; floor = decode + crop while encoding the engine\'s own frames (real matte)');
const head = ['engine/format', 'provider', 'frames', 'engine wall s / CPU s', 'bare ffmpeg wall s / CPU s', 'engine/bare wall / CPU', 'floor (real matte) wall s / CPU s', 'engine/floor wall / CPU', 'engine fps', ...stageNames.map((n) => `${n} ms/frame`)];
console.log(`| ${head.join(' | ')} |`);
console.log(`|${head.map(() => '---').join('|')}|`);
for (const r of rows) console.log(r);
