import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/**
 * The installed @shotstack/schemas version. Stored readings carry it: a new schema release may come with a
 * changed service, so readings measured under another version are measured again. The package's exports hide
 * its package.json, so it is found by walking up from a file the package does export.
 */
const PACKAGE = '@shotstack/schemas';

let cached: string | undefined;

export function installedSchemaVersion(): string {
  if (cached) return cached;
  let dir = dirname(createRequire(import.meta.url).resolve(`${PACKAGE}/zod`));
  for (;;) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === PACKAGE && pkg.version) return (cached = pkg.version);
    } catch {
      // no package.json at this level: keep walking up
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`cannot find the version of ${PACKAGE}: no package.json above its files`);
    dir = parent;
  }
}
