import { describe, expect, it } from 'vitest';
import { loadPipelineConfig } from '../config.js';
import type { GpuMemberState } from '../gpu-pool.js';
import { absPctError, chooseRoute, clipFrames, cpuFpsSample, estimateCpuSec, estimateGpuSec, rollFps, transferSec, type ClipFacts, type GpuSide } from './estimate.js';
import { isWarm, pickGpu } from './gpu-view.js';
import { DEFAULT_ROUTING, routingSettingsFromConfig } from './settings.js';

const S = { ...DEFAULT_ROUTING, cpuFpsSeed: { fast: 40, quality: 0.4 }, gpuFpsSeed: { fast: 200, quality: 10 }, gpuColdStartSec: 60, gpuTransferMbps: 100, jobStartSec: 0 };
const clip = (durationSec: number, engine: ClipFacts['engine'] = 'fast', inputBytes = 5_000_000): ClipFacts => ({ durationSec, fps: 25, inputBytes, engine });
const warmGpu: GpuSide = { host: 'g1', fps: 200, busy: 0, concurrency: 1, warm: true };
const coldGpu: GpuSide = { ...warmGpu, warm: false };
const cpu = { fps: 40, busy: 0 };

describe('route estimate', () => {
  it('counts frames, CPU sharing, cold start, transfer and the GPU queue', () => {
    expect(clipFrames({ durationSec: 10, fps: 25 })).toBe(250);
    expect(clipFrames({ durationSec: 0, fps: 25 })).toBe(1);
    expect(estimateCpuSec(clip(10), cpu, S)).toBeCloseTo(6.25);
    // Another CPU overlay on this worker shares its cores: twice as long.
    expect(estimateCpuSec(clip(10), { fps: 40, busy: 1 }, S)).toBeCloseTo(12.5);
    // 5 MB up + ≈ 5 MB back at 100 Mbit/s = 0.8 s.
    expect(transferSec(5_000_000, 100)).toBeCloseTo(0.8);
    expect(estimateGpuSec(clip(10), warmGpu, S)).toBeCloseTo(0.8 + 1.25);
    expect(estimateGpuSec(clip(10), coldGpu, S)).toBeCloseTo(60 + 0.8 + 1.25);
    // Two jobs on a one-slot worker: two runs ahead; on a two-slot worker, half of one.
    expect(estimateGpuSec(clip(10), { ...warmGpu, busy: 2 }, S)).toBeCloseTo(0.8 + 1.25 * 3);
    expect(estimateGpuSec(clip(10), { ...warmGpu, busy: 2, concurrency: 2 }, S)).toBeCloseTo(0.8 + 1.25 * 1.5);
  });

  it('a fixed start per run: short clips are not proportionally faster, and the measured fps leaves it out', () => {
    const started = { ...S, jobStartSec: 2 };
    expect(estimateCpuSec(clip(2), cpu, started)).toBeCloseTo(2 + 50 / 40);
    expect(estimateCpuSec(clip(2), { fps: 40, busy: 1 }, started)).toBeCloseTo(2 * (2 + 50 / 40));
    expect(estimateGpuSec(clip(10), { ...warmGpu, busy: 1 }, started)).toBeCloseTo(0.8 + 2 * (2 + 1.25));
    // 60 frames in 4 s with a 2 s start: 30 fps; the same run shared with one other job: 4 s per job → 30 fps too.
    expect(cpuFpsSample(60, 4, 0, 2)).toBeCloseTo(30);
    expect(cpuFpsSample(60, 8, 1, 2)).toBeCloseTo(30);
    // A run shorter than the start: at least a fifth of it counts as frames.
    expect(cpuFpsSample(60, 1, 0, 2)).toBeCloseTo(300);
  });

  it('long clip + idle warm GPU → GPU', () => {
    const r = chooseRoute(clip(120, 'fast', 40_000_000), cpu, warmGpu, S);
    expect(r).toMatchObject({ path: 'gpu', reason: 'gpu_sooner', gpuHost: 'g1', gpuWarm: true });
    expect(r.gpuSec!).toBeLessThan(r.cpuSec);
  });

  it('short clip + cold GPU with a big cold start → CPU; the same clip on a warm GPU → GPU', () => {
    const cold = chooseRoute(clip(5), cpu, coldGpu, S);
    expect(cold).toMatchObject({ path: 'cpu', reason: 'cpu_sooner', gpuWarm: false });
    expect(cold.cpuSec).toBeCloseTo(3.13, 1);
    expect(cold.gpuSec!).toBeGreaterThan(60);
    expect(chooseRoute(clip(5), cpu, warmGpu, S).path).toBe('gpu');
  });

  it('a long clip waits for a cold GPU when the CPU would take longer still', () => {
    expect(chooseRoute(clip(180, 'fast', 60_000_000), { fps: 20, busy: 0 }, coldGpu, S).path).toBe('gpu');
  });

  it('a busy GPU loses to an idle CPU', () => {
    expect(chooseRoute(clip(60), cpu, { ...warmGpu, fps: 50, busy: 4 }, S)).toMatchObject({ path: 'cpu', reason: 'cpu_sooner' });
  });

  it('quality prefers the GPU, even when slower, unless it is more than qualityGpuFactor × the CPU', () => {
    // Cold GPU, 5 s clip: CPU (fast stands in) ≈ 3 s, GPU ≈ 60 s + 12.5 s — 20× the CPU: much worse → CPU.
    expect(chooseRoute(clip(5, 'quality'), cpu, coldGpu, S)).toMatchObject({ path: 'cpu', reason: 'gpu_much_slower' });
    // Same clip, warm GPU: ≈ 13 s against 3 s — slower, but within 5× → GPU.
    expect(chooseRoute(clip(5, 'quality'), cpu, { ...warmGpu, fps: 10 }, { ...S, qualityGpuFactor: 5 })).toMatchObject({
      path: 'gpu',
      reason: 'quality_prefers_gpu',
    });
    // A fast job with the same numbers takes the sooner path: the CPU.
    expect(chooseRoute(clip(5), cpu, { ...warmGpu, fps: 10 }, S).path).toBe('cpu');
    // With ISNet on the CPU too (0.4 fps), a cold GPU is still far sooner.
    expect(chooseRoute(clip(5, 'quality'), { fps: 0.4, busy: 0 }, coldGpu, S).path).toBe('gpu');
  });

  it('no usable GPU → CPU, with no GPU estimate', () => {
    expect(chooseRoute(clip(60, 'quality'), cpu, null, S)).toEqual({ path: 'cpu', reason: 'gpu_unavailable', cpuSec: 37.5, gpuSec: null });
  });

  it('error and rolling fps', () => {
    expect(absPctError(12, 10)).toBeCloseTo(20);
    expect(absPctError(8, 10)).toBeCloseTo(20);
    expect(rollFps(null, 30)).toBe(30);
    expect(rollFps(40, 30, 0.3)).toBeCloseTo(37);
  });
});

