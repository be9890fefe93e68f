import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManagedProcess } from './processes.js';

/** The load test's process handle: a failed start says why in the error (CI keeps no log files); a ready line can carry a value. */
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

  it("the ready line's first capture group is the ready value (a URL bound on port 0)", async () => {
    const p = new ManagedProcess({ name: 'server', command: ['sh', '-c', 'echo \'{"url":"http://127.0.0.1:40123","msg":"listening"}\'; exec sleep 30'], env: {}, ready: /"url":"([^"]+)","msg":"listening"/ }, logDir);
    await p.start();
    try {
      expect(p.readyValue).toBe('http://127.0.0.1:40123');
    } finally {
      await p.stop('SIGKILL');
      p.closeLog();
    }
  });
});
