import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { modelsDir } from '../models/registry.js';

/**
 * The engine's WASM kernels: AssemblyScript sources here (engine/kernels/assembly), compiled by `npm run models`
 * into <MODELS_DIR>/kernels beside the models — a build output, like them, never committed.
 */
export const KERNELS = ['refine', 'preprocess'] as const;
export type KernelName = (typeof KERNELS)[number];

/** The compiler's flags: optimised, SIMD, no runtime (the kernels never allocate), memory handed in by JS. */
export const ASC_FLAGS = ['-O3', '--runtime', 'stub', '--noAssert', '--enable', 'simd', '--importMemory'] as const;

export function kernelSource(name: KernelName): string {
  return fileURLToPath(new URL(`./assembly/${name}.ts`, import.meta.url));
}

export function kernelPath(name: KernelName): string {
  return join(modelsDir(), 'kernels', `${name}.wasm`);
}

/** Where the build records what it compiled (kernelFingerprint), beside the .wasm. */
export function kernelStampPath(name: KernelName): string {
  return `${kernelPath(name)}.source`;
}

/**
 * What a built kernel must have been compiled from: the AssemblyScript sources (all of assembly/: a kernel's entry
 * may import the others) and the compiler's flags.
 */
export function kernelFingerprint(name: KernelName): string {
  const hash = createHash('sha256').update(`${name}\n${ASC_FLAGS.join(' ')}\n`);
  const dir = dirname(kernelSource(name));
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.ts')).sort()) hash.update(`${file}\n`).update(readFileSync(join(dir, file)));
  return hash.digest('hex');
}
