import * as crypto from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { safeEqual } from './safe-equal.js';
import { startLocalShotstack, type LocalShotstack } from './server.js';
import { rawRequest } from './test-support.js';

// timingSafeEqual observed (not replaced): the tests check that secrets go through it, not through `===`.
vi.mock('node:crypto', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:crypto')>();
  return { ...actual, timingSafeEqual: vi.fn(actual.timingSafeEqual) };
});
const spy = vi.mocked(crypto.timingSafeEqual);
const comparedWith = (text: string) => spy.mock.calls.some(([a]) => Buffer.from(a as Uint8Array).toString('utf8') === text);

beforeEach(() => {
  spy.mockClear();
});

describe('safeEqual', () => {
  it('is true only for identical strings', () => {
    expect(safeEqual('c0ffee', 'c0ffee')).toBe(true);
    expect(safeEqual('c0ffee', 'c0ffef')).toBe(false);
    expect(safeEqual('é', 'e\u0301')).toBe(false);
    expect(spy).toHaveBeenCalledTimes(2); // the equal-length pairs; 'é' vs 'e\u0301' differ in byte length
  });

  it('answers false for unequal lengths without calling timingSafeEqual (which would throw)', () => {
    expect(safeEqual('abc', 'abcd')).toBe(false);
    expect(safeEqual('', 'a')).toBe(false);
    expect(spy).not.toHaveBeenCalled();
  });
});

describe('the local renderer compares secrets in constant time', () => {
  const KEY = 'k'.repeat(32);
  let server: LocalShotstack;
  beforeAll(async () => {
    server = await startLocalShotstack({ apiKey: KEY });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('checks upload signatures with timingSafeEqual', async () => {
    const slot = await rawRequest(`${server.url}/ingest/stage/upload`, { method: 'POST', headers: { 'x-api-key': KEY } });
    const signed = new URL((JSON.parse(slot.body) as { data: { attributes: { url: string } } }).data.attributes.url);
    const real = signed.searchParams.get('signature')!;
    const forged = `${real.slice(0, -1)}${real.endsWith('0') ? '1' : '0'}`; // same length, last character differs
    signed.searchParams.set('signature', forged);
    spy.mockClear();
    const res = await rawRequest(signed.href, { method: 'PUT', body: 'x' });
    expect(res.status).toBe(403);
    expect(res.body).toContain('Signature does not match');
    expect(comparedWith(forged)).toBe(true);
  });

  it('checks the API key with timingSafeEqual', async () => {
    const wrong = 'j'.repeat(32);
    const res = await rawRequest(`${server.url}/edit/stage/render/some-id`, { method: 'GET', headers: { 'x-api-key': wrong } });
    expect(res.status).toBe(403);
    expect(comparedWith(wrong)).toBe(true);
  });
});
