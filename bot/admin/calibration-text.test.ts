import { describe, expect, it } from 'vitest';
import { DEFAULT_READINGS } from '../../shotstack/readings.js';
import { calibrationText } from './calibration-text.js';

describe('the /mode calibration line', () => {
  it('says where known readings come from, when, and what they are', () => {
    const readings = { ...DEFAULT_READINGS, luma: 'white-transparent' as const };
    expect(calibrationText({ state: 'known', origin: 'calibrated', readings, at: '2025-03-04T05:06:07.000Z' })).toBe(
      'Renderer readings: calibrated 2025-03-04: luma=white-transparent,luma-geometry=clip,scale=fit,alpha-webm=kept,alpha-mov=kept',
    );
  });

  it('tells the admin that video jobs wait while the readings are unknown, and why', () => {
    expect(calibrationText({ state: 'running', origin: 'calibrated' })).toBe('Renderer readings: calibrating — video jobs wait');
    expect(calibrationText({ state: 'unknown', origin: 'calibrated' })).toBe('Renderer readings: not calibrated yet — video jobs wait');
    expect(calibrationText({ state: 'failed', origin: 'calibrated', error: 'HTTP 403', nextTryAt: '2025-03-04T05:10:00.000Z' })).toBe(
      'Renderer readings: calibration failed: HTTP 403; next try 2025-03-04T05:10:00.000Z — video jobs wait',
    );
    expect(calibrationText(null)).toMatch(/none published/);
  });
});
