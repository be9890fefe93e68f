import { describe, expect, it } from 'vitest';
import { addressBytes, addressMatcher, isPublicAddress } from './public-address.js';

/** The address classes an asset download must never reach, in every spelling, and the public ones it may. */
describe('isPublicAddress', () => {
  const notPublic: [string, string][] = [
    ['unspecified v4', '0.0.0.0'],
    ['"this network"', '0.1.2.3'],
    ['private 10/8', '10.0.0.1'],
    ['CGNAT', '100.64.0.1'],
    ['CGNAT (top)', '100.127.255.254'],
    ['loopback', '127.0.0.1'],
    ['loopback (other)', '127.255.0.9'],
    ['link-local / metadata', '169.254.169.254'],
    ['private 172.16/12', '172.16.0.1'],
    ['private 172.16/12 (top)', '172.31.255.255'],
    ['private 192.168/16', '192.168.1.1'],
    ['benchmarking', '198.18.0.1'],
    ['documentation', '203.0.113.7'],
    ['multicast v4', '224.0.0.251'],
    ['broadcast', '255.255.255.255'],
    ['unspecified v6', '::'],
    ['loopback v6', '::1'],
    ['loopback v6 (long form)', '0:0:0:0:0:0:0:1'],
    ['IPv4-mapped loopback (dotted)', '::ffff:127.0.0.1'],
    ['IPv4-mapped loopback (hex, as URL parsing writes it)', '::ffff:7f00:1'],
    ['IPv4-mapped metadata', '::ffff:169.254.169.254'],
    ['IPv4-compatible private', '::10.0.0.1'],
    ['NAT64 of a private address', '64:ff9b::a00:1'],
    ['local-use NAT64', '64:ff9b:1::1'],
    ['6to4 of loopback', '2002:7f00:1::1'],
    ['unique local', 'fd12:3456:789a::1'],
    ['unique local (fc)', 'fc00::1'],
    ['link-local v6', 'fe80::1'],
    ['link-local v6 with zone', 'fe80::1%eth0'],
    ['site-local v6', 'fec0::1'],
    ['multicast v6', 'ff02::1'],
    ['documentation v6', '2001:db8::1'],
    ['Teredo', '2001:0:4136:e378::1'],
    ['bracketed URL host', '[::1]'],
    ['not an address', 'example.com'],
    ['empty', ''],
  ];
  for (const [label, ip] of notPublic) {
    it(`refuses ${label} (${ip || '""'})`, () => expect(isPublicAddress(ip)).toBe(false));
  }

  const publicOnes = ['8.8.8.8', '1.1.1.1', '100.63.255.255', '100.128.0.1', '172.15.255.255', '172.32.0.1', '169.253.1.1', '2606:4700:4700::1111', '2a00:1450:4001::1', '::ffff:8.8.8.8', '64:ff9b::808:808', '2002:808:808::1'];
  for (const ip of publicOnes) {
    it(`allows the public address ${ip}`, () => expect(isPublicAddress(ip)).toBe(true));
  }
});

describe('addressBytes', () => {
  it('expands IPv6 forms to 16 bytes', () => {
    expect(addressBytes('::ffff:127.0.0.1')).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 1]);
    expect(addressBytes('2001:db8::1')).toEqual([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
    expect(addressBytes('fe80::')).toEqual([0xfe, 0x80, ...Array(14).fill(0)]);
  });
});

describe('addressMatcher (the test allow-list)', () => {
  const allowed = addressMatcher(['127.0.0.1', '10.1.0.0/16']);
  it('matches listed addresses and ranges, also IPv4-mapped, nothing else', () => {
    expect(allowed('127.0.0.1')).toBe(true);
    expect(allowed('::ffff:127.0.0.1')).toBe(true);
    expect(allowed('10.1.200.3')).toBe(true);
    expect(allowed('127.0.0.2')).toBe(false);
    expect(allowed('10.2.0.1')).toBe(false);
    expect(allowed('::1')).toBe(false);
    expect(addressMatcher([])('127.0.0.1')).toBe(false);
  });
  it('refuses a malformed entry', () => {
    expect(() => addressMatcher(['localhost'])).toThrow(/not an IP address/);
    expect(() => addressMatcher(['10.0.0.0/33'])).toThrow(/bad prefix length/);
  });
});
