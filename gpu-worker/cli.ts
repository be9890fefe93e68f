/**
 * `npm run overlay -- --in head.mp4 --out bubble.webm [--engine fast|quality] [--shape circle|rounded|rect]
 *   [--format webm|mov|luma|note|mask[,…]] [--size 720] [--center auto|X,Y] [--zoom 1] [--feather 6]
 *   [--border WIDTH:#RRGGBB] [--radius 0.18] [--smoothing 0.6] [--fps 0] [--note-bg #101820] [--no-audio]
 *   [--no-refine-edges]`
 *
 * Other tools call these flag names: keep them stable. Output naming: with one single-file format the file is
 * exactly --out; otherwise --out minus its extension is a base, and each format adds its suffix
 * (.webm, .mov, .color.mp4 + .matte.mp4, .note.mp4, .mask.mp4).
 */
import { mkdtemp, rename, rm, copyFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, extname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ZodError } from 'zod';
import { isMediaError } from '../common/errors.js';
import { setUpProcess } from '../common/runtime-config.js';
import { parseOverlayOptions, renderOverlay, type OutputFileName, type OutputFormat } from '../engine/index.js';

setUpProcess();
const { values } = parseArgs({
  options: {
    in: { type: 'string' },
    out: { type: 'string' },
    engine: { type: 'string' },
    shape: { type: 'string' },
    format: { type: 'string' },
    size: { type: 'string' },
    center: { type: 'string' },
    zoom: { type: 'string' },
    feather: { type: 'string' },
    border: { type: 'string' },
    radius: { type: 'string' },
    smoothing: { type: 'string' },
    fps: { type: 'string' },
    'note-bg': { type: 'string' },
    'no-audio': { type: 'boolean' },
    'no-refine-edges': { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  },
  strict: true,
});

function usage(msg?: string): never {
  if (msg) process.stderr.write(`error: ${msg}\n`);
  process.stderr.write(
    'usage: npm run overlay -- --in head.mp4 --out bubble.webm [--engine fast|quality] [--shape circle|rounded|rect]\n' +
      '       [--format webm|mov|luma|note|mask[,...]] [--size PX] [--center auto|X,Y] [--zoom 0.2..1] [--feather PX]\n' +
      '       [--border WIDTH:#RRGGBB] [--radius 0..0.5] [--smoothing 0..1] [--fps N] [--note-bg #RRGGBB] [--no-audio]\n' +
      '       [--no-refine-edges]\n',
  );
  process.exit(msg ? 2 : 0);
}

if (values.help) usage();
if (!values.in || !values.out) usage('--in and --out are required');

const outPath = resolve(values.out);
const ext = extname(outPath).toLowerCase();
const formats = (values.format ?? (ext === '.mov' ? 'mov' : 'webm')).split(',').map((f) => f.trim()) as OutputFormat[];

function parseCenter(v: string | undefined) {
  if (!v || v === 'auto') return 'auto' as const;
  const [x, y] = v.split(',').map(Number);
  return { x, y };
}

function parseBorder(v: string | undefined) {
  if (!v) return null;
  const [w, color] = v.split(':');
  return { width: Number(w), color: color ?? '#ffffff' };
}

let options;
try {
  options = parseOverlayOptions({
    formats,
    ...(values.engine && { engine: values.engine }),
    ...(values.shape && { shape: values.shape }),
    ...(values.size && { size: values.size }),
    ...(values.zoom && { zoom: values.zoom }),
    ...(values.feather && { feather: values.feather }),
    ...(values.radius && { cornerRadius: values.radius }),
    ...(values.smoothing && { smoothing: values.smoothing }),
    ...(values.fps && { fps: values.fps }),
    ...(values['note-bg'] && { noteBackground: values['note-bg'] }),
    center: parseCenter(values.center),
    border: parseBorder(values.border),
    keepAudio: !values['no-audio'],
    refineEdges: !values['no-refine-edges'],
  });
} catch (e) {
  if (e instanceof ZodError) usage(e.issues.map((i) => `${i.path.join('.') || 'options'}: ${i.message}`).join('; '));
  throw e;
}

const SUFFIX: Record<OutputFileName, string> = {
  'overlay.webm': '.webm',
  'overlay.mov': '.mov',
  'color.mp4': '.color.mp4',
  'matte.mp4': '.matte.mp4',
  'note.mp4': '.note.mp4',
  'mask.mp4': '.mask.mp4',
};

const work = await mkdtemp(join(tmpdir(), 'bubblecast-overlay-'));
const tty = process.stderr.isTTY;
try {
  const result = await renderOverlay(resolve(values.in), work, options, {
    onProgress: (p) => {
      const width = 30;
      const done = Math.round(p.fraction * width);
      const line = `[${'#'.repeat(done)}${'-'.repeat(width - done)}] ${(p.fraction * 100).toFixed(0).padStart(3)}%  ${p.frame}/${p.totalFrames} frames  ${p.fps.toFixed(1)} fps`;
      process.stderr.write(tty ? `\r${line}` : `${line}\n`);
    },
  });
  if (tty) process.stderr.write('\n');
  await mkdir(dirname(outPath), { recursive: true });
  const names = Object.keys(result.files) as OutputFileName[];
  const single = names.length === 1 && (names[0] === 'overlay.webm' || names[0] === 'overlay.mov');
  const base = outPath.slice(0, outPath.length - ext.length);
  const produced: string[] = [];
  for (const name of names) {
    const dest = single ? outPath : base + SUFFIX[name];
    await rename(result.files[name]!, dest).catch(() => copyFile(result.files[name]!, dest));
    produced.push(dest);
  }
  process.stderr.write(
    `done: ${result.frames} frames in ${(result.wallMs / 1000).toFixed(1)} s = ${result.throughputFps} fps, ` +
      `engine ${result.engine} on ${result.provider}, bubble ${result.width}px, person in ${(result.personCoverage * 100).toFixed(0)}% of frames\n` +
      `per frame (ms): ${JSON.stringify(result.perFrame)}\n`,
  );
  for (const p of produced) process.stdout.write(`${p}\n`);
} catch (e) {
  if (tty) process.stderr.write('\n');
  if (isMediaError(e)) {
    process.stderr.write(`refused (${e.code}): ${e.message}\n`);
    process.exitCode = 3;
  } else {
    process.stderr.write(`failed: ${(e as Error).message}\n`);
    process.exitCode = 1;
  }
} finally {
  await rm(work, { recursive: true, force: true });
}
