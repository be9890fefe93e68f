import { tmpdir } from 'node:os';
import { parseEnv } from '../common/config.js';
import { createLogger } from '../common/logger.js';
import { setUpProcess } from '../common/runtime-config.js';
import { pipelineConfigSchema } from '../pipeline/config.js';
import { createRedis } from '../pipeline/redis.js';
import { calibrationKeyId, installedSchemaVersion, PROBE_COST, redisCalibrationStore, runCalibration, type CalibrationRun } from './calibration/index.js';
import { RING_PROBE_COST, runRingProbe, type RingProbeResult } from './calibration/ring-probe.js';
import { createShotstackClient, type ShotstackClient } from './client.js';
import { clientOptionsFromConfig, loadShotstackConfig, usesLocalRenderer } from './config.js';
import { formatReadings, type RendererReadings } from './readings.js';

/**
 * `npm run shotstack:check [--save | --forget] [--ring]` — calibrates the configured Shotstack key now (the workers do it
 * by themselves before their first render; see shotstack/calibration) and prints the report: the renders, what
 * they cost, every sample and measurement, and the readings decided — or why one could not be.
 *   --save    stores the result in Redis for the workers (REDIS_URL, PIPELINE_QUEUE_PREFIX)
 *   --forget  deletes the stored readings instead (no renders): the next job calibrates again
 *   --ring    then also runs the ring probe (calibration/ring-probe.ts) with the readings just decided: one more
 *             render, checking that the bubble ring lands just outside the bubble's edge
 * Exit code: 0 when every reading was decided (or the readings were forgotten) and, with --ring, the ring is where
 * expected; 1 when not; 2 on a usage error.
 */
const USAGE = 'usage: npm run shotstack:check -- [--save | --forget] [--ring]';
const KNOWN_FLAGS = new Set(['--save', '--forget', '--ring']);
const flags = new Set(process.argv.slice(2));
const unknownFlags = [...flags].filter((f) => !KNOWN_FLAGS.has(f));
const conflict = flags.has('--forget') && (flags.has('--save') || flags.has('--ring'));
if (unknownFlags.length || conflict) {
  console.error(`${unknownFlags.length ? `unknown option ${unknownFlags.join(' ')}\n` : ''}${USAGE}`);
  process.exit(2);
}

// FFMPEG_PATH/FFPROBE_PATH for the probes' checks; this report logs through its own warn-level logger below.
setUpProcess({ defaultLevel: 'warn' });
const cfg = loadShotstackConfig();
if (usesLocalRenderer(cfg)) {
  console.error(
    'shotstack:check calibrates a real Shotstack key: set SHOTSTACK_API_KEY (and SHOTSTACK_ENV=stage for a sandbox key).\n' +
      `It renders ${PROBE_COST.renders} probe videos (${PROBE_COST.outputSeconds} s of output in all). Without a key the pipeline uses the local renderer, whose ` +
      'readings need no calibration. (Dry run against the local renderer: SHOTSTACK_API_URL=http://127.0.0.1:4550 with any key.)',
  );
  process.exit(2);
}

const logger = createLogger({ level: 'warn', service: 'shotstack-check' });
const clientOptions = { ...clientOptionsFromConfig(cfg), logger };
const keyId = calibrationKeyId(clientOptions.apiUrl, cfg.SHOTSTACK_ENV, cfg.SHOTSTACK_API_KEY);

/** The workers' Redis store for this key (its connection closed by `use`'s end). */
async function withStore<T>(use: (store: ReturnType<typeof redisCalibrationStore>) => Promise<T>): Promise<T> {
  const env = parseEnv('pipeline', pipelineConfigSchema.pick({ REDIS_URL: true, PIPELINE_QUEUE_PREFIX: true }));
  const redis = createRedis(env.REDIS_URL, { connectionName: 'bubblecast-shotstack-check' });
  try {
    return await use(redisCalibrationStore(redis, env.PIPELINE_QUEUE_PREFIX, keyId));
  } finally {
    redis.disconnect();
  }
}

