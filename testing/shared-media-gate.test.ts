import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { needSharedMedia, repoRoot } from './media.js';

/** The gate every media test goes through: a skip with the reason locally, a failure in CI. */
describe('needSharedMedia', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
    vi.restoreAllMocks();
  });
  const absent = join(repoRoot, '..', 'shared-not-here', 'media', 'hopper_mall_720x1280.mp4');

  it('is true when the file is there, in CI or not', () => {
    vi.stubEnv('CI', 'true');
    expect(needSharedMedia(join(repoRoot, 'package.json'))).toBe(true);
    vi.stubEnv('CI', '');
    expect(needSharedMedia(join(repoRoot, 'package.json'))).toBe(true);
  });

  it('locally: false, with one warning that names the missing path', () => {
    vi.stubEnv('CI', '');
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    expect(needSharedMedia(absent)).toBe(false);
    expect(needSharedMedia(absent)).toBe(false);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0]![0])).toContain(`${absent} is missing`);
    expect(String(warn.mock.calls[0]![0])).toContain('skipped');
  });

  it('with CI=true: throws, naming the path and why it is not a skip', () => {
    vi.stubEnv('CI', 'true');
    expect(() => needSharedMedia(absent)).toThrow(`${absent} is missing`);
    expect(() => needSharedMedia(absent)).toThrow(/CI=true: a missing \.\.\/shared fails the run/);
  });
});
