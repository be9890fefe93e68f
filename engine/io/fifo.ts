import { execFile } from 'node:child_process';
import { closeSync, constants, openSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

/**
 * A named pipe in a fresh private directory (0700; the pipe itself 0600), for a child process to write raw frames
 * into by name. Node cannot create one itself, so coreutils' `mkfifo` does (present on every Debian-based image).
 */
export interface Fifo {
  path: string;
  /** Removes the pipe and its directory; an open end stays usable. */
  dispose(): Promise<void>;
}

export async function makeFifo(prefix: string): Promise<Fifo> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  const path = join(dir, 'frames');
  try {
    await promisify(execFile)('mkfifo', ['-m', '600', path]);
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw new Error(`could not create a named pipe with mkfifo: ${(e as Error).message}`);
  }
  return { path, dispose: () => rm(dir, { recursive: true, force: true }) };
}

/**
 * Opens the pipe's read end without waiting for a writer. Opened non-blocking, a FIFO's read end reports nothing (no
 * data, no end) until a writer has come, so the reader can be in place before the writer is started.
 */
export function openReadEnd(path: string): number {
  return openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
}

/**
 * Call once the writer has exited: one that never opened the pipe (ffmpeg refusing its input) would leave the reader
 * waiting for good, so this opens the write end and closes it at once, which shows the reader the end of the stream.
 * Harmless after a writer that did open it. Needs the pipe still in place: call it before `dispose()`.
 */
export function endWithoutWriter(path: string): void {
  try {
    closeSync(openSync(path, constants.O_WRONLY | constants.O_NONBLOCK));
  } catch {
    /* no reader left (ENXIO) or the pipe is gone: nobody is waiting */
  }
}
