import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManagedProcess } from './processes.js';

/** The load test's process handle: a failed start says why in the error (CI keeps no log files). */
describe('ManagedProcess', () => {
  let logDir = '';
  beforeAll(async () => {
    logDir = await mkdtemp(join(tmpdir(), 'bubblecast-procs-'));
  });
  afterAll(() => rm(logDir, { recursive: true, force: true }));

  it('a child that exits before it is ready fails the start with its exit code and its last output', async () => {
    const p = new ManagedProcess({ name: 'doomed', command: ['sh', '-c', 'echo starting; echo "listen EADDRINUSE 127.0.0.1:4242" >&2; exit 3'], env: {}, ready: /never/ }, logDir);
    await expect(p.start()).rejects.toThrow(/doomed exited before it was ready \(3\); its last output:\n[\s\S]*EADDRINUSE 127\.0\.0\.1:4242/);
    p.closeLog();
  });
});
