import { EventEmitter } from 'node:events';
import { PassThrough, type Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { FrameReader } from './frame-reader.js';

/** Frame n is filled with the byte n (mod 256), so a frame overwritten too early is seen at once. */
function frameBytes(n: number, size: number): Buffer {
  return Buffer.alloc(size, n % 256);
}

describe('FrameReader', () => {
  it('hands out whole frames from odd-sized chunks, keeps the last two intact, drops a trailing partial frame', async () => {
    const size = 1000;
    const frames = 40;
    const stream = new PassThrough({ highWaterMark: 256 });
    const all = Buffer.concat([...Array.from({ length: frames }, (_, n) => frameBytes(n, size)), Buffer.alloc(123, 7)]);
    // Write in chunks of uneven sizes, some smaller and some larger than a frame, honouring back-pressure.
    const writer = (async () => {
      let off = 0;
      for (let i = 0; off < all.length; i++) {
        const n = [1, 333, 1700, 999, 64][i % 5]!;
        if (!stream.write(all.subarray(off, off + n))) await new Promise((r) => stream.once('drain', r));
        off += n;
      }
      stream.end();
    })();
    const reader = new FrameReader(stream, size);
    const held: { n: number; buf: Buffer }[] = [];
    for (let n = 0; ; n++) {
      const buf = await reader.next();
      if (!buf) {
        expect(n).toBe(frames);
        break;
      }
      held.push({ n, buf });
      if (held.length > 2) held.shift();
      // Both frames the caller may hold still carry their own bytes, even while the reader fills ahead.
      await new Promise((r) => setImmediate(r));
      for (const h of held) expect(h.buf.every((b) => b === h.n % 256)).toBe(true);
    }
    await writer;
  });

  it('reads ahead at most one frame beyond the next one, then leaves bytes in the pipe (back-pressure)', async () => {
    const size = 4096;
    const stream = new PassThrough({ highWaterMark: size });
    const reader = new FrameReader(stream, size);
    let accepted = 0;
    // Offer 20 frames without reading any: the writer must be told to wait long before all are taken.
    for (let n = 0; n < 20; n++) {
      if (stream.write(frameBytes(n, size))) accepted++;
      await new Promise((r) => setImmediate(r));
    }
    expect(accepted).toBeLessThan(6);
    expect((await reader.next())![0]).toBe(0);
    expect((await reader.next())![0]).toBe(1);
    expect((await reader.next())![0]).toBe(2);
    stream.destroy(new Error('pipe broke'));
    await expect(async () => {
      for (;;) if (!(await reader.next())) break;
    }).rejects.toThrow(/pipe broke/);
  });

  it('queues chunks that still arrive after it paused the stream (a pipe may deliver one already read)', async () => {
    const size = 100;
    const calls: string[] = [];
    const fake = Object.assign(new EventEmitter(), {
      pause: () => calls.push('pause'),
      resume: () => calls.push('resume'),
    });
    const reader = new FrameReader(fake as unknown as Readable, size);
    // Ten frames in chunks of 70 bytes, delivered regardless of pause(): nothing may be dropped or reordered.
    const all = Buffer.concat(Array.from({ length: 10 }, (_, n) => frameBytes(n, size)));
    for (let off = 0; off < all.length; off += 70) fake.emit('data', all.subarray(off, off + 70));
    fake.emit('end');
    expect(calls).toContain('pause');
    const got: number[] = [];
    for (let buf = await reader.next(); buf; buf = await reader.next()) {
      expect(buf.every((b) => b === buf![0])).toBe(true);
      got.push(buf[0]!);
    }
    expect(got).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });
});
