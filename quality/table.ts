import type { EngineScore } from './score-clip.js';

/** The engines' scores as a Markdown table, one row per clip and engine, engines of a clip next to each other. */
export function formatTable(scores: readonly EngineScore[]): string {
  const head = ['clip', 'engine', 'edges', 'mean IoU', 'min IoU', 'band IoU', 'band |α err|', 'frames', 'ms/frame', 'infer ms', 'provider'];
  const rows = scores.map((s) => [
    s.clip,
    s.engine,
    s.refineEdges ? 'refined' : 'model',
    s.meanIou.toFixed(4),
    s.minIou.toFixed(4),
    s.bandIou.toFixed(4),
    s.bandMae.toFixed(4),
    String(s.frames),
    s.msPerFrame.toFixed(0),
    s.inferMsPerFrame.toFixed(0),
    s.provider,
  ]);
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n') + '\n';
}
