import { describe, expect, it } from 'vitest';
import * as gpuApi from '../gpu-worker/server/api.js';
import { failureText, MEDIA_FAILURE_CODES } from '../pipeline/contract.js';
import { isMediaErrorCode, MEDIA_ERROR_CODES, MediaError } from './errors.js';

/** The media error codes are one list (common/errors.ts): the others are that list, not copies that can drift. */
describe('media error codes', () => {
  it('the pipeline and the GPU worker API use the one list; its guard knows exactly those codes', () => {
    expect(new Set(MEDIA_ERROR_CODES).size).toBe(MEDIA_ERROR_CODES.length);
    expect(MEDIA_FAILURE_CODES).toBe(MEDIA_ERROR_CODES);
    expect(gpuApi.MEDIA_ERROR_CODES).toBe(MEDIA_ERROR_CODES);
    expect(gpuApi.isMediaErrorCode).toBe(isMediaErrorCode);
    for (const code of MEDIA_ERROR_CODES) expect(isMediaErrorCode(code)).toBe(true);
    for (const other of ['internal', 'misconfigured', 'NO_PERSON', '', 42, null]) expect(isMediaErrorCode(other)).toBe(false);
    expect(new MediaError('too_long', 'x')).toMatchObject({ name: 'MediaError', code: 'too_long' });
  });

  it('every code has its own user text in ru and en (the texts are a Record over the codes, so none can be missing)', () => {
    const en = MEDIA_ERROR_CODES.map((c) => failureText(c, 'en'));
    const ru = MEDIA_ERROR_CODES.map((c) => failureText(c, 'ru'));
    expect(new Set(en).size).toBe(MEDIA_ERROR_CODES.length);
    expect(new Set(ru).size).toBe(MEDIA_ERROR_CODES.length);
    expect(en).not.toContain(failureText('internal', 'en'));
    for (const text of ru) expect(text).toMatch(/[а-яё]/i);
  });
});
