import { Writable } from 'node:stream';
import { GrammyError, HttpError } from 'grammy';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startThrowawayRedis, type ThrowawayRedis } from '../../testing/throwaway-redis.js';
import { createRedis, createRenderQueue, type DeliveryRecord, type RenderQueue } from '../contract.js';
import { PipelineError } from '../failures.js';
import { pipelineKeys } from '../keys.js';
import { approveResend, claimValue, deliveryClaims, sendMayHaveArrived, type DeliveryClaims } from './delivery-claim.js';
import { resendCallbackData } from './uncertain-notice.js';

/**
 * The claim / marker / park / approve protocol on real Redis: the shared server under a unique prefix, and a
 * private redis-server made to refuse writes (OOM) for the marker's retries.
 */
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const RECORD: DeliveryRecord = { method: 'sendVideo', messageId: 7, bytes: 1000 };

function captureLogger() {
  const lines: Array<{ level: number; msg: string; try?: number }> = [];
  const log = pino({ level: 'debug' }, new Writable({ write: (c, _e, cb) => (lines.push(JSON.parse(String(c))), cb()) }));
  return { log, lines };
}

describe('delivery claims', () => {
  const prefix = `bctest-claim-${process.pid}-${Date.now().toString(36)}`;
  const keys = pipelineKeys(prefix);
  const redis = createRedis(REDIS_URL);
  let n = 0;
  const fresh = (): { jobId: string; claims: DeliveryClaims } => {
    const jobId = `job-${++n}`;
    return { jobId, claims: deliveryClaims(redis, keys, jobId, { stateTtlSec: 600, resendWindowSec: 300, markerRetryDelaysMs: [10] }) };
  };

  afterAll(async () => {
    const left = await redis.keys(`${prefix}:*`);
    if (left.length) await redis.del(...left);
    await redis.quit();
  });

  it('one claim wins; another run finds it taken; only its owner releases it', async () => {
    const { jobId, claims } = fresh();
    const a = claimValue('w1', 1);
    const b = claimValue('w2', 2);
    expect(await claims.claim(a)).toEqual({ kind: 'claimed' });
    expect(await claims.claim(b)).toEqual({ kind: 'taken', claim: a });
    expect(await redis.ttl(keys.deliveryClaim(jobId))).toBeGreaterThan(590);
    await claims.release(b);
    expect(await redis.get(keys.deliveryClaim(jobId))).toBe(a);
    await claims.release(a);
    expect(await claims.claim(b)).toEqual({ kind: 'claimed' });
  });

  it('after the marker, every claim reports the delivery', async () => {
    const { claims } = fresh();
    await claims.claim(claimValue('w1', 1));
    expect(await claims.markDelivered(RECORD, captureLogger().log)).toBe(true);
    expect(await claims.claim(claimValue('w2', 2))).toEqual({ kind: 'delivered', record: RECORD });
    expect(await claims.inspect()).toMatchObject({ delivered: RECORD });
  });

  it('park → approve once → one run takes the claim over; the approval is spent; the marker closes it all', async () => {
    const { jobId, claims } = fresh();
    const first = claimValue('w1', 1);
    await claims.claim(first);
    expect(await claims.park(first)).toBeNull();
    expect(await redis.ttl(keys.resendParked(jobId))).toBeGreaterThan(290);
    expect(await claims.inspect()).toEqual({ delivered: null, claim: first, approved: false });

    // The bot's approval (the same script approveResend runs), twice: the second press approves nothing new.
    await redis.set(keys.resendApproved(jobId), first, 'EX', 300, 'NX');
    expect(await redis.set(keys.resendApproved(jobId), first, 'EX', 300, 'NX')).toBeNull();
    expect((await claims.inspect()).approved).toBe(true);

    const second = claimValue('w2', 1);
    expect(await claims.claim(second)).toEqual({ kind: 'resend' });
    // A third run (a stray retry) does not send again: the approval named the old claim.
    expect(await claims.claim(claimValue('w3', 1))).toEqual({ kind: 'taken', claim: second });

    await claims.markDelivered(RECORD, captureLogger().log);
    expect(await redis.exists(keys.resendParked(jobId), keys.resendApproved(jobId))).toBe(0);
  });

  it('parking again spends an older approval, so a new press can approve the new claim', async () => {
    const { jobId, claims } = fresh();
    await redis.set(keys.resendApproved(jobId), 'an older claim');
    const c = claimValue('w1', 1);
    await claims.claim(c);
    await claims.park(c);
    expect(await redis.exists(keys.resendApproved(jobId))).toBe(0);
    expect(await redis.get(keys.resendParked(jobId))).toBe(c);
  });

  it('park returns the delivery instead when the marker appeared meanwhile', async () => {
    const { claims } = fresh();
    const c = claimValue('w1', 1);
    await claims.claim(c);
    await claims.markDelivered(RECORD, captureLogger().log);
    expect(await claims.park(c)).toEqual(RECORD);
  });

  describe('the marker write on a Redis that refuses writes', () => {
    let server: ThrowawayRedis;
    beforeAll(async () => {
      server = await startThrowawayRedis(['--maxmemory-policy', 'noeviction']);
    });
    afterAll(async () => {
      await server?.close();
    });

    it('is retried until Redis takes it', async () => {
      const claims = deliveryClaims(server.client, keys, 'oom-job', { stateTtlSec: 600, resendWindowSec: 300, markerRetryDelaysMs: [100, 100, 100, 100, 100, 2000] });
      const { log, lines } = captureLogger();
      await server.client.call('CONFIG', 'SET', 'maxmemory', '1');
      const written = claims.markDelivered(RECORD, log);
      while (lines.filter((l) => l.msg === 'delivered marker not written; retrying').length < 2) await new Promise((r) => setTimeout(r, 20));
      await server.client.call('CONFIG', 'SET', 'maxmemory', '0');
      expect(await written).toBe(true);
      expect(JSON.parse((await server.client.get(keys.delivered('oom-job')))!)).toEqual(RECORD);
      expect(lines.find((l) => l.msg.startsWith('delivered marker'))).toMatchObject({ level: 40, try: 1 });
    });

    it('gives up after its tries and says so (the caller keeps the files)', async () => {
      const claims = deliveryClaims(server.client, keys, 'oom-job-2', { stateTtlSec: 600, resendWindowSec: 300, markerRetryDelaysMs: [10, 10] });
      const { log, lines } = captureLogger();
      await server.client.call('CONFIG', 'SET', 'maxmemory', '1');
      try {
        expect(await claims.markDelivered(RECORD, log)).toBe(false);
      } finally {
        await server.client.call('CONFIG', 'SET', 'maxmemory', '0');
      }
      expect(lines.map((l) => [l.level, l.try])).toEqual([
        [40, 1],
        [40, 2],
        [50, 3],
      ]);
    });
  });
});

