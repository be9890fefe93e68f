import { mkdir, rm } from 'node:fs/promises';
import type { Logger } from '../common/logger.js';
import type { OverlayOptionsInput } from '../engine/index.js';
import {
  createGpuWorkerClient,
  GpuWorkerError,
  shouldFallBackToCpu,
  type GpuWorkerClient,
  type GpuWorkerResult,
  type HealthBody,
  type ProcessOptions,
} from '../gpu-worker/client/index.js';

/**
 * Several GPU workers behind one `GpuWorkerClient`: each job goes to the least loaded usable worker (ties in turn),
 * and a worker that fails it is benched for a backoff while the job moves on to the next one. Only when every
 * worker has failed the job does `process` reject — with the last failure, so the overlay stage decides about the
 * CPU exactly as it did with one worker. One URL is a pool of one.
 */
export interface GpuPoolMember {
  /** host[:port] of the worker's URL: what logs, job records and /mode show (never the token). */
  host: string;
  client: GpuWorkerClient;
}

/** What the pool knows of one worker, for the heartbeat and /mode. */
export interface GpuMemberState {
  host: string;
  /** Last health check (or job) said it works; null before either. */
  ok: boolean | null;
  /** The worker's own status (ok, starting, draining, error), `unreachable:<reason>`, or `failed:<reason>` of a job. */
  status: string | null;
  provider: 'cuda' | 'cpu' | null;
  gpuName: string | null;
  lastCheckAt: string | null;
  /** Jobs this process has on it now. */
  inFlight: number;
  /** running + queued as its last /health reported (all callers), and its slots. */
  reported: { running: number; queued: number; concurrency: number } | null;
  /** Benched after a failed job until then (ISO), or null. */
  downUntil: string | null;
  /** Last time it answered /health with status ok or finished a job (ISO): the router's warm/cold guess. */
  lastSeenAt: string | null;
}

export interface GpuPool extends GpuWorkerClient {
  readonly hosts: string[];
  states(): GpuMemberState[];
  /** Asks every worker's /health at once and records the answers. */
  checkAll(timeoutMs: number): Promise<void>;
  /** True when some worker may take a job now; false when all are down or benched; null before anything is known. */
  usable(): boolean | null;
}

export interface GpuPoolOptions {
  /** First bench after a failed job; doubles with each failure in a row, up to maxDownMs. Default 30 s. */
  downMs?: number;
  maxDownMs?: number;
  logger: Logger;
  now?: () => number;
}

/** GpuWorkerResult plus where it ran and which workers failed it first. */
export type PooledResult = GpuWorkerResult & Required<Pick<GpuWorkerResult, 'host' | 'failedOver'>>;

interface Member extends GpuPoolMember {
  state: GpuMemberState;
  downUntilMs: number;
  failuresInRow: number;
}

export interface PoolClientOptions {
  token: string;
  deadlineMs?: number;
  idleTimeoutMs?: number;
  logger: Logger;
  /** Bench timing and clock (GpuPoolOptions). */
  downMs?: number;
  now?: () => number;
}

/**
 * One client per URL, all with the same token. With more than one worker a refused or failed submission is tried
 * twice on that worker instead of four times: the next worker is a better retry than waiting on this one.
 */
export function gpuPoolFromUrls(urls: URL[], o: PoolClientOptions): GpuPool {
  const members = urls.map((url, i) => ({
    // The host only (a path could carry a gateway's key); the same host twice is told apart by its place in the list.
    host: urls.some((u, j) => j !== i && u.host === url.host) ? `${url.host}#${i + 1}` : url.host,
    client: createGpuWorkerClient({
      url: url.href,
      token: o.token,
      deadlineMs: o.deadlineMs,
      idleTimeoutMs: o.idleTimeoutMs,
      ...(urls.length > 1 ? { submitAttempts: 2 } : {}),
      logger: o.logger.child({ gpuWorker: url.host }),
    }),
  }));
  return createGpuPool(members, { logger: o.logger, downMs: o.downMs, now: o.now });
}

export function isGpuPool(c: GpuWorkerClient | null): c is GpuPool {
  return c !== null && typeof (c as Partial<GpuPool>).states === 'function';
}

