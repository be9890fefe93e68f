import { existsSync, readFileSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** models/manifest.json: what each built file is, where it came from and under which licence. */
export interface ManifestEntry {
  name: string;
  file: string;
  bytes: number;
  sha256: string;
  input: { name: string; shape: number[]; layout: 'NCHW'; values: string };
  output: { name: string; shape: number[]; values: string };
  source: Record<string, string | number>;
  licence: Record<string, string>;
}

export interface Manifest {
  /** Bump when the meaning of fields changes. */
  schema: 1;
  models: ManifestEntry[];
}

export const MANIFEST_FILE = 'manifest.json';

export function readManifest(dir: string): Manifest | null {
  const path = join(dir, MANIFEST_FILE);
  if (!existsSync(path)) return null;
  try {
    const m = JSON.parse(readFileSync(path, 'utf8')) as Manifest;
    return m.schema === 1 && Array.isArray(m.models) ? m : null;
  } catch {
    return null; // a damaged manifest is rebuilt, not fatal
  }
}

/** Writes the manifest only when its content changed (no timestamps inside, so re-runs leave it untouched). */
export async function writeManifest(dir: string, manifest: Manifest): Promise<boolean> {
  const text = `${JSON.stringify(manifest, null, 2)}\n`;
  const path = join(dir, MANIFEST_FILE);
  if (existsSync(path) && readFileSync(path, 'utf8') === text) return false;
  await writeAtomically(path, text);
  return true;
}

/** Write-then-rename, so a process reading the models folder never sees a half-written file. */
export async function writeAtomically(path: string, data: Uint8Array | string): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, data);
  await rename(tmp, path);
}
