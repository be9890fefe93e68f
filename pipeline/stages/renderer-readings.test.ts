import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { CalibrationPendingError, fixedReadings, type CalibrationStatus, type ReadingsSource } from '../../shotstack/calibration/index.js';
import { createShotstackClient } from '../../shotstack/client.js';
import { DEFAULT_READINGS, type RendererReadings } from '../../shotstack/readings.js';
import { classifyError } from '../classify.js';
import { parseJobData } from '../contract.js';
import { TEST_SETTINGS } from '../test-support.js';
import type { Renderer } from './render.js';
import { ingestStillValid } from './render.js';
import { awaitReadings, overlaySettingsFor, READINGS_WAIT_MS } from './renderer-readings.js';
import type { IngestState } from './state.js';

/** How the pipeline waits for the renderer's readings, with the calibration's own error and fixed sources. */
const RUNNING: CalibrationStatus = { state: 'running', origin: 'calibrated' };

/** Still calibrating: every get() gives up as a calibrated source does when its wait is over. */
function pendingSource(calls: { waitMs?: number }[] = []): ReadingsSource {
  return {
    get: async (opts) => {
      calls.push({ waitMs: opts?.waitMs });
      throw new CalibrationPendingError(RUNNING);
    },
    status: async () => RUNNING,
  };
}

/** Fails the test if anyone asks it: proves a path does not wait for readings. */
const untouchable: ReadingsSource = {
  get: async () => {
    throw new Error('readings were asked for');
  },
  status: async () => RUNNING,
};

function rendererWith(readings: ReadingsSource, extra: Partial<Renderer> = {}): Renderer {
  return { client: createShotstackClient({ apiUrl: 'http://127.0.0.1:9', env: 'stage' }), id: 'http://r', isLocal: true, readings, ...extra };
}

function capture() {
  const lines: string[] = [];
  const log = pino({ level: 'debug' }, new Writable({ write: (c, _e, cb) => (lines.push(String(c)), cb()) }));
  return { log, lines };
}

const ref = (id: string) => ({ source: 'telegram' as const, fileId: `AgAC${id}xyz`, fileUniqueId: `u${id}abc`, kind: 'video' as const });
const video = parseJobData({ chatId: 1, userId: 2, head: ref('a'), background: ref('b'), output: 'video' });
const signal = new AbortController().signal;

describe('awaitReadings', () => {
  it('turns a calibration still running into a retryable renderer_calibrating failure, after a bounded wait', async () => {
    const calls: { waitMs?: number }[] = [];
    const err = await awaitReadings(rendererWith(pendingSource(calls)), signal).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'PipelineError', code: 'renderer_calibrating', retryable: true });
    expect((err as Error).message).toContain('running');
    expect(classifyError(err)).toMatchObject({ retryable: true, failure: { code: 'renderer_calibrating', userFixable: false } });
    expect(calls).toEqual([{ waitMs: READINGS_WAIT_MS }]);
    await awaitReadings(rendererWith(pendingSource(calls), { readingsWaitMs: 50 }), signal).catch(() => undefined);
    expect(calls[1]).toEqual({ waitMs: 50 });
  });

  it('passes other errors (a cancel) through unchanged, and returns known readings', async () => {
    const controller = new AbortController();
    controller.abort(new Error('cancelled on request'));
    const fixed = fixedReadings({ ...DEFAULT_READINGS, scale: 'width' }, 'forced');
    await expect(awaitReadings(rendererWith(fixed), controller.signal)).rejects.toThrow('cancelled on request');
    await expect(awaitReadings(rendererWith(fixed), signal)).resolves.toMatchObject({ scale: 'width' });
  });
});

describe('overlaySettingsFor', () => {
  it('does not wait for readings for luma jobs or non-video outputs', async () => {
    const { log } = capture();
    expect(await overlaySettingsFor(rendererWith(untouchable), video, TEST_SETTINGS, { signal, log })).toBe(TEST_SETTINGS);
    const note = parseJobData({ chatId: 1, userId: 2, head: ref('a'), output: 'note' });
    const alpha = { ...TEST_SETTINGS, overlayKind: 'alpha' as const };
    expect(await overlaySettingsFor(rendererWith(untouchable), note, alpha, { signal, log })).toBe(alpha);
  });

  it('PIPELINE_OVERLAY_KIND=alpha waits for the readings, and falls back to luma (logged as an error) when MOV alpha is lost', async () => {
    const alpha = { ...TEST_SETTINGS, overlayKind: 'alpha' as const };
    const kept = capture();
    expect(await overlaySettingsFor(rendererWith(fixedReadings(DEFAULT_READINGS, 'local')), video, alpha, { signal, log: kept.log })).toBe(alpha);
    expect(kept.lines).toEqual([]);

    const lost = capture();
    const readings: RendererReadings = { ...DEFAULT_READINGS, alphaMov: 'lost' };
    const s = await overlaySettingsFor(rendererWith(fixedReadings(readings, 'forced')), video, alpha, { signal, log: lost.log });
    expect(s).toEqual({ ...alpha, overlayKind: 'luma' });
    expect(lost.lines).toHaveLength(1);
    expect(JSON.parse(lost.lines[0]!)).toMatchObject({ level: 50, msg: expect.stringContaining('PIPELINE_OVERLAY_KIND') });

    await expect(overlaySettingsFor(rendererWith(pendingSource()), video, alpha, { signal, log: lost.log })).rejects.toMatchObject({
      code: 'renderer_calibrating',
    });
  });
});

describe('ingestStillValid', () => {
  const stored: IngestState = {
    renderer: 'http://r',
    readings: DEFAULT_READINGS,
    overlay: { kind: 'luma', colorSrc: 'c', matteSrc: 'm', matte: 'square' },
    backgroundSrc: 'b',
    ms: 1,
  };

  it('keeps sources made for the current readings on the same renderer; anything else is ingested again', async () => {
    const { log, lines } = capture();
    const ctx = { signal, log };
    expect(await ingestStillValid(rendererWith(fixedReadings(DEFAULT_READINGS, 'local')), stored, ctx)).toBe(true);
    expect(await ingestStillValid(rendererWith(fixedReadings(DEFAULT_READINGS, 'local'), { id: 'http://other' }), stored, ctx)).toBe(false);
    const recalibrated = fixedReadings({ ...DEFAULT_READINGS, luma: 'white-transparent' }, 'forced');
    expect(await ingestStillValid(rendererWith(recalibrated), stored, ctx)).toBe(false);
    expect(lines.join('')).toContain('luma=white-transparent');
    // A state written before readings were stored.
    const { readings: _dropped, ...older } = stored;
    expect(await ingestStillValid(rendererWith(fixedReadings(DEFAULT_READINGS, 'local')), older as IngestState, ctx)).toBe(false);
  });
});