describe('the GPU the pool would pick', () => {
  const state = (host: string, o: Partial<GpuMemberState> = {}): GpuMemberState => ({
    host,
    ok: true,
    status: 'ok',
    provider: 'cuda',
    gpuName: null,
    lastCheckAt: null,
    inFlight: 0,
    reported: null,
    downUntil: null,
    lastSeenAt: null,
    ...o,
  });
  const now = Date.parse('2026-01-01T12:00:00Z');

  it('least loaded usable worker; warm when seen within the idle window', () => {
    const recent = new Date(now - 60_000).toISOString();
    const old = new Date(now - 600_000).toISOString();
    const picked = pickGpu(
      [state('a', { reported: { running: 2, queued: 1, concurrency: 1 }, lastSeenAt: recent }), state('b', { lastSeenAt: old }), state('c', { ok: false })],
      now,
      240,
    );
    expect(picked).toEqual({ host: 'b', busy: 0, concurrency: 1, warm: false });
    expect(pickGpu([state('a', { inFlight: 1, lastSeenAt: recent, reported: { running: 0, queued: 0, concurrency: 2 } })], now, 240)).toEqual({
      host: 'a',
      busy: 1,
      concurrency: 2,
      warm: true,
    });
    expect(pickGpu([state('c', { ok: false })], now, 240)).toBeNull();
    expect(isWarm(null, now, 240)).toBe(false);
    expect(isWarm(recent, now, 30)).toBe(false);
  });
});

describe('routing settings', () => {
  it('have defaults, are validated, and reach the router as arguments', () => {
    const cfg = loadPipelineConfig.parse({});
    const s = routingSettingsFromConfig(cfg);
    expect(s).toMatchObject({ cpuFpsSeed: { fast: 40, quality: 0.4 }, jobStartSec: 2, gpuColdStartSec: 45, gpuIdleWarmSec: 240, gpuTransferMbps: 50, qualityGpuFactor: 3 });
    expect(s.hostClass).toMatch(/^cpu\d+$/);
    const set = routingSettingsFromConfig(loadPipelineConfig.parse({ GPU_COLD_START_SEC: '90', ROUTING_CPU_FPS_SEED: '12.5', ROUTING_HOST_CLASS: 'railway-2c' }));
    expect(set).toMatchObject({ gpuColdStartSec: 90, cpuFpsSeed: { fast: 12.5 }, hostClass: 'railway-2c' });
    expect(() => loadPipelineConfig.parse({ GPU_TRANSFER_MBPS: '0' })).toThrow(/GPU_TRANSFER_MBPS/);
    expect(() => loadPipelineConfig.parse({ ROUTING_CPU_FPS_SEED: 'fast' })).toThrow(/ROUTING_CPU_FPS_SEED/);
    expect(() => loadPipelineConfig.parse({ ROUTING_HOST_CLASS: 'a b' })).toThrow(/ROUTING_HOST_CLASS/);
  });
});
