import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { totalsText } from '../../bot/admin/format.js';
import { logger } from '../../common/logger.js';
import { createPrometheusMetrics } from '../../common/metrics/prometheus.js';
import { sampleSum, sampleValue } from '../../common/metrics/prom-text.js';
import { startMetricsServer, type MetricsServer } from '../../common/metrics/server.js';
import { needSharedMedia } from '../../testing/media.js';
import { retryJob } from '../admin.js';
import { registerPipelineCollectors } from '../metrics-collectors.js';
import { countFinalFailure, readOperatorNumbers } from '../operator-numbers.js';
import { makeTestClips, startHarness, type Harness, type TestClips } from '../test-support.js';

/**
 * The worker's /metrics scraped over loopback HTTP while real jobs run (real Redis, the real worker and CPU engine,
 * the fake Bot API): the numbers move when a job fails or falls back to the CPU, and /stats' totals — read by the
 * same function — say the same.
 */
describe.skipIf(!needSharedMedia())('worker metrics', () => {
  let h: Harness;
  let clips: TestClips;
  let server: MetricsServer;
  const registry = new Registry();
  const metrics = createPrometheusMetrics(registry);

  beforeAll(async () => {
    h = await startHarness('metrics');
    clips = await makeTestClips(join(h.workDir, 'clips'));
    registerPipelineCollectors(registry, { queue: h.queue, redis: h.redis, prefix: h.prefix });
    server = await startMetricsServer({ registry, port: 0, host: '127.0.0.1', log: logger });
  });
  afterAll(async () => {
    await server?.close();
    await h?.close();
  });

  const scrape = async () => (await fetch(`${server.url}/metrics`)).text();

  it('a final failure moves failures_total{code} and the failed queue depth; /stats says the same', async () => {
    await h.startWorker({ mode: 'cpu', extra: { metrics } });
    const before = await scrape();
    expect(sampleValue(before, 'bubblecast_job_failures_total', { code: 'telegram_file_too_big' })).toBe(0);
    expect(sampleValue(before, 'bubblecast_queue_jobs', { state: 'failed' })).toBe(0);

    // Over the cloud Bot API's 20 MB: fails at once, without a download (pipeline/stages/telegram-input.ts).
    const jobId = await h.enqueue({ head: { ...h.telegramRef(clips.head), sizeBytes: 25 * 1024 * 1024 }, output: 'note', background: null });
    expect((await h.waitFinished(jobId)).state).toBe('failed');
    const after = await scrape();
    expect(sampleValue(after, 'bubblecast_job_failures_total', { code: 'telegram_file_too_big' })).toBe(1);
    expect(sampleValue(after, 'bubblecast_queue_jobs', { state: 'failed' })).toBe(1);
    expect(sampleValue(after, 'bubblecast_queue_paused')).toBe(0);

    const stats = totalsText(await readOperatorNumbers(h));
    expect(stats).toContain('completed 0, failed 1');
    expect(stats).toContain('failed for good: telegram_file_too_big ×1');
  });

  it('counts a failure processed twice once, and again after an admin /retry', async () => {
    const jobId = (await h.queue.getFailed(0, 0))[0]!.id!;
    const r = { redis: h.redis, prefix: h.prefix };
    // The worker already counted it: a second processing (a re-run after a crash) adds nothing.
    expect(await countFinalFailure(r, jobId, 'telegram_file_too_big', 60)).toBe(false);
    expect(await retryJob(h, jobId)).toBe('retried');
    await h.waitFinished(jobId);
    expect(sampleValue(await scrape(), 'bubblecast_job_failures_total', { code: 'telegram_file_too_big' })).toBe(2);
  });

  it('counts a job whose data the worker cannot read (it never reaches the failure notice) as internal', async () => {
    const job = await h.queue.add('render', { v: 999 } as never);
    expect((await h.waitFinished(job.id!)).state).toBe('failed');
    expect(sampleValue(await scrape(), 'bubblecast_job_failures_total', { code: 'internal' })).toBe(1);
    await h.stopWorker();
  });

  it('a GPU→CPU fallback moves the fallback counter, the CPU overlays and the note/cpu latency histograms', async () => {
    // Nothing listens on port 9: the health check or the call fails, and auto mode runs the CPU engine.
    await h.startWorker({ mode: 'auto', gpu: { url: 'http://127.0.0.1:9', token: 'gpu-test-token-0123456789', deadlineMs: 3000, idleTimeoutMs: 1000 }, extra: { metrics } });
    try {
      const jobId = await h.enqueue({ head: h.telegramRef(clips.head), output: 'note', background: null });
      const { state, job } = await h.waitFinished(jobId);
      expect(state, job.failedReason).toBe('completed');
      const text = await scrape();
      expect(sampleSum(text, 'bubblecast_gpu_fallbacks_total')).toBe(1);
      expect(sampleValue(text, 'bubblecast_gpu_fallbacks_total', { reason: job.returnvalue.overlay.fallbackReason! })).toBe(1);
      expect(sampleValue(text, 'bubblecast_overlays_total', { path: 'cpu' })).toBe(1);
      expect(sampleValue(text, 'bubblecast_job_duration_seconds_count', { output: 'note', path: 'cpu' })).toBe(1);
      expect(sampleValue(text, 'bubblecast_job_latency_seconds_count', { output: 'note', path: 'cpu' })).toBe(1);
      // The latency includes the processing: its sum is at least the processing's.
      const processing = sampleValue(text, 'bubblecast_job_duration_seconds_sum', { output: 'note', path: 'cpu' })!;
      expect(processing).toBeGreaterThan(0);
      expect(sampleValue(text, 'bubblecast_job_latency_seconds_sum', { output: 'note', path: 'cpu' })).toBeGreaterThanOrEqual(processing);
      expect(sampleValue(text, 'bubblecast_queue_jobs', { state: 'completed' })).toBe(1);
      expect(totalsText(await readOperatorNumbers(h))).toMatch(/Overlays GPU 0, CPU 1; GPU→CPU fallbacks 1 \(/);
    } finally {
      await h.stopWorker();
    }
  });
});