export function createGpuPool(list: GpuPoolMember[], o: GpuPoolOptions): GpuPool {
  if (!list.length) throw new Error('a GPU pool needs at least one worker');
  const now = o.now ?? Date.now;
  const downMs = o.downMs ?? 30_000;
  const maxDownMs = o.maxDownMs ?? 5 * 60_000;
  const members: Member[] = list.map((m) => ({ ...m, downUntilMs: 0, failuresInRow: 0, state: initialState(m.host) }));
  let turn = 0;

  const isUsable = (m: Member) => m.state.ok !== false && m.downUntilMs <= now();

  /** Usable workers by load (ties in turn), then the rest by the end of their bench: a stale mark is still worth a try. */
  function order(): Member[] {
    const start = turn++ % members.length;
    const rotated = [...members.slice(start), ...members.slice(0, start)];
    const usable = rotated.filter(isUsable).sort((a, b) => load(a) - load(b));
    const rest = rotated.filter((m) => !isUsable(m)).sort((a, b) => a.downUntilMs - b.downUntilMs);
    return [...usable, ...rest];
  }

  function bench(m: Member, e: GpuWorkerError): void {
    m.failuresInRow++;
    const ms = Math.min(maxDownMs, downMs * 2 ** (m.failuresInRow - 1));
    m.downUntilMs = now() + ms;
    // `ok` stays the last health verdict: once the bench ends the worker is tried again without waiting for a check.
    m.state = { ...m.state, status: `failed:${e.kind}:${e.reason}`, downUntil: new Date(m.downUntilMs).toISOString() };
    o.logger.warn({ gpuWorker: m.host, reason: `${e.kind}:${e.reason}`, downMs: ms }, 'gpu worker failed a job; benched');
  }

  function recover(m: Member): void {
    m.failuresInRow = 0;
    m.downUntilMs = 0;
    m.state = { ...m.state, ok: true, downUntil: null, status: okAgain(m.state.status), lastSeenAt: new Date(now()).toISOString() };
  }

  async function tryOne(m: Member, input: string, options: OverlayOptionsInput, p: ProcessOptions): Promise<GpuWorkerResult> {
    m.state.inFlight++;
    try {
      const r = await m.client.process(input, options, p);
      recover(m);
      return r;
    } finally {
      m.state.inFlight--;
    }
  }

  async function processVideo(input: string, options: OverlayOptionsInput, p: ProcessOptions): Promise<PooledResult> {
    const failedOver: PooledResult['failedOver'] = [];
    const candidates = order();
    for (const [i, m] of candidates.entries()) {
      try {
        if (i > 0) await freshDir(p.outDir); // Nothing of a failed attempt may pass for this one's output.
        const r = await tryOne(m, input, options, p);
        if (failedOver.length) o.logger.info({ gpuWorker: m.host, failedOver }, 'gpu job ran after failing over');
        return { ...r, host: m.host, failedOver };
      } catch (e) {
        if (p.signal?.aborted || !(e instanceof GpuWorkerError) || !shouldFailOver(e)) throw e;
        if (isWorkerFault(e)) bench(m, e);
        failedOver.push({ host: m.host, reason: `${e.kind}:${e.reason}` });
        if (i === candidates.length - 1) throw allFailed(e, failedOver);
        o.logger.warn({ gpuWorker: m.host, reason: `${e.kind}:${e.reason}`, next: candidates[i + 1]!.host }, 'gpu worker failed; failing over');
      }
    }
    throw new Error('unreachable: the pool has members');
  }

  return {
    hosts: members.map((m) => m.host),
    process: processVideo,
    // A pool's own /health: the first usable worker's answer (callers wanting detail read states()).
    health: (opts) => (members.find(isUsable) ?? members[0]!).client.health(opts),
    states: () => members.map((m) => (m.downUntilMs > now() ? { ...m.state, ok: false } : { ...m.state, downUntil: null })),
    checkAll: async (timeoutMs) => {
      await Promise.all(members.map((m) => checkHealth(m, timeoutMs, now, o.logger)));
    },
    usable: () => {
      const usable = members.filter(isUsable);
      if (!usable.length) return false;
      return usable.some((m) => m.state.ok === true) ? true : null;
    },
  };
}

/** One worker's /health into its state; a failed check marks it not ok until a later check (or a job) succeeds. */
async function checkHealth(m: Member, timeoutMs: number, now: () => number, logger: Logger): Promise<void> {
  const at = new Date(now()).toISOString();
  try {
    const h = await m.client.health({ signal: AbortSignal.timeout(timeoutMs) });
    const ok = h.status === 'ok' || h.status === 'starting';
    if (ok !== m.state.ok) logger.info({ gpuWorker: m.host, status: h.status, provider: h.provider }, 'gpu worker health changed');
    m.state = { ...m.state, ...fromHealth(h), ok, lastCheckAt: at, ...(h.status === 'ok' ? { lastSeenAt: at } : {}) };
  } catch (e) {
    const reason = (e as { reason?: string }).reason ?? (e as Error).name;
    if (m.state.ok !== false) logger.warn({ gpuWorker: m.host, reason }, 'gpu worker health check failed');
    m.state = { ...m.state, ok: false, status: `unreachable:${reason}`, lastCheckAt: at };
  }
}

/** Our own jobs count as they start; the worker's report (all callers, up to a check old) as it was. */
function load(m: Member): number {
  const r = m.state.reported;
  const busy = Math.max(m.state.inFlight, r ? r.running + r.queued : 0);
  return busy / Math.max(1, r?.concurrency ?? 1);
}

/**
 * Every failure the CPU would have taken over in auto mode is worth another GPU first — except the video's own
 * (input) and running out of time on it: the next worker would spend the same time again.
 */
function shouldFailOver(e: GpuWorkerError): boolean {
  return shouldFallBackToCpu(e) && e.details.code !== 'timeout' && e.reason !== 'deadline';
}

/** The worker itself is at fault (down, erroring, full, refusing our token), not this one video's job. */
function isWorkerFault(e: GpuWorkerError): boolean {
  return e.kind === 'auth' || (e.kind === 'unavailable' && e.reason !== 'job_failed' && e.reason !== 'result_too_large');
}

/** The last failure (the CPU decision rests on it), naming every worker tried. */
function allFailed(last: GpuWorkerError, tried: PooledResult['failedOver']): GpuWorkerError {
  const list = tried.map((t) => `${t.host}: ${t.reason}`).join('; ');
  const message = tried.length === 1 ? last.message : `all ${tried.length} GPU workers failed (${list}); last: ${last.message}`;
  return new GpuWorkerError(last.kind, last.reason, message, { ...last.details, cause: last, tried });
}

async function freshDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
}

const okAgain = (status: string | null) => (status?.startsWith('failed:') ? 'ok' : status);

function initialState(host: string): GpuMemberState {
  return { host, ok: null, status: null, provider: null, gpuName: null, lastCheckAt: null, inFlight: 0, reported: null, downUntil: null, lastSeenAt: null };
}

function fromHealth(h: HealthBody): Pick<GpuMemberState, 'status' | 'provider' | 'gpuName' | 'reported'> {
  const reported = h.jobs ? { running: h.jobs.running, queued: h.jobs.queued, concurrency: h.jobs.concurrency } : null;
  return { status: h.status, provider: h.provider, gpuName: h.gpuName, reported };
}
