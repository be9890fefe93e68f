import type { Readable } from 'node:stream';

/**
 * Pulls fixed-size frames out of a byte stream (ffmpeg's raw video on stdout). Reading is on demand, so a slow
 * consumer leaves bytes in the pipe and ffmpeg blocks: back-pressure with bounded memory.
 */
export class FrameReader {
  private ended = false;
  private failed: Error | null = null;
  private wake: (() => void) | null = null;

  constructor(
    private readonly stream: Readable,
    private readonly frameBytes: number,
  ) {
    const notify = () => {
      const w = this.wake;
      this.wake = null;
      w?.();
    };
    stream.on('readable', notify);
    stream.on('end', () => {
      this.ended = true;
      notify();
    });
    stream.on('error', (e) => {
      this.failed = e;
      notify();
    });
  }

  /** The next whole frame, or null at the end of the stream (a trailing partial frame is dropped). */
  async next(): Promise<Buffer | null> {
    for (;;) {
      if (this.failed) throw this.failed;
      const buf = this.stream.read(this.frameBytes) as Buffer | null;
      if (buf && buf.length === this.frameBytes) return buf;
      if (buf) return null; // end of stream: read() hands back the short remainder
      if (this.ended || this.stream.readableEnded) return null;
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }
}