describe('did a failed send perhaps reach the chat?', () => {
  const grammy = (code: number) => new GrammyError('call failed', { ok: false, error_code: code, description: 'x' }, 'sendVideo', {});
  const network = (code?: string, name = 'FetchError') => new HttpError('network', Object.assign(new Error('socket'), { name, code }));

  it.each<[string, unknown, boolean]>([
    ['Telegram refused it (400)', grammy(400), false],
    ['Telegram said wait (429)', grammy(429), false],
    ['Telegram answered 5xx', grammy(502), true],
    ['the connection was refused', network('ECONNREFUSED'), false],
    ['the name did not resolve', network('ENOTFOUND'), false],
    ['the connection broke mid-request', network('ECONNRESET'), true],
    ['an abort mid-upload', network(undefined, 'AbortError'), true],
    ['our own check before sending', new PipelineError('output_too_large', 'too big', false), false],
    ['a wrapped broken connection', new PipelineError('telegram_unavailable', 'x', true, { cause: network('EPIPE') }), true],
  ])('%s → %s', (_what, e, may) => {
    expect(sendMayHaveArrived(e)).toBe(may);
  });
});

describe('the «Send again» callback data', () => {
  it('fits Telegram’s 64 bytes for every id jobIdFor makes, and refuses what would not', () => {
    const longest = `chat${Number.MIN_SAFE_INTEGER}-msg${Number.MAX_SAFE_INTEGER}`;
    expect(Buffer.byteLength(resendCallbackData(longest)!)).toBeLessThanOrEqual(64);
    expect(resendCallbackData('x'.repeat(58))).toBeNull();
    expect(resendCallbackData('has:colon')).toBeNull();
  });
});

// The queue side of approveResend is exercised end to end in delivery.test.ts; here only its refusals.
describe('approveResend refusals', () => {
  let queue: RenderQueue;
  const redis = createRedis(REDIS_URL);
  const prefix = `bctest-approve-${process.pid}-${Date.now().toString(36)}`;
  beforeAll(() => {
    queue = createRenderQueue(redis, prefix);
  });
  afterAll(async () => {
    await queue.obliterate({ force: true }).catch(() => undefined);
    await queue.close();
    await redis.quit();
  });

  it('a missing job is expired; someone else’s is not theirs', async () => {
    const p = { queue, redis, prefix };
    expect(await approveResend(p, 'nope', 1)).toBe('expired');
    await queue.add('render', { chatId: 5, userId: 5, head: { source: 'local', path: '/x' }, output: 'note' } as never, { jobId: 'chat5-msg1' });
    expect(await approveResend(p, 'chat5-msg1', 6)).toBe('not_yours');
    // Queued, never parked: nothing to approve.
    expect(await approveResend(p, 'chat5-msg1', 5)).toBe('expired');
  });
});
