import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../common/logger.js';
import { createShotstackClient } from '../client.js';
import { startLocalShotstack } from '../local/server.js';
import { DEFAULT_READINGS, type RendererReadings } from '../readings.js';
import { RING_PROBE_COST, ringVerdict, runRingProbe, type RingSample } from './ring-probe.js';

/**
 * The ring probe against the local renderer (which draws the shape asset the way bubble-ring.ts assumes): the
 * ring is found where expected under the default readings and under emulated ones the probe is told about; and
 * the verdict tells a misplaced ring, a missing one and a misplaced bubble apart.
 */
const logger = createLogger({ level: 'silent' });
let workDir: string;

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'ring-probe-test-'));
});
afterAll(async () => {
  await rm(workDir, { recursive: true, force: true });
});

/** The probe on a renderer emulating `emulate`, told the readings `told` (default: the emulated ones). */
async function probeUnder(emulate: Partial<RendererReadings>, told: RendererReadings = { ...DEFAULT_READINGS, ...emulate }) {
  const server = await startLocalShotstack({ emulate, logger });
  try {
    const client = createShotstackClient({ apiUrl: server.url, env: 'stage', pollIntervalMs: 50, maxRetries: 0, logger });
    const lines: string[] = [];
    const result = await runRingProbe({ client, readings: told, workDir, print: (l) => lines.push(l) });
    const posts = (suffix: string) => server.requests.filter((r) => r.method === 'POST' && r.path.endsWith(suffix));
    expect(posts('/render')).toHaveLength(RING_PROBE_COST.renders);
    expect(posts('/upload')).toHaveLength(RING_PROBE_COST.uploads);
    return { result, lines };
  } finally {
    await server.close();
  }
}

const offSamples = (samples: RingSample[]) => samples.filter((s) => s.seen !== s.want).map((s) => `${s.label} ${s.rgb.join(',')}`);

describe('runRingProbe against the local renderer', () => {
  it('finds the ring where expected under the default readings', async () => {
    const { result, lines } = await probeUnder({});
    expect(offSamples(result.samples)).toEqual([]);
    expect(result.ok).toBe(true);
    expect(result.verdict).toMatch(/^ring where expected/);
    expect(result.samples).toHaveLength(20);
    expect(lines.some((l) => l.includes(result.render.url))).toBe(true);
    expect(await readdir(workDir)).toEqual([]); // its folder is removed
  });

  it('finds it under luma=white-transparent, scale=width when given those readings', async () => {
    const { result } = await probeUnder({ luma: 'white-transparent', scale: 'width' });
    expect(offSamples(result.samples)).toEqual([]);
    expect(result.ok).toBe(true);
  });

  it('is not ok when told the wrong readings: the bubble is missing, so the ring cannot be judged', async () => {
    const { result } = await probeUnder({ luma: 'white-transparent' }, DEFAULT_READINGS);
    expect(result.ok).toBe(false);
    expect(result.verdict).toMatch(/^inconclusive: the bubble/);
    expect(result.samples.filter((s) => s.want === 'yellow').every((s) => s.seen === 'yellow')).toBe(true);
  });
});

describe('ringVerdict', () => {
  const W = 12;
  const sample = (side: RingSample['side'], d: number, seen: RingSample['seen'], want: RingSample['want']): RingSample => ({
    label: `${side} edge${d >= 0 ? '+' : ''}${d}px`, side, fromEdgePx: d, at: [0, 0], rgb: [0, 0, 0], seen, want,
  });
  /** Every side as expected, with `change` applied to each sample. */
  const frame = (change: (s: RingSample) => RingSample['seen'] = (s) => s.want) =>
    (['left', 'right', 'top', 'bottom'] as const).flatMap((side) =>
      ([[-8, 'red'], [3, 'yellow'], [6, 'yellow'], [W - 3, 'yellow'], [W + 6, 'blue']] as const).map(([d, want]) => {
        const s = sample(side, d, want, want);
        return { ...s, seen: change(s) };
      }),
    );

  it('ok when every sample is as wanted', () => {
    expect(ringVerdict(frame(), DEFAULT_READINGS).ok).toBe(true);
  });
  it('a ring outside the outline on every side points at the stroke', () => {
    const v = ringVerdict(frame((s) => (s.fromEdgePx === 3 ? 'blue' : s.fromEdgePx === W + 6 ? 'yellow' : s.want)), DEFAULT_READINGS);
    expect(v.ok).toBe(false);
    expect(v.verdict).toMatch(/MISPLACED.*stroke/);
  });
  it('a ring off on one side only points at the box', () => {
    const v = ringVerdict(frame((s) => (s.side === 'left' && s.fromEdgePx === W + 6 ? 'yellow' : s.want)), DEFAULT_READINGS);
    expect(v.verdict).toMatch(/MISPLACED.*left side only.*box/);
  });
  it('no ring colour anywhere is a missing ring', () => {
    expect(ringVerdict(frame((s) => (s.want === 'yellow' ? 'blue' : s.want)), DEFAULT_READINGS).verdict).toMatch(/MISSING/);
  });
  it('a bubble not where the layout puts it makes the probe inconclusive, not a ring verdict', () => {
    const v = ringVerdict(frame((s) => (s.want === 'red' ? 'blue' : s.want)), DEFAULT_READINGS);
    expect(v.ok).toBe(false);
    expect(v.verdict).toMatch(/^inconclusive: the bubble/);
  });
});
