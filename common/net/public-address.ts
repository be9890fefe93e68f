import { isIP } from 'node:net';

/**
 * Which IP addresses a server may fetch a URL someone else chose from: the local renderer's render assets, the GPU
 * worker's `input.url`. Without this check such a fetch would reach (and render, so show)
 * whatever its own network position reaches — the cloud metadata service at 169.254.169.254, a Redis or admin
 * page on 10.x / 127.x, another tenant's container. So only globally routable unicast addresses are allowed,
 * and an address is judged by its bytes, not its spelling: an IPv6 address that embeds an IPv4 one (mapped
 * `::ffff:127.0.0.1`, NAT64, 6to4) is judged by the IPv4 address inside it.
 */

type Prefix = readonly [address: string, bits: number];

/** IPv4 ranges that are not public unicast (IANA special-purpose registry). */
const V4_NOT_PUBLIC: readonly Prefix[] = [
  ['0.0.0.0', 8], // "this network", incl. the unspecified 0.0.0.0 (connects to the local host on Linux)
  ['10.0.0.0', 8], // private
  ['100.64.0.0', 10], // carrier-grade NAT (shared address space)
  ['127.0.0.0', 8], // loopback
  ['169.254.0.0', 16], // link-local, incl. the cloud metadata service 169.254.169.254
  ['172.16.0.0', 12], // private
  ['192.0.0.0', 24], // IETF protocol assignments
  ['192.0.2.0', 24], // documentation
  ['192.88.99.0', 24], // 6to4 relay anycast (deprecated)
  ['192.168.0.0', 16], // private
  ['198.18.0.0', 15], // benchmarking
  ['198.51.100.0', 24], // documentation
  ['203.0.113.0', 24], // documentation
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, incl. broadcast 255.255.255.255
];

/** IPv6 ranges that are not public unicast. */
const V6_NOT_PUBLIC: readonly Prefix[] = [
  ['::', 128], // unspecified
  ['::1', 128], // loopback
  ['100::', 64], // discard-only
  ['2001::', 23], // IETF protocol assignments (Teredo, benchmarking, ORCHID…)
  ['2001:db8::', 32], // documentation
  ['64:ff9b:1::', 48], // local-use NAT64: translates into the operator's own (private) IPv4 space
  ['fc00::', 7], // unique local
  ['fe80::', 10], // link-local
  ['fec0::', 10], // site-local (deprecated, still routed by some stacks)
  ['ff00::', 8], // multicast
];

/** IPv6 ranges that carry an IPv4 address at byte `at`: reaching them reaches that IPv4 address. */
const V6_EMBEDDING_V4: readonly (readonly [address: string, bits: number, at: number])[] = [
  ['::ffff:0:0', 96, 12], // IPv4-mapped
  ['::', 96, 12], // IPv4-compatible (deprecated)
  ['64:ff9b::', 96, 12], // NAT64 well-known prefix
  ['2002::', 16, 2], // 6to4
];

/** The address as bytes (4 for IPv4, 16 for IPv6), or null when it is not an IP address. */
export function addressBytes(ip: string): number[] | null {
  const bare = ip.replace(/^\[|\]$/g, '').split('%')[0]!; // brackets of a URL host, an IPv6 zone id
  const family = isIP(bare);
  if (family === 4) return bare.split('.').map(Number);
  if (family === 6) return v6Bytes(bare);
  return null;
}

function v6Bytes(ip: string): number[] {
  let text = ip;
  if (text.includes('.')) {
    // A dotted IPv4 tail (`::ffff:127.0.0.1`) becomes two hex groups.
    const cut = text.lastIndexOf(':');
    const [a, b, c, d] = text.slice(cut + 1).split('.').map(Number) as [number, number, number, number];
    text = `${text.slice(0, cut + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.split('::') as [string, string | undefined];
  const groupsOf = (s: string | undefined) => (s ? s.split(':') : []);
  const groups =
    tail === undefined
      ? groupsOf(head)
      : [...groupsOf(head), ...Array<string>(8 - groupsOf(head).length - groupsOf(tail).length).fill('0'), ...groupsOf(tail)];
  return groups.flatMap((g) => {
    const n = parseInt(g, 16);
    return [n >> 8, n & 0xff];
  });
}

function inPrefix(bytes: readonly number[], [address, bits]: Prefix): boolean {
  const prefix = addressBytes(address)!;
  if (prefix.length !== bytes.length) return false;
  for (let bit = 0; bit < bits; bit++) {
    const mask = 0x80 >> bit % 8;
    if ((bytes[bit >> 3]! & mask) !== (prefix[bit >> 3]! & mask)) return false;
  }
  return true;
}

/** An IPv6 address that stands for an IPv4 one is reduced to it; everything else is returned as is. */
function effectiveBytes(bytes: number[]): number[] {
  if (bytes.length !== 16) return bytes;
  for (const [address, bits, at] of V6_EMBEDDING_V4) {
    if (inPrefix(bytes, [address, bits])) return bytes.slice(at, at + 4);
  }
  return bytes;
}

/** True for a globally routable unicast address; false for private, loopback, link-local … and for non-addresses. */
export function isPublicAddress(ip: string): boolean {
  const raw = addressBytes(ip);
  if (!raw) return false;
  const bytes = effectiveBytes(raw);
  const ranges = bytes.length === 4 ? V4_NOT_PUBLIC : V6_NOT_PUBLIC;
  return !ranges.some((range) => inPrefix(bytes, range));
}

/**
 * A matcher for an allow-list of addresses and CIDR ranges (`127.0.0.1`, `127.0.0.0/8`, `::1`), for tests that
 * serve assets on loopback. An IPv4-mapped IPv6 address matches the IPv4 entries.
 */
export function addressMatcher(entries: readonly string[]): (ip: string) => boolean {
  const prefixes = entries.map(parseCidr);
  return (ip) => {
    const raw = addressBytes(ip);
    if (!raw) return false;
    const bytes = effectiveBytes(raw);
    return prefixes.some(([address, bits]) => inPrefix(bytes, [address, bits]));
  };
}

function parseCidr(entry: string): Prefix {
  const [address, bitsText] = entry.split('/') as [string, string | undefined];
  const bytes = addressBytes(address);
  if (!bytes) throw new Error(`not an IP address or CIDR range: ${entry}`);
  const bits = bitsText === undefined ? bytes.length * 8 : Number(bitsText);
  if (!Number.isInteger(bits) || bits < 0 || bits > bytes.length * 8) throw new Error(`bad prefix length in ${entry}`);
  return [address, bits];
}
