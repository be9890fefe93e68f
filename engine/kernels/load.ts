import { readFileSync } from 'node:fs';
import { kernelFingerprint, kernelPath, kernelStampPath, type KernelName } from './registry.js';

export class KernelMissingError extends Error {
  constructor(readonly path: string, readonly reason: 'missing' | 'stale') {
    super(
      reason === 'missing'
        ? `Kernel ${path} is missing: run \`npm run models\` first (or set MODELS_DIR).`
        : `Kernel ${path} was built from an older source: run \`npm run models\` again.`,
    );
    this.name = 'KernelMissingError';
  }
}

/** Compiled once per file and process; instances (one per refiner, each with its own memory) are cheap. */
const compiled = new Map<string, WebAssembly.Module>();

/**
 * The compiled kernel, checked against its source: a kernel built from an older source (or not built) would run
 * other code than the repository holds, so it is refused with the command that fixes it.
 */
export function kernelModule(name: KernelName): WebAssembly.Module {
  // Checked once per process: the fingerprint hashes the sources, not worth redoing for every render.
  return compiled.get(kernelPath(name)) ?? loadKernel(kernelPath(name), kernelStampPath(name), kernelFingerprint(name));
}

/** The module at `path` if the stamp beside it records `fingerprint`; compiled once per path and process. */
export function loadKernel(path: string, stampPath: string, fingerprint: string): WebAssembly.Module {
  const known = compiled.get(path);
  if (known) return known;
  let stamp: string;
  let bytes: Buffer;
  try {
    stamp = readFileSync(stampPath, 'utf8').trim();
    bytes = readFileSync(path);
  } catch {
    throw new KernelMissingError(path, 'missing');
  }
  if (stamp !== fingerprint) throw new KernelMissingError(path, 'stale');
  const module = new WebAssembly.Module(bytes);
  compiled.set(path, module);
  return module;
}
