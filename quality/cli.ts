/**
 * `npm run quality -- [--engine fast,quality] [--edges on|off|on,off] [--frames 8] [--clips hopper_mall,astronaut_gradient] [--media DIR] [--json]`
 *
 * Scores the engines against every clip with exact ground truth in ../shared/media (or --media), on about
 * --frames sampled frames per clip spread over the whole clip (see score-clip.ts for how), and prints per clip, the
 * engines side by side: mean and worst-frame IoU at 0.5, IoU and mean |α error| within ±8 px of the true edge,
 * the number of frames scored and the render's wall ms per scored frame. `--edges on,off` scores each engine with and
 * without its edge refinement (engine/frame/edges.ts), side by side.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { setUpProcess } from '../common/runtime-config.js';
import type { EngineName } from '../engine/index.js';
import { findClips } from './clips.js';
import { scoreEngine, type EngineScore } from './score-clip.js';
import { formatTable } from './table.js';

const defaultMedia = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'shared', 'media');

function usage(msg?: string): never {
  if (msg) process.stderr.write(`error: ${msg}\n`);
  process.stderr.write('usage: npm run quality -- [--engine fast,quality] [--edges on,off] [--frames N] [--clips a,b] [--media DIR] [--json]\n');
  process.exit(msg ? 2 : 0);
}

async function main(): Promise<void> {
  // The table goes to stdout, where the engine's info lines (model loads, render summaries) would land too.
  setUpProcess({ defaultLevel: 'warn' });
  const { values } = parseArgs({
    options: {
      engine: { type: 'string', default: 'fast,quality' },
      edges: { type: 'string', default: 'on' },
      frames: { type: 'string', default: '8' },
      clips: { type: 'string' },
      media: { type: 'string', default: defaultMedia },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) usage();
  const engines = values.engine.split(',').map((e) => e.trim());
  if (!engines.length || engines.some((e) => e !== 'fast' && e !== 'quality')) usage('--engine takes fast, quality or both');
  const edges = values.edges.split(',').map((e) => e.trim());
  if (!edges.length || edges.some((e) => e !== 'on' && e !== 'off')) usage('--edges takes on, off or both');
  const frames = Number(values.frames);
  if (!Number.isInteger(frames) || frames < 1) usage('--frames must be a whole number ≥ 1');
  const clips = await findClips(values.media, values.clips ? values.clips.split(',').map((c) => c.trim()) : []);
  const work = await mkdtemp(join(tmpdir(), 'bubblecast-quality-'));
  const scores: EngineScore[] = [];
  try {
    for (const clip of clips) {
      for (const engine of engines as EngineName[]) {
        for (const edge of edges) {
          const s = await scoreEngine(clip, engine, frames, work, undefined, { refineEdges: edge === 'on' });
          scores.push(s);
          process.stderr.write(`${clip.name} ${engine} edges ${edge}: ${s.frames} frames, mean IoU ${s.meanIou.toFixed(4)}\n`);
        }
      }
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  process.stdout.write(values.json ? `${JSON.stringify(scores, null, 2)}\n` : formatTable(scores));
}

main().catch((e) => {
  process.stderr.write(`quality: ${(e as Error).message}\n`);
  process.exit(1);
});
