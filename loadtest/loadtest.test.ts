import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { needSharedMedia } from '../testing/media.js';
import { loadTestConfigSchema, parseCli } from './config.js';
import type { LoadReport } from './report.js';
import { cleanupRun, runLoadTest } from './run.js';

/**
 * A short load test as part of `npm test`: the deployed processes (fake Bot API, bot, two pipeline workers, the GPU
 * worker on CPU, the local renderer, a throwaway Redis) serve four simulated users — a double-tapped Confirm, a bad
 * file, a cancelled job, a cancelled dialogue — while one worker is SIGKILLed mid-job and the renderer answers a
 * 429 (with Retry-After) and a 503. Users pick the fast engine only: the GPU worker runs on the CPU provider here,
 * where the quality engine takes minutes per clip. Nothing confirmed may go unanswered and nothing may arrive twice.
 */
describe('loadtest CLI arguments', () => {
  it('bare --chaos means every event; a list picks some; bad values are named', () => {
    expect(parseCli(['--users', '3', '--chaos']).chaos).toHaveLength(5);
    expect(parseCli(['--chaos', '--workers', '1']).workers).toBe(1);
    expect(parseCli(['--chaos', 'worker-kill,renderer-429']).chaos).toEqual(['worker-kill', 'renderer-429']);
    expect(parseCli([]).chaos).toEqual([]);
    expect(parseCli(['--engines', 'fast']).engines).toEqual(['fast']);
    expect(parseCli(['--mode', 'cpu']).mode).toBe('cpu');
    expect(parseCli([]).mode).toBe('auto');
    expect(() => parseCli(['--mode', 'turbo'])).toThrow(/--mode/);
    expect(() => parseCli(['--engines', 'turbo'])).toThrow(/--engines/);
    expect(() => parseCli(['--chaos', 'meteor'])).toThrow(/--chaos/);
    expect(() => parseCli(['--users', '0'])).toThrow(/--users/);
  });
});

describe.skipIf(!needSharedMedia())('loadtest (short run, light chaos)', () => {
  let report: LoadReport | undefined;

  afterAll(async () => {
    if (report) await cleanupRun(report, false);
  });

  it('serves every confirmed job once, through a worker SIGKILL and a renderer 429 + 503', { timeout: 170_000 }, async () => {
    const cfg = loadTestConfigSchema.parse({ users: 4, workers: 2, chaos: 'worker-kill,renderer-429-short', timeoutSec: 150, rampMs: 1000, gpuDeadlineMs: 60_000, engines: 'fast' });
    report = await runLoadTest(cfg, pino({ level: 'warn' }));
    const r = report;
    const why = JSON.stringify({ perUser: r.perUser, chaos: r.chaos, runDir: r.runDir }, null, 1);
    expect(r.lost, why).toBe(0);
    expect(r.duplicates, why).toBe(0);
    expect(r.delivered, why).toBeGreaterThan(0);
    expect(r.jobsAsked).toBeGreaterThanOrEqual(r.delivered + r.cancelled);
    expect(r.chaos.map((c) => c.event)).toEqual(['worker-kill', 'renderer-429-short']);
    expect(r.chaos.every((c) => c.ok), why).toBe(true);
    expect(r.restarts['worker-1'] ?? r.restarts['worker-2']).toBe(1);
    expect(r.latencyMs.p50).toBeGreaterThan(0);
    expect(r.latencyMs.p95!).toBeGreaterThanOrEqual(r.latencyMs.p50!);
    for (const name of ['redis', 'fake-telegram', 'shotstack', 'gpu-worker', 'worker-1', 'worker-2', 'bot']) expect(r.maxRssMb[name]).toBeGreaterThan(5);
    expect(r.leftoverBytes).toBeGreaterThanOrEqual(0);
    expect(r.redisKeysLeft.count).toBeGreaterThan(0);
    expect(r.gpuFallbacks.total).toBeGreaterThanOrEqual(0);
    expect(r.perUser).toHaveLength(4);
  });
});
