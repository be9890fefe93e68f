import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CalibrationPendingError, type CalibrationStatus, type ReadingsSource } from '../../shotstack/calibration/index.js';
import { DEFAULT_READINGS, type RendererReadings } from '../../shotstack/readings.js';
import { needSharedMedia } from '../../testing/media.js';
import { failureText } from '../messages.js';
import { bubbleLayout } from '../stages/layout.js';
import { checkBubble, makeTestClips, startHarness, TEST_SETTINGS, type Harness, type TestClips } from '../test-support.js';

/**
 * A video job end to end (real worker, Redis, CPU engine, local renderer) when the renderer reads Edits unlike
 * the defaults: the local renderer emulates `luma=white-transparent,scale=width,luma-geometry=viewport`, and the
 * worker learns those readings from a calibration that is still running when the job reaches the render stage.
 */
const SERVICE: RendererReadings = { ...DEFAULT_READINGS, luma: 'white-transparent', scale: 'width', lumaGeometry: 'viewport' };
const RUNNING: CalibrationStatus = { state: 'running', origin: 'calibrated' };

/**
 * A calibration still running for the first `pendingAsks` get() calls (each gives up, as a calibrated source does
 * when its wait is over), known afterwards. `onPending` runs at each pending ask.
 */
function calibrationGate(pendingAsks: number, onPending: () => void = () => undefined) {
  let asked = 0;
  const source: ReadingsSource = {
    get: async () => {
      if (++asked > pendingAsks) return SERVICE;
      onPending();
      throw new CalibrationPendingError(RUNNING);
    },
    status: async () => (asked > pendingAsks ? { state: 'known', origin: 'calibrated', readings: SERVICE } : RUNNING),
  };
  return { source, asked: () => asked };
}

describe.skipIf(!needSharedMedia())('a job under renderer readings that differ from the defaults', () => {
  let h: Harness;
  let clips: TestClips;

  beforeAll(async () => {
    h = await startHarness('readings', { emulate: SERVICE });
    clips = await makeTestClips(join(h.workDir, 'clips'));
  });
  afterAll(async () => {
    await h?.close();
  });

  const renderPosts = () => h.shotstack.requests.filter((r) => r.method === 'POST' && r.path === '/edit/stage/render');
  const uploads = () => h.shotstack.requests.filter((r) => r.method === 'POST' && r.path === '/ingest/stage/upload');

  it('waits for the calibration (retrying, not rendering), then renders the speaker inside the bubble', async () => {
    // The first attempt reaches the render stage while the calibration runs: it must have sent the renderer
    // nothing by then, and fail retryably. The calibration is known by the retry.
    const sentWhilePending: number[] = [];
    const gate = calibrationGate(1, () => sentWhilePending.push(renderPosts().length + uploads().length));
    await h.startWorker({ mode: 'cpu', readings: gate.source, readingsWaitMs: 200 });
    const jobId = await h.enqueue({ head: h.telegramRef(clips.head), background: h.telegramRef(clips.background), output: 'video' });

    const { state, job } = await h.waitFinished(jobId, 180_000);
    expect(state, job.failedReason).toBe('completed');
    expect(sentWhilePending).toEqual([0]);
    expect(gate.asked()).toBe(2);
    const { logs } = await h.queue.getJobLogs(jobId);
    expect(logs.filter((l) => l.startsWith('attempt 1 failed: pipeline:renderer_calibrating:'))).toHaveLength(1);
    // The retry resumed after the overlay: only the render stage ran again, once, with three sources.
    expect(job.returnvalue.resumed).toEqual(['fetch', 'overlay']);
    expect(renderPosts()).toHaveLength(1);
    expect(uploads()).toHaveLength(3);

    const sent = h.tg.sentFiles.filter((f) => f.chatId === job.data.chatId);
    expect(sent).toHaveLength(1);
    const place = bubbleLayout(job.data, TEST_SETTINGS).placement;
    const check = await checkBubble(sent[0]!.path, clips, place);
    expect(check.personPoints).toBeGreaterThan(500);
    expect(check.personVsHead).toBeLessThan(25);
    expect(check.personVsBackground).toBeGreaterThan(60);
    expect(check.outsideVsBackground).toBeLessThan(10);
  }, 240_000);

  it('PIPELINE_OVERLAY_KIND=alpha waits before the overlay: a calibration that outlasts the attempts fails the job without any work', async () => {
    const gate = calibrationGate(Infinity);
    await h.startWorker({ mode: 'cpu', readings: gate.source, readingsWaitMs: 100, extra: { settings: { ...TEST_SETTINGS, overlayKind: 'alpha' } } });
    const before = { renders: renderPosts().length, uploads: uploads().length };
    const jobId = await h.enqueue({ head: h.telegramRef(clips.head), background: h.telegramRef(clips.background), output: 'video' });
    const { state, job } = await h.waitFinished(jobId, 120_000);
    expect(state).toBe('failed');
    expect(job.failedReason).toMatch(/^pipeline:renderer_calibrating:/);
    expect(job.attemptsMade).toBe(2);
    expect(gate.asked()).toBe(2);
    const { logs } = await h.queue.getJobLogs(jobId);
    expect(logs.some((l) => l.startsWith('overlay:'))).toBe(false);
    expect({ renders: renderPosts().length, uploads: uploads().length }).toEqual(before);
    const texts = h.tg.callsOf('sendMessage').filter((c) => c.params.chat_id === job.data.chatId).map((c) => c.params.text);
    expect(texts).toEqual([failureText('renderer_calibrating', 'en')]);
  }, 150_000);
});
