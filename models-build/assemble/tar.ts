import { gunzipSync } from 'node:zlib';

/**
 * Reads selected files out of a .tgz held in memory (an npm tarball: ustar, possibly with pax headers). Small on
 * purpose — regular files only, no links — so the build needs neither a `tar` binary nor an extraction folder.
 */
export function readTgzEntries(tgz: Uint8Array, want: (path: string) => boolean): Map<string, Uint8Array> {
  const tar = gunzipSync(tgz);
  const out = new Map<string, Uint8Array>();
  let paxPath: string | null = null;
  for (let pos = 0; pos + 512 <= tar.length; ) {
    const header = tar.subarray(pos, pos + 512);
    if (header.every((b) => b === 0)) break; // end-of-archive marker
    const size = parseOctal(header.subarray(124, 136));
    const type = String.fromCharCode(header[156]!);
    const body = tar.subarray(pos + 512, pos + 512 + size);
    if (body.length !== size) throw new Error('tarball is truncated');
    pos += 512 + Math.ceil(size / 512) * 512;

    if (type === 'x') {
      // A pax extended header applies to the next entry; only its `path` matters here.
      paxPath = parsePaxPath(body);
      continue;
    }
    if (type === 'g') continue;
    const name = cString(header.subarray(0, 100));
    const prefix = header.subarray(257, 262).toString() === 'ustar' ? cString(header.subarray(345, 500)) : '';
    const path = paxPath ?? (prefix ? `${prefix}/${name}` : name);
    paxPath = null;
    if ((type === '0' || type === '\0') && want(path)) out.set(path, body);
  }
  return out;
}

function cString(b: Uint8Array): string {
  const end = b.indexOf(0);
  return Buffer.from(end < 0 ? b : b.subarray(0, end)).toString('utf8');
}

function parseOctal(b: Uint8Array): number {
  const s = cString(b).trim();
  return s ? parseInt(s, 8) : 0;
}

function parsePaxPath(body: Uint8Array): string | null {
  // Records are "<len> <key>=<value>\n".
  for (const line of Buffer.from(body).toString('utf8').split('\n')) {
    const m = /^\d+ path=(.*)$/.exec(line);
    if (m) return m[1]!;
  }
  return null;
}
