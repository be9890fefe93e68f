import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { repoRoot } from '../../testing/media.js';
import { startGpuWorkerServer, type GpuWorkerServer, type GpuWorkerServerOptions } from './server.js';

/** Helpers shared by the GPU worker's server and client tests (not a test file itself). */
export const TOKEN = 'test-token-0123456789abcdef';
export const AUTH = { authorization: `Bearer ${TOKEN}` };

/** The real server, in this process, on a loopback port, CPU provider, with its work folder under `parent`. */
export async function startTestServer(parent: string, opts: Partial<GpuWorkerServerOptions> = {}): Promise<GpuWorkerServer> {
  return startGpuWorkerServer({ token: TOKEN, port: 0, host: '127.0.0.1', workDir: parent, shutdownGraceMs: 0, ...opts });
}

export async function until<T>(what: string, probe: () => Promise<T | null | undefined | false>, timeoutMs = 30_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe().catch(() => null);
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** Names in a server's work folder other than its owner marker, i.e. job folders. */
export async function jobFolders(workDir: string): Promise<string[]> {
  return (await readdir(workDir).catch(() => [] as string[])).filter((n) => n !== 'owner');
}

export async function instanceFolders(parent: string): Promise<string[]> {
  return (await readdir(parent).catch(() => [] as string[])).filter((n) => n.startsWith('instance-'));
}

export interface ChildServer {
  url: string;
  child: ChildProcess;
  output: () => string;
}

export interface ChildServerOptions {
  /**
   * RLIMIT_FSIZE of the process, in KiB (bash's `ulimit -f`): writing a file past it fails with EFBIG — a real
   * disk error, mid-write, without a small filesystem to fill. Node ignores SIGXFSZ, so the write just fails.
   */
  fileSizeLimitKiB?: number;
}

/**
 * `npm run gpu-worker`'s entry (server/main.ts through tsx) in a child process on `port`, resolved once /ping
 * says the models are loaded — a real separate process that a test can SIGKILL.
 */
export async function startChildServer(
  port: number,
  workDir: string,
  env: Record<string, string> = {},
  o: ChildServerOptions = {},
): Promise<ChildServer> {
  const entry = [process.execPath, '--import', 'tsx', join(repoRoot, 'gpu-worker/server/main.ts')];
  // `exec` keeps the pid: the child we hold (and kill) is node itself, not the shell.
  const [cmd, ...args] = o.fileSizeLimitKiB
    ? ['bash', '-c', `ulimit -f ${o.fileSizeLimitKiB} && exec "$@"`, 'bash', ...entry]
    : entry;
  const child = spawn(cmd, args, {
    cwd: repoRoot,
    env: {
      ...process.env,
      VITEST: '',
      LOG_LEVEL: 'warn',
      PORT: String(port),
      HOST: '127.0.0.1',
      GPU_WORKER_TOKEN: TOKEN,
      GPU_WORKER_WORK_DIR: workDir,
      ORT_PROVIDERS: 'cpu',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (c: Buffer) => (output += c));
  child.stderr!.on('data', (c: Buffer) => (output += c));
  const url = `http://127.0.0.1:${port}`;
  const exited = once(child, 'exit').then(([code]) => {
    throw new Error(`child server exited with ${code}`);
  });
  try {
    await Promise.race([until('the child server to be ready', async () => (await fetch(`${url}/ping`)).status === 200), exited]);
  } catch (e) {
    child.kill('SIGKILL');
    throw new Error(`${(e as Error).message}\n${output}`);
  }
  return { url, child, output: () => output };
}

export async function killHard(c: ChildServer): Promise<void> {
  if (c.child.exitCode !== null || c.child.signalCode !== null) return;
  c.child.kill('SIGKILL');
  await once(c.child, 'exit');
}

export function tempParent(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}
