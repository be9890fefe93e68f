import { mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import asc from 'assemblyscript/asc';
import { ASC_FLAGS, KERNELS, kernelFingerprint, kernelPath, kernelSource, kernelStampPath, type KernelName } from '../engine/index.js';
import { writeAtomically } from './assemble/manifest.js';

/**
 * Compiles the engine's AssemblyScript kernels (engine/kernels/assembly) to WASM beside the models. Idempotent: a
 * kernel whose recorded fingerprint (source + flags) matches is left alone. The stamp is written last, so an
 * interrupted build is rebuilt next time rather than trusted.
 */
export async function buildKernels(log: (line: string) => void): Promise<void> {
  for (const name of KERNELS) {
    const fingerprint = kernelFingerprint(name);
    const stamp = await readFile(kernelStampPath(name), 'utf8').catch(() => '');
    if (stamp.trim() === fingerprint) {
      log(`kernel ${name}.wasm up to date`);
      continue;
    }
    const t0 = performance.now();
    const bytes = await compile(name);
    await mkdir(dirname(kernelPath(name)), { recursive: true });
    await writeAtomically(kernelPath(name), bytes);
    await writeAtomically(kernelStampPath(name), `${fingerprint}\n`);
    log(`kernel ${name}.wasm written (${bytes.length} bytes) in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }
}

async function compile(name: KernelName): Promise<Uint8Array> {
  let binary: Uint8Array | null = null;
  const errors: string[] = [];
  const { error } = await asc.main([kernelSource(name), ...ASC_FLAGS, '--outFile', `${name}.wasm`], {
    // Kept in memory: written by the caller, atomically.
    writeFile: (file, contents) => {
      if (file.endsWith('.wasm') && typeof contents !== 'string') binary = contents;
    },
    stdout: { write: () => true } as never,
    stderr: { write: (s: string | Uint8Array) => (errors.push(String(s)), true) } as never,
  });
  if (error || !binary) throw new Error(`asc could not compile ${kernelSource(name)}: ${error?.message ?? 'no output'}\n${errors.join('')}`);
  return binary;
}
