import type { FailedJobInfo, ModeView, PipelineStats, QueueOverview } from '../../pipeline/admin.js';
import type { OperatorNumbers } from '../../pipeline/operator-numbers.js';
import type { Messages } from '../i18n/index.js';

/** Plain-text views for the admin commands (English: they are for operators). */

export function queueText(q: QueueOverview): string {
  const c = q.counts;
  return [
    `Queue${q.paused ? ' — PAUSED' : ''}`,
    `waiting ${c.waiting}, active ${c.active}, delayed ${c.delayed}, prioritized ${c.prioritized}`,
    `completed ${c.completed}, failed ${c.failed}`,
  ].join('\n');
}

/**
 * One entry per failed job (two lines each). A /failed 20 with long messages is about 5,800 characters, over
 * Telegram's 4096: the command sends the entries packed into several messages (`packBlocks`), never one entry
 * across two.
 */
export function failedEntries(list: FailedJobInfo[]): string[] {
  if (!list.length) return ['No failed jobs.'];
  return list.map((f) => `• ${f.id} — ${f.failure.code} (${f.attemptsMade} attempts, ${f.finishedAt ?? '?'})\n  ${f.failure.message.slice(0, 200)}`);
}

export function modeText(v: ModeView): string {
  const lines = [
    `Mode: ${v.mode} (${v.source === 'override' ? `admin override${v.override?.by ? ` by ${v.override.by}` : ''}` : 'from PROCESSING_MODE'}; env ${v.envMode})`,
  ];
  const { workers, counters } = v.health;
  if (!workers.length) lines.push('Workers: none alive');
  for (const w of workers) {
    lines.push(`Worker ${w.workerId}: mode ${w.mode.effective}, active ${w.activeJobs.length}/${w.concurrency}${w.shuttingDown ? ', shutting down' : ''}\n  ${gpuLines(w.gpu).join('\n  ')}`);
  }
  const reasons = Object.entries(counters.fallbacks)
    .map(([r, n]) => `${r} ×${n}`)
    .join(', ');
  lines.push(`Overlays: GPU ${counters.overlayGpu}, CPU ${counters.overlayCpu}; CPU fallbacks ${counters.fallbackTotal}${reasons ? ` (${reasons})` : ''}`);
  lines.push('Set with /mode auto|gpu|cpu, or /mode env to clear the override.');
  return lines.join('\n');
}

type GpuView = ModeView['health']['workers'][number]['gpu'];
type GpuState = Pick<GpuView, 'ok' | 'status' | 'provider' | 'gpuName'>;

function gpuState(g: GpuState): string {
  return `${g.ok === null ? 'not checked yet' : g.ok ? 'healthy' : 'DOWN'}${g.status ? ` (${g.status})` : ''}, provider ${g.provider ?? '?'}${g.gpuName ? `, ${g.gpuName}` : ''}`;
}

/** One line per GPU worker (host and state); a heartbeat from before the pool has only the summary. */
function gpuLines(g: GpuView): string[] {
  if (!g.configured) return ['GPU worker not configured (CPU only)'];
  if (!g.workers?.length) return [`GPU ${g.host ?? '?'}: ${gpuState(g)}`];
  const head = g.workers.length > 1 ? [`GPU workers: ${g.status ?? '?'}`] : [];
  return [
    ...head,
    ...g.workers.map((x) => `GPU ${x.host}: ${gpuState(x)}${x.inFlight ? `, ${x.inFlight} job(s) here` : ''}${x.downUntil ? `, benched until ${x.downUntil}` : ''}`),
  ];
}

export function statsText(s: PipelineStats): string {
  const sec = (ms: number | undefined | null) => (ms === undefined || ms === null ? '—' : `${(ms / 1000).toFixed(1)} s`);
  const share = s.overlay.gpuShare === null ? '—' : `${Math.round(s.overlay.gpuShare * 100)}%`;
  const failures = Object.entries(s.failuresByCode)
    .map(([c, n]) => `${c} ×${n}`)
    .join(', ');
  return [
    `Since ${s.since}: ${s.completed} done, ${s.failed} failed`,
    `Median per stage: fetch ${sec(s.medianStageMs.fetch)}, overlay ${sec(s.medianStageMs.overlay)}, render ${sec(s.medianStageMs.render)}, deliver ${sec(s.medianStageMs.deliver)}; total ${sec(s.medianTotalMs)}`,
    `Overlay on GPU ${s.overlay.gpu}, CPU ${s.overlay.cpu} (GPU share ${share}), fallbacks ${s.overlay.fallbacks}`,
    ...(failures ? [`Failures: ${failures}`] : []),
  ].join('\n');
}

/**
 * The part of /stats that /metrics also serves (pipeline/operator-numbers.ts reads both): the queue now, and the
 * running totals every worker keeps in Redis. Codes and reasons with no count are left out.
 */
export function totalsText(n: OperatorNumbers): string {
  const c = n.queue.counts;
  const listed = (r: Record<string, number>) =>
    Object.entries(r)
      .filter(([, v]) => v > 0)
      .map(([k, v]) => `${k} ×${v}`)
      .join(', ') || 'none';
  const fallbacks = Object.values(n.fallbacks).reduce((a, b) => a + b, 0);
  return [
    `Queue now${n.queue.paused ? ' (PAUSED)' : ''}: waiting ${c.waiting}, active ${c.active}, delayed ${c.delayed}, prioritized ${c.prioritized}, completed ${c.completed}, failed ${c.failed}`,
    `Totals (as /metrics): failed for good: ${listed(n.failuresByCode)}`,
    `Overlays GPU ${n.overlays.gpu}, CPU ${n.overlays.cpu}; GPU→CPU fallbacks ${fallbacks}${fallbacks ? ` (${listed(n.fallbacks)})` : ''}`,
  ].join('\n');
}

/** The /stats line on auto mode's route estimates (last 24 h), in the admin's language. */
export function routingErrorText(n: Pick<OperatorNumbers, 'routing'>, m: Pick<Messages, 'statsRoutingError'>): string {
  const part = (e: OperatorNumbers['routing']['gpu']) => (e.mapePct === null ? '—' : `${e.mapePct}% × ${e.count}`);
  return m.statsRoutingError(part(n.routing.gpu), part(n.routing.cpu));
}
