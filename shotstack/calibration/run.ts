import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from '../../common/logger.js';
import type { ShotstackClient } from '../client.js';
import { decodeRgbFrame, type RgbFrame } from '../probe-media.js';
import { decideReadings, type Decision } from './decide.js';
import { ensureProbeMedia } from './media.js';
import { PROBE_COST, PROBE_NAMES, PROBE_SIZES, probeEdits, SAMPLE_AT_SEC, type ProbeName, type ProbeSources } from './probes.js';

/**
 * One calibration run against a service: upload the probe media, render the three probe timelines, read one
 * frame of each and decide the readings. It does not retry or store anything (the ReadingsSource does): a
 * failed upload or render throws, an inconclusive frame comes back as a Decision without `readings`.
 */
export interface CalibrationRun {
  decision: Decision;
  renders: Record<ProbeName, { id: string; url: string }>;
  /** What the run cost on the service. */
  cost: typeof PROBE_COST;
  elapsedMs: number;
}

export interface RunCalibrationOptions {
  client: ShotstackClient;
  logger: Logger;
  /** Where the probe media are kept and the renders downloaded (default the OS temp folder). */
  workDir?: string;
  signal?: AbortSignal;
  /** Limit for each probe render (default 10 min: a sandbox queue can be slow). */
  renderTimeoutMs?: number;
}

export async function runCalibration(o: RunCalibrationOptions): Promise<CalibrationRun> {
  const started = Date.now();
  const root = o.workDir ?? tmpdir();
  const log = o.logger.child({ component: 'shotstack-calibration' });
  const files = await ensureProbeMedia(root);
  await mkdir(root, { recursive: true });
  const downloads = await mkdtemp(join(root, 'bubblecast-calibration-'));
  try {
    log.debug({ files: Object.keys(files) }, 'uploading calibration probes');
    const [red, matte, webm, mov] = await Promise.all(
      [files.red, files.matte, files.webm, files.mov].map((f) => o.client.ingestFile(f, { signal: o.signal })),
    );
    const sources: ProbeSources = { red: red!, matte: matte!, webm: webm!, mov: mov! };
    const edits = probeEdits(sources);
    // Submitted one after another (each POST is billable and not retried blind), then rendered side by side.
    const ids = {} as Record<ProbeName, string>;
    for (const name of PROBE_NAMES) ids[name] = await o.client.submitRender(edits[name], { signal: o.signal });
    log.info({ renders: ids }, 'calibration probes submitted');
    // Settled, not raced: nothing may still be downloading when the folder is removed below.
    const settled = await Promise.allSettled(PROBE_NAMES.map((name) => renderFrame(o, name, ids[name], downloads)));
    const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) throw failed.reason;
    const results = settled.map((s) => (s as PromiseFulfilledResult<Awaited<ReturnType<typeof renderFrame>>>).value);
    const frames = Object.fromEntries(results.map((r) => [r.name, r.frame])) as Record<ProbeName, RgbFrame>;
    const renders = Object.fromEntries(results.map((r) => [r.name, { id: r.id, url: r.url }])) as CalibrationRun['renders'];
    return { decision: decideReadings(frames), renders, cost: PROBE_COST, elapsedMs: Date.now() - started };
  } finally {
    await rm(downloads, { recursive: true, force: true });
  }
}

async function renderFrame(o: RunCalibrationOptions, name: ProbeName, id: string, dir: string) {
  const done = await o.client.waitForRender(id, { signal: o.signal, timeoutMs: o.renderTimeoutMs ?? 10 * 60_000 });
  const file = join(dir, `${name}.mp4`);
  await o.client.downloadTo(done.url, file, { signal: o.signal });
  const frame = await decodeRgbFrame(file, SAMPLE_AT_SEC, PROBE_SIZES[name]);
  return { name, id, url: done.url, frame };
}
