import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { unusedPort } from './ports.js';

/**
 * A private redis-server for tests that must not depend on, or change, the machine's shared Redis: settings the
 * test chooses (appendonly, maxmemory-policy, CONFIG renamed away) and CONFIG SET at will (e.g. `maxmemory 1` to
 * make every write fail with OOM). Not a test file.
 */
export const REDIS_SERVER = process.env.REDIS_SERVER_BIN ?? '/usr/bin/redis-server';

export interface ThrowawayRedis {
  url: string;
  port: number;
  /** A plain client (closed by close()). */
  client: Redis;
  close(): Promise<void>;
}

/** Starts redis-server with `args` (e.g. ['--appendonly', 'yes']) on a free loopback port, no RDB snapshots. */
export async function startThrowawayRedis(args: string[] = []): Promise<ThrowawayRedis> {
  const dir = await mkdtemp(join(tmpdir(), 'throwaway-redis-'));
  const port = await unusedPort();
  const child = spawn(REDIS_SERVER, ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (c: Buffer) => (output += c));
  child.stderr!.on('data', (c: Buffer) => (output += c));
  const url = `redis://127.0.0.1:${port}`;
  await waitForPing(url, child, () => output);
  const client = new Redis(url, { maxRetriesPerRequest: null });
  return {
    url,
    port,
    client,
    async close() {
      client.disconnect();
      if (child.exitCode === null) {
        child.kill('SIGKILL');
        await once(child, 'exit');
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function waitForPing(url: string, child: ChildProcess, output: () => string): Promise<void> {
  const end = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`redis-server exited: ${output()}`);
    const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    probe.on('error', () => undefined);
    try {
      await probe.connect();
      if ((await probe.ping()) === 'PONG') return;
    } catch {
      // not listening yet
    } finally {
      probe.disconnect();
    }
    if (Date.now() > end) throw new Error(`redis-server did not answer: ${output()}`);
    await sleep(50);
  }
}
