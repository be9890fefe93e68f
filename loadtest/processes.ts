import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, readFileSync, type WriteStream } from 'node:fs';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

/**
 * The deployed processes of one load-test run, each its own child: start (waiting until it says it is ready),
 * signal, restart, and sample its resident memory from /proc, so the report shows what each one really used.
 */
export const repoRoot = resolve(fileURLToPath(new URL('.', import.meta.url)), '..');

export interface ProcessSpec {
  name: string;
  /** Entry point, relative to the repository root (run with `node --import tsx`)… */
  script?: string;
  /** …or a plain command line (redis-server). */
  command?: string[];
  env: Record<string, string>;
  /** A log line matching this means ready; or `ipc`: the child sends `{ ready: value }` over IPC. */
  ready: RegExp | 'ipc';
  readyTimeoutMs?: number;
}

export interface ProcessStats {
  name: string;
  starts: number;
  maxRssMb: number;
  /** How each run ended: exit code or signal. */
  exits: string[];
}

export class ManagedProcess {
  child: ChildProcess | null = null;
  readyValue: unknown = null;
  private starts = 0;
  private maxRssKb = 0;
  private exits: string[] = [];
  private log: WriteStream;
  /** The current run's last output: a start that fails says why in the error itself (CI keeps no log files). */
  private tail = new OutputTail();

  constructor(
    readonly spec: ProcessSpec,
    logDir: string,
  ) {
    this.log = createWriteStream(join(logDir, `${spec.name}.log`), { flags: 'a' });
  }

  get pid(): number | undefined {
    return this.child?.exitCode === null && this.child.signalCode === null ? this.child.pid : undefined;
  }

  get running(): boolean {
    return this.pid !== undefined;
  }

  async start(): Promise<void> {
    if (this.running) return;
    const { spec } = this;
    const [bin, ...args] = spec.command ?? [process.execPath, '--import', 'tsx', spec.script!];
    const child = spawn(bin!, args, {
      cwd: repoRoot,
      env: { ...process.env, ...spec.env, BUBBLECAST_SERVICE: spec.name },
      stdio: ['ignore', 'pipe', 'pipe', spec.command ? 'ignore' : 'ipc'],
    });
    this.child = child;
    this.starts++;
    this.tail = new OutputTail();
    for (const stream of [child.stdout!, child.stderr!]) {
      stream.pipe(this.log, { end: false });
      stream.on('data', (c: Buffer) => this.tail.add(c));
    }
    child.once('exit', (code, signal) => this.exits.push(signal ?? `exit ${code}`));
    this.readyValue = await waitReady(child, spec).catch((e: Error) => {
      throw new Error(`${e.message}; its last output:\n${this.tail.text()}`);
    });
  }

  /** Sends `signal` and waits for the exit (SIGKILL after `graceMs`). */
  async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = 15_000): Promise<void> {
    const child = this.child;
    if (!child || !this.running) return;
    const exited = once(child, 'exit');
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  }

  async restart(signal: NodeJS.Signals, downMs: number): Promise<void> {
    await this.stop(signal);
    await sleep(downMs);
    await this.start();
  }

  sampleRss(): void {
    const pid = this.pid;
    if (pid === undefined) return;
    try {
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (m) this.maxRssKb = Math.max(this.maxRssKb, Number(m[1]));
    } catch {
      // exited between the check and the read
    }
  }

  stats(): ProcessStats {
    return { name: this.spec.name, starts: this.starts, maxRssMb: Math.round(this.maxRssKb / 102.4) / 10, exits: [...this.exits] };
  }

  closeLog(): void {
    this.log.end();
  }
}

class OutputTail {
  private buf = '';
  constructor(private readonly maxChars = 4000) {}
  add(chunk: Buffer): void {
    this.buf = (this.buf + chunk.toString()).slice(-this.maxChars);
  }
  text(): string {
    return this.buf || '(none)';
  }
}

function waitReady(child: ChildProcess, spec: ProcessSpec): Promise<unknown> {
  const timeoutMs = spec.readyTimeoutMs ?? 60_000;
  return new Promise((resolvePromise, reject) => {
    let seen = '';
    const done = (err: Error | null, value?: unknown) => {
      clearTimeout(timer);
      child.stdout!.off('data', onData);
      child.off('message', onMessage);
      child.off('exit', onExit);
      if (err) reject(err);
      else resolvePromise(value);
    };
    const onData = (c: Buffer) => {
      if (spec.ready === 'ipc') return;
      seen = (seen + c.toString()).slice(-20_000);
      if (spec.ready.test(seen)) done(null, true);
    };
    const onMessage = (m: { ready?: unknown }) => {
      if (spec.ready === 'ipc' && m && 'ready' in m) done(null, m.ready);
    };
    const onExit = (code: number | null, signal: string | null) => done(new Error(`${spec.name} exited before it was ready (${signal ?? code})`));
    const timer = setTimeout(() => done(new Error(`${spec.name} not ready in ${timeoutMs} ms`)), timeoutMs);
    child.stdout!.on('data', onData);
    child.on('message', onMessage);
    child.on('exit', onExit);
  });
}

/** Samples every process's RSS every `intervalMs` until stopped. */
export function startRssSampler(procs: () => ManagedProcess[], intervalMs = 500): () => void {
  const timer = setInterval(() => procs().forEach((p) => p.sampleRss()), intervalMs);
  return () => clearInterval(timer);
}
