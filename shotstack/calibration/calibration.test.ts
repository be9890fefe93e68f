import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../common/logger.js';
import { createShotstackClient } from '../client.js';
import { startLocalShotstack } from '../local/server.js';
import { formatReadings, type AlphaFate, type RendererReadings } from '../readings.js';
import { PROBE_COST } from './probes.js';
import { runCalibration } from './run.js';

/**
 * The whole calibration — upload, probe renders over real HTTP, ffmpeg decoding, decision — against the local
 * renderer emulating each possible service: every luma × luma-geometry × scale combination (12), the alpha fates
 * cycling through all four pairs across them. The decided readings must be exactly the emulated ones.
 */
const logger = createLogger({ level: 'silent' });
let workDir: string;

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'calibration-test-'));
});
afterAll(async () => {
  await rm(workDir, { recursive: true, force: true });
});

const ALPHA_PAIRS: [AlphaFate, AlphaFate][] = [
  ['kept', 'kept'],
  ['lost', 'kept'],
  ['kept', 'lost'],
  ['lost', 'lost'],
];

function combinations(): RendererReadings[] {
  const out: RendererReadings[] = [];
  for (const luma of ['white-visible', 'white-transparent'] as const)
    for (const lumaGeometry of ['clip', 'viewport'] as const)
      for (const scale of ['fit', 'width', 'height'] as const) {
        const [alphaWebm, alphaMov] = ALPHA_PAIRS[out.length % ALPHA_PAIRS.length]!;
        out.push({ luma, lumaGeometry, scale, alphaWebm, alphaMov });
      }
  return out;
}

describe('calibration against the local renderer', () => {
  it.each(combinations().map((r) => [formatReadings(r), r] as const))('decides %s', async (_name, emulated) => {
    const server = await startLocalShotstack({ emulate: emulated, logger });
    try {
      const client = createShotstackClient({ apiUrl: server.url, env: 'stage', pollIntervalMs: 100, maxRetries: 0, logger });
      const run = await runCalibration({ client, logger, workDir });
      expect(run.decision.problems).toEqual([]);
      expect(run.decision.readings).toEqual(emulated);
      const submitted = server.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/render'));
      expect(submitted).toHaveLength(PROBE_COST.renders);
      expect(server.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/upload'))).toHaveLength(PROBE_COST.uploads);
    } finally {
      await server.close();
    }
  });
});
