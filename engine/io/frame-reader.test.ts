import { close, open, write } from 'node:fs';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { endWithoutWriter, makeFifo, openReadEnd, type Fifo } from './fifo.js';
import { FrameReader } from './frame-reader.js';

/** Frame n is filled with the byte n (mod 256), so a frame overwritten too early is seen at once. */
function frameBytes(n: number, size: number): Buffer {
  return Buffer.alloc(size, n % 256);
}

const openAsync = promisify(open);
const closeAsync = promisify(close);
/** One write(2) on the pipe (blocking, in libuv's pool); returns the bytes it took. */
const writeOnce = (fd: number, buf: Buffer) =>
  new Promise<number>((resolve, reject) => write(fd, buf, 0, buf.length, null, (e, n) => (e ? reject(e) : resolve(n))));

async function writeAll(fd: number, buf: Buffer): Promise<void> {
  for (let off = 0; off < buf.length; ) off += await writeOnce(fd, buf.subarray(off));
}

let fifo: Fifo | null = null;
afterEach(async () => {
  await fifo?.dispose();
  fifo = null;
});

/** A named pipe with this process at both ends: the reader on the read end, and the write end's fd. */
async function pipePair(size: number): Promise<{ reader: FrameReader; writer: number }> {
  fifo = await makeFifo('bubblecast-test-');
  const reader = new FrameReader(openReadEnd(fifo.path), size);
  return { reader, writer: await openAsync(fifo.path, 'w') };
}

describe('FrameReader', () => {
  it('hands out whole frames from odd-sized writes, keeps the last two intact, drops a trailing partial frame', async () => {
    const size = 1000;
    const frames = 40;
    const { reader, writer } = await pipePair(size);
    const all = Buffer.concat([...Array.from({ length: frames }, (_, n) => frameBytes(n, size)), Buffer.alloc(123, 7)]);
    // Writes of uneven sizes, some smaller and some larger than a frame.
    const writing = (async () => {
      for (let i = 0, off = 0; off < all.length; i++) {
        const n = [1, 333, 1700, 999, 64][i % 5]!;
        await writeAll(writer, all.subarray(off, off + n));
        off += n;
      }
      await closeAsync(writer);
    })();
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
      await new Promise((r) => setTimeout(r, 1));
      for (const h of held) expect(h.buf.every((b) => b === h.n % 256)).toBe(true);
    }
    await writing;
  });

  it('reads at most two frames ahead of the caller, then leaves bytes in the pipe (back-pressure)', async () => {
    const size = 256 * 1024;
    const { reader, writer } = await pipePair(size);
    let accepted = 0;
    const writing = (async () => {
      for (let n = 0; n < 12; n++) {
        const frame = frameBytes(n, size);
        for (let off = 0; off < size; ) {
          const took = await writeOnce(writer, frame.subarray(off, off + 64 * 1024));
          off += took;
          accepted += took;
        }
      }
      await closeAsync(writer);
    })();
    await new Promise((r) => setTimeout(r, 300));
    // Two finished frames in the ring, one more in reach of the next read, and the pipe's own 64 kB at most.
    expect(accepted).toBeLessThanOrEqual(3 * size + 64 * 1024);
    expect(accepted).toBeGreaterThanOrEqual(2 * size);
    for (let n = 0; n < 12; n++) expect((await reader.next())!.every((b) => b === n)).toBe(true);
    expect(await reader.next()).toBeNull();
    await writing;
  });

  it('close() ends reading: the writer gets EPIPE instead of blocking', async () => {
    const { reader, writer } = await pipePair(4096);
    await writeAll(writer, frameBytes(1, 4096));
    expect((await reader.next())![0]).toBe(1);
    reader.close();
    await expect(writeAll(writer, Buffer.alloc(1 << 20))).rejects.toMatchObject({ code: 'EPIPE' });
    await closeAsync(writer);
  });
});

describe('a named pipe whose writer never came', () => {
  it('leaves the reader waiting until endWithoutWriter(), which shows it the end', async () => {
    fifo = await makeFifo('bubblecast-test-');
    const reader = new FrameReader(openReadEnd(fifo.path), 100);
    const first = reader.next();
    // No writer yet: no end either (a non-blocking FIFO read end must not read as end-of-file before one came).
    expect(await Promise.race([first, new Promise((r) => setTimeout(() => r('waiting'), 200))])).toBe('waiting');
    endWithoutWriter(fifo.path);
    expect(await first).toBeNull();
  });
});
