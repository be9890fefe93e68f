import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { routingErrorText } from '../../bot/admin/format.js';
import { t } from '../../bot/i18n/index.js';
import { needSharedMedia } from '../../testing/media.js';
import { pipelineKeys } from '../keys.js';
import { readOperatorNumbers } from '../operator-numbers.js';
import { makeTestClips, startHarness, type Harness, type TestClips } from '../test-support.js';
import { RedisStateStore } from '../worker/redis-state.js';
import { routingKeys } from './keys.js';
import { DEFAULT_ROUTING } from './settings.js';

/**
 * The worker with routing on (PROCESSING_MODE=auto, no GPU worker configured, the real CPU engine): the job's
 * stored overlay state carries the estimate and the actual, its log says it, the CPU's fps is measured in Redis,
 * and /stats shows the estimate error.
 */
describe.skipIf(!needSharedMedia())('routing in the worker', () => {
  let h: Harness;
  let clips: TestClips;

  beforeAll(async () => {
    h = await startHarness('routing');
    clips = await makeTestClips(join(h.workDir, 'clips'));
    await h.startWorker({ mode: 'auto', extra: { routing: { ...DEFAULT_ROUTING, hostClass: 'test' } } });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('records the estimate and the actual overlay time per job, and /stats shows the error', async () => {
    const jobId = await h.enqueue({ head: h.telegramRef(clips.head, 'video_note'), output: 'overlay', background: null, options: { size: 'S', resolution: 'sd' } });
    const { state, job } = await h.waitFinished(jobId);
    expect(state, job.failedReason).toBe('completed');
    expect(job.returnvalue.overlay).toMatchObject({ path: 'cpu', fallbackReason: 'gpu_not_configured' });

    const store = new RedisStateStore(h.redis, pipelineKeys(h.prefix).state(jobId), 3600);
    const [inputs, overlay] = await Promise.all([store.get('inputs'), store.get('overlay')]);
    expect(overlay?.routing).toMatchObject({ chosen: 'cpu', reason: 'gpu_unavailable', ran: 'cpu', estimates: { gpuSec: null } });
    const r = overlay!.routing!;
    // The overlay output keeps the input's frame rate: probed duration × probed fps, at the seed's 40 fps, plus the start.
    expect(inputs!.head.fps).toBeGreaterThan(0);
    const frames = Math.round(inputs!.head.durationSec * inputs!.head.fps!);
    expect(r.estimates.cpuSec).toBeCloseTo(DEFAULT_ROUTING.jobStartSec + frames / 40, 1);
    expect(r.actualSec).toBeGreaterThan(0);
    expect(r.errorPct).toBeGreaterThanOrEqual(0);
    const { logs } = await h.queue.getJobLogs(jobId);
    expect(logs.some((l) => l.startsWith('routing: ') && l.includes('"actualSec"'))).toBe(true);

    const fpsKey = routingKeys(h.prefix).fps('cpu', 'test', 'fast');
    expect(Number(await h.redis.hget(fpsKey, 'fps'))).toBeGreaterThan(0);
    expect(await h.redis.ttl(fpsKey)).toBeGreaterThan(0);

    const n = await readOperatorNumbers(h);
    expect(n.routing.cpu).toEqual({ count: 1, mapePct: Math.round(r.errorPct! * 10) / 10 });
    expect(routingErrorText(n, t('en'))).toContain(`CPU ${n.routing.cpu.mapePct}% × 1`);
    expect(routingErrorText(n, t('en'))).toContain('GPU —');
  });
});