function printReport(run: CalibrationRun): void {
  const { decision } = run;
  console.log(`renders: ${Object.entries(run.renders).map(([name, r]) => `${name} ${r.id}`).join(', ')} (${Math.round(run.elapsedMs / 1000)} s)`);
  const compact = (_k: string, v: unknown) => (Array.isArray(v) && v.every((n) => typeof n === 'number') ? v.join(',') : v);
  console.log(`evidence: ${JSON.stringify(decision.evidence, compact, 2)}`);
  for (const problem of decision.problems) console.log(`problem: ${problem}`);
  const decided = Object.entries(decision.decided).map(([k, v]) => `${k}=${v}`).join(', ') || 'none';
  console.log(decision.readings ? `readings: ${formatReadings(decision.readings)}` : `UNDECIDED — decided only: ${decided}`);
}

function printRing(ring: RingProbeResult): void {
  console.log(`ring render: ${ring.render.id}`);
  for (const s of ring.samples) {
    const mark = s.seen === s.want ? 'ok' : `WANT ${s.want}`;
    console.log(`  ${s.label.padEnd(17)} (${s.at.join(', ')}) rgb(${s.rgb.join(', ')}) ${s.seen} ${mark}`);
  }
  console.log(`ring: ${ring.verdict}`);
}

/** The ring probe with the readings just decided; 0 when the ring is where expected, 1 when not (or it failed). */
async function ringProbe(client: ShotstackClient, readings: RendererReadings): Promise<number> {
  console.log(
    `Ring probe (readings ${formatReadings(readings)}): ${RING_PROBE_COST.renders} render, ` +
      `${RING_PROBE_COST.outputSeconds} s of output, ${RING_PROBE_COST.uploads} uploads`,
  );
  try {
    const ring = await runRingProbe({ client, readings, workDir: tmpdir(), print: (line) => console.log(line) });
    printRing(ring);
    return ring.ok ? 0 : 1;
  } catch (e) {
    console.error(`ring probe failed: ${(e as Error).message}`);
    return 1;
  }
}

async function calibrate(): Promise<number> {
  console.log(
    `Calibrating ${clientOptions.apiUrl} (${cfg.SHOTSTACK_ENV}, key id ${keyId}): ${PROBE_COST.renders} renders, ` +
      `${PROBE_COST.outputSeconds} s of output, ${PROBE_COST.uploads} uploads`,
  );
  const client = createShotstackClient(clientOptions);
  const run = await runCalibration({ client, logger });
  printReport(run);
  const readings = run.decision.readings;
  if (!readings) {
    if (flags.has('--ring')) console.log('ring probe skipped: it needs every reading decided');
    return 1;
  }
  if (flags.has('--save')) {
    const result = { readings, at: new Date().toISOString(), schemaVersion: installedSchemaVersion() };
    await withStore(async (store) => {
      await store.saveReadings(result);
      await store.publish({ state: 'known', origin: 'calibrated', ...result });
    });
    console.log('saved to Redis: the workers use these readings until they are older than SHOTSTACK_CALIBRATION_MAX_AGE_DAYS');
  } else {
    console.log(`(not saved: add --save to store them for the workers, or pin them with SHOTSTACK_READINGS=${formatReadings(readings)})`);
  }
  return flags.has('--ring') ? await ringProbe(client, readings) : 0;
}

async function forget(): Promise<number> {
  await withStore(async (store) => {
    await store.forget();
    await store.publish({ state: 'unknown', origin: 'calibrated' });
  });
  console.log(`forgot the stored readings of key id ${keyId}: the next job calibrates again`);
  return 0;
}

try {
  process.exitCode = flags.has('--forget') ? await forget() : await calibrate();
} catch (e) {
  console.error(`calibration failed: ${(e as Error).message}`);
  process.exitCode = 1;
}
