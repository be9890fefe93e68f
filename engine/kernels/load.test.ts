import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { KernelMissingError, loadKernel } from './load.js';
import { kernelFingerprint, kernelPath } from './registry.js';

describe('kernel loading', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bubblecast-kernel-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const wasm = join(dir, 'refine.wasm');
  const stamp = `${wasm}.source`;

  it('refuses a kernel that was not built, naming the command that builds it', () => {
    const err = (() => {
      try {
        loadKernel(join(dir, 'absent.wasm'), join(dir, 'absent.wasm.source'), 'x');
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(KernelMissingError);
    expect((err as KernelMissingError).reason).toBe('missing');
    expect((err as Error).message).toMatch(/npm run models/);
  });

  it('refuses a kernel built from another source than the one in the repository', () => {
    copyFileSync(kernelPath('refine'), wasm);
    writeFileSync(stamp, `${'0'.repeat(64)}\n`);
    expect(() => loadKernel(wasm, stamp, kernelFingerprint('refine'))).toThrow(/older source/);
  });

  it('loads the built kernel when its stamp matches the source', () => {
    writeFileSync(stamp, `${kernelFingerprint('refine')}\n`);
    const module = loadKernel(wasm, stamp, kernelFingerprint('refine'));
    expect(WebAssembly.Module.exports(module).map((e) => e.name)).toEqual(expect.arrayContaining(['evaluate', 'fit', 'composeBubble']));
  });
});
