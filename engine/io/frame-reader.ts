import type { Readable } from 'node:stream';

/**
 * Pulls fixed-size frames out of a byte stream (ffmpeg's raw video on stdout) into a small ring of reused buffers.
 *
 * Why a ring: a 720×1280 yuv420p frame is 1.4 MB. Reading it with `stream.read(frameBytes)` concatenates the pipe's
 * 64 kB chunks into a fresh buffer per frame — memory the kernel has to map and zero every time, then the GC frees.
 * Here each chunk is copied once into a buffer that already exists.
 *
 * The contract: a frame returned by `next()` stays unchanged while the caller holds at most `hold` frames, i.e. until
 * `hold` more frames have been returned. The reader fills at most one frame beyond the next one to return, then pauses
 * the stream, so a slow consumer leaves bytes in the pipe and ffmpeg blocks: back-pressure with bounded memory.
 */
export class FrameReader {
  private readonly pool: Buffer[];
  /** Frames completely read / handed to the caller; frame n lives in pool[n % pool.length]. */
  private completed = 0;
  private returned = 0;
  /** Bytes of frame `completed` read so far. */
  private filled = 0;
  /**
   * Chunks (or the rest of one) that arrived while no buffer was free. The stream is paused meanwhile, but a chunk
   * already on its way may still be delivered after pause(), so this is a queue, not one slot.
   */
  private waiting: Buffer[] = [];
  private ended = false;
  private failed: Error | null = null;
  private wake: (() => void) | null = null;

  constructor(
    private readonly stream: Readable,
    private readonly frameBytes: number,
    private readonly hold = 2,
  ) {
    // The caller's frames, the one to return next, and the one being filled.
    this.pool = Array.from({ length: hold + 2 }, () => Buffer.allocUnsafeSlow(frameBytes));
    // While chunks wait, the ring is full, so take() queues a new one behind them: the order is kept.
    stream.on('data', (chunk: Buffer) => this.take(chunk));
    stream.on('end', () => {
      this.ended = true; // a trailing partial frame is dropped
      this.notify();
    });
    stream.on('error', (e) => {
      this.failed = e;
      this.notify();
    });
  }

  /** The next whole frame, or null at the end of the stream. */
  async next(): Promise<Buffer | null> {
    for (;;) {
      if (this.failed) throw this.failed;
      if (this.completed > this.returned) {
        const frame = this.pool[this.returned % this.pool.length]!;
        this.returned++;
        this.refill();
        return frame;
      }
      if (this.ended) return null;
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }

  /** Copies a chunk into the ring; pauses the stream, keeping the rest, when the frame to fill is not free yet. */
  private take(chunk: Buffer): void {
    let off = 0;
    while (off < chunk.length) {
      if (this.completed > this.returned + 1) {
        this.waiting.push(off === 0 ? chunk : chunk.subarray(off));
        this.stream.pause();
        return;
      }
      const n = Math.min(chunk.length - off, this.frameBytes - this.filled);
      chunk.copy(this.pool[this.completed % this.pool.length]!, this.filled, off, off + n);
      off += n;
      this.filled += n;
      if (this.filled === this.frameBytes) {
        this.completed++;
        this.filled = 0;
        this.notify();
      }
    }
  }

  /** After a frame was handed out: a buffer may have come free for what was left waiting. */
  private refill(): void {
    if (!this.waiting.length) return;
    const queue = this.waiting;
    this.waiting = [];
    for (let i = 0; i < queue.length; i++) {
      this.take(queue[i]!);
      if (this.waiting.length) {
        // Full again: what this chunk left is queued first; keep the ones after it behind it.
        this.waiting.push(...queue.slice(i + 1));
        return;
      }
    }
    if (!this.ended) this.stream.resume();
  }

  private notify(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
  }
}
