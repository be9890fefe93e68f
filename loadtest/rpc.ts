import type { ChildProcess } from 'node:child_process';

/**
 * A tiny request/answer protocol over a child's IPC channel, so the load test can drive peers that run as their
 * own processes (the fake Bot API, the local renderer) the way tests drive them in-process.
 */
interface Request {
  rpc: number;
  method: string;
  args: unknown[];
}
interface Answer {
  rpc: number;
  ok: boolean;
  value?: unknown;
  error?: string;
}

export type Handlers = Record<string, (...args: never[]) => unknown>;

/** Child side: answers requests with `handlers`; errors travel back as messages. */
export function serveRpc(handlers: Handlers): void {
  process.on('message', (msg: Request) => {
    if (typeof msg?.rpc !== 'number') return;
    const handler = handlers[msg.method] as ((...a: unknown[]) => unknown) | undefined;
    Promise.resolve()
      .then(() => {
        if (!handler) throw new Error(`unknown rpc method ${msg.method}`);
        return handler(...msg.args);
      })
      .then(
        (value) => process.send?.({ rpc: msg.rpc, ok: true, value } satisfies Answer),
        (e: unknown) => process.send?.({ rpc: msg.rpc, ok: false, error: e instanceof Error ? e.message : String(e) } satisfies Answer),
      );
  });
}

export interface RpcClient {
  call<T>(method: string, ...args: unknown[]): Promise<T>;
}

/** Parent side: calls into `child`; a call fails when the child exits or does not answer within `timeoutMs`. */
export function rpcClient(child: () => ChildProcess | null, timeoutMs = 30_000): RpcClient {
  let next = 1;
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  const attached = new WeakSet<ChildProcess>();
  const attach = (c: ChildProcess) => {
    if (attached.has(c)) return;
    attached.add(c);
    c.on('message', (a: Answer) => {
      const p = pending.get(a.rpc);
      if (!p) return;
      pending.delete(a.rpc);
      clearTimeout(p.timer);
      if (a.ok) p.resolve(a.value);
      else p.reject(new Error(a.error));
    });
  };
  return {
    call<T>(method: string, ...args: unknown[]): Promise<T> {
      const c = child();
      if (!c?.connected) return Promise.reject(new Error(`rpc ${method}: process not running`));
      attach(c);
      const rpc = next++;
      return new Promise<T>((resolve, reject) => {
        const timer = setTimeout(() => {
          pending.delete(rpc);
          reject(new Error(`rpc ${method}: no answer in ${timeoutMs} ms`));
        }, timeoutMs);
        pending.set(rpc, { resolve: resolve as (v: unknown) => void, reject, timer });
        c.send({ rpc, method, args } satisfies Request);
      });
    },
  };
}
