import { describe, expect, it } from 'vitest';
import { gpuWorkerConfig } from './config.js';
import { isPublicAddress } from '../../common/net/public-address.js';
import { checkInputUrl, publicOnlyLookup } from './input-url.js';

/** The address rules behind `input.url` (when an operator turns it on) and the switch itself. */
const TOKEN_ENV = { GPU_WORKER_TOKEN: 'a-token-of-16-chars-or-more' };

describe('input.url is off unless the operator turns it on', () => {
  it('GPU_WORKER_URL_INPUT defaults to false; true turns it on; a bad value names the variable', () => {
    expect(gpuWorkerConfig.parse(TOKEN_ENV).GPU_WORKER_URL_INPUT).toBe(false);
    expect(gpuWorkerConfig.parse({ ...TOKEN_ENV, GPU_WORKER_URL_INPUT: 'true' }).GPU_WORKER_URL_INPUT).toBe(true);
    expect(() => gpuWorkerConfig.parse({ ...TOKEN_ENV, GPU_WORKER_URL_INPUT: 'maybe' })).toThrow(/GPU_WORKER_URL_INPUT/);
  });
});

describe('public addresses only', () => {
  it('tells public addresses from loopback, private, link-local, reserved and embedded-IPv4 ones', () => {
    const notPublic = [
      '127.0.0.1', '127.255.0.9', '0.0.0.0', '10.1.2.3', '172.16.0.1', '172.31.255.255', '192.168.1.1', '169.254.169.254',
      '100.64.0.1', '198.18.0.1', '224.0.0.1', '255.255.255.255', '::', '::1', 'fe80::1', 'fd00::1', 'fc00::1',
      'ff02::1', '::ffff:127.0.0.1', '::ffff:7f00:1', '::ffff:10.0.0.1', '64:ff9b::a00:1', '2002:a00:1::1', 'localhost', 'x',
    ];
    const isPublic = ['1.1.1.1', '8.8.8.8', '172.32.0.1', '100.128.0.1', '2606:4700:4700::1111', '::ffff:8.8.8.8'];
    expect(notPublic.filter(isPublicAddress)).toEqual([]);
    expect(isPublic.filter((a) => !isPublicAddress(a))).toEqual([]);
  });

  it('the connect-time lookup refuses a name that resolves to loopback', async () => {
    const err = await new Promise<Error | null>((resolve) => publicOnlyLookup('localhost', { all: true }, (e) => resolve(e)));
    expect(err?.message).toMatch(/private or local address/);
  });

  it('refuses address literals, credentials, other protocols and Telegram file URLs before any fetch', () => {
    const policy = { protocols: ['https:'] };
    const refusedCode = (u: string) => {
      try {
        checkInputUrl(u, policy);
        return 'accepted';
      } catch (e) {
        return (e as { code: string }).code;
      }
    };
    for (const u of [
      'https://127.0.0.1/v.mp4',
      'https://[::1]/v.mp4',
      'https://2130706433/v.mp4', // 127.0.0.1 as one number
      'https://user:pw@bucket.example/v.mp4',
      'http://bucket.example/v.mp4',
      'file:///etc/passwd',
      'https://api.telegram.org/file/bot123:AAH-abcdefghijklmnopqrstuvwxyz012/v.mp4',
    ]) {
      expect([u, refusedCode(u)]).toEqual([u, 'refused_url']);
    }
    expect(refusedCode('https://bucket.example/v.mp4')).toBe('accepted');
    expect(refusedCode('not a url')).toBe('bad_request');
  });
});
