import { Socket, type OnReadOpts, type SocketConstructorOpts } from 'node:net';

/**
 * Reads fixed-size frames from the read end of a pipe (ffmpeg's raw video, through a FIFO) straight into a small ring
 * of reused buffers.
 *
 * Why not the child's stdout stream: a stream reads into a fresh 64 kB buffer per chunk, which the kernel has to map
 * and zero (page faults), the reader copies into the frame, and the GC frees. With `onread`, libuv reads into the
 * frame itself: no allocation, no copy. Measured on the 10 s 720×1280 bench clip, five renders each, alternating:
 * the engine process 2.84 → 2.29 CPU-s (webm) and 2.90 → 2.29 (luma pair), wall 6.16 → 5.62 s and 5.18 → 4.91 s.
 *
 * The contract: a frame returned by `next()` stays unchanged while the caller holds at most `hold` frames, i.e. until
 * `hold` more frames have been returned. The reader finishes at most `ahead` frames beyond what it has returned, then
 * stops reading, so a slow consumer leaves bytes in the pipe and ffmpeg blocks: back-pressure with bounded memory.
 */
export class FrameReader {
  private readonly pool: Buffer[];
  private readonly socket: Socket;
  /** Frames completely read / handed to the caller; frame n lives in pool[n % pool.length]. */
  private completed = 0;
  private returned = 0;
  /** Bytes of frame `completed` read so far. */
  private filled = 0;
  private ended = false;
  private failed: Error | null = null;
  private wake: (() => void) | null = null;

  /** `fd`: the pipe's read end, opened by the caller; the reader owns it from here on and closes it. */
  constructor(
    fd: number,
    private readonly frameBytes: number,
    hold = 2,
    private readonly ahead = 2,
  ) {
    // The caller's frames, up to `ahead` finished ones, and the next one: while reading is stopped, libuv already
    // holds the buffer for the next read, so that slot must be free too.
    this.pool = Array.from({ length: hold + ahead + 1 }, () => Buffer.allocUnsafeSlow(frameBytes));
    // `onread` is a documented constructor option that @types/node declares only for connect().
    const options: SocketConstructorOpts & { onread: OnReadOpts } = {
      fd,
      readable: true,
      writable: false,
      onread: {
        // Asked after every read: where the next one goes. It never crosses the end of the current frame.
        buffer: () => this.pool[this.completed % this.pool.length]!.subarray(this.filled),
        callback: (n) => this.took(n),
      },
    };
    this.socket = new Socket(options);
    this.socket.on('end', () => this.finish());
    this.socket.on('close', () => this.finish());
    this.socket.on('error', (e) => {
      this.failed = e;
      this.notify();
    });
  }

  /** The next whole frame, or null at the end of the stream (a trailing partial frame is dropped). */
  async next(): Promise<Buffer | null> {
    for (;;) {
      if (this.failed) throw this.failed;
      if (this.completed > this.returned) {
        const frame = this.pool[this.returned % this.pool.length]!;
        this.returned++;
        // A slot came free: read on if reading had stopped for lack of one.
        if (!this.ended && this.socket.isPaused()) this.socket.resume();
        return frame;
      }
      if (this.ended) return null;
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }

  /** Stops reading and closes the pipe's read end (a writer still running then gets EPIPE). */
  close(): void {
    this.socket.destroy();
  }

  /** `n` more bytes landed in the current frame; false stops reading while `ahead` finished frames wait. */
  private took(n: number): boolean {
    this.filled += n;
    if (this.filled < this.frameBytes) return true;
    this.filled = 0;
    this.completed++;
    this.notify();
    if (this.completed - this.returned < this.ahead) return true;
    this.socket.pause();
    return false;
  }

  private finish(): void {
    this.ended = true;
    this.notify();
  }

  private notify(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
  }
}
