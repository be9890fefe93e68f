import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { sha512Integrity } from './digest.js';

const execFileAsync = promisify(execFile);

export interface PinnedPackage {
  name: string;
  version: string;
  /** The registry's dist.integrity for this exact version; the tarball is refused if it differs. */
  integrity: string;
}

/** npm pack's file name for a package: "@scope/name" → "scope-name-<version>.tgz". */
export function tarballName(pkg: PinnedPackage): string {
  return `${pkg.name.replace(/^@/, '').replace('/', '-')}-${pkg.version}.tgz`;
}

/**
 * The package's tarball from `cacheDir`, fetched with `npm pack` when missing or corrupt. `npm pack` only downloads
 * the tarball: unlike `npm install` it runs no install scripts and pulls no dependencies (ISNet's package depends
 * on sharp, whose install script downloads native binaries and fails offline).
 */
export async function packedTarball(
  pkg: PinnedPackage,
  cacheDir: string,
  log: (line: string) => void,
): Promise<{ path: string; bytes: Buffer; downloaded: boolean }> {
  const path = join(cacheDir, tarballName(pkg));
  if (existsSync(path)) {
    const bytes = await readFile(path);
    if (sha512Integrity(bytes) === pkg.integrity) return { path, bytes, downloaded: false };
    log(`cached ${path} fails its integrity check; fetching it again`);
    await rm(path, { force: true });
  }

  await mkdir(cacheDir, { recursive: true });
  log(`npm pack ${pkg.name}@${pkg.version} → ${cacheDir}`);
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  try {
    // cwd = the cache: npm pack <spec> needs no project, and this keeps the repo's .npmrc/package.json out of it.
    await execFileAsync(npm, ['pack', `${pkg.name}@${pkg.version}`, '--pack-destination', cacheDir, '--ignore-scripts', '--loglevel=error'], {
      cwd: cacheDir,
      maxBuffer: 16 << 20,
    });
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr?.trim() ?? '';
    throw new Error(`npm pack ${pkg.name}@${pkg.version} failed (is the npm registry reachable?): ${stderr || (err as Error).message}`);
  }
  if (!existsSync(path)) throw new Error(`npm pack did not produce ${path}`);
  const bytes = await readFile(path);
  const got = sha512Integrity(bytes);
  if (got !== pkg.integrity) {
    await rm(path, { force: true });
    throw new Error(`${tarballName(pkg)} integrity ${got} does not match the pinned ${pkg.integrity}`);
  }
  return { path, bytes, downloaded: true };
}
