import { logger as rootLogger, type Logger } from '../common/logger.js';
import type { ShotstackClient } from './client.js';
import type { Deletion, DeletionSchedule } from './deletion-schedule.js';
import { isShotstackError } from './errors.js';
import type { Edit } from './types.js';

/**
 * What the pipeline leaves on Shotstack, removed once a job has its file: users' videos must not stay with a third
 * party longer than they are useful.
 *
 * - The render's ingested sources: at once (nothing renders from them again; a retry that needs them ingests
 *   anew). They are found from the render itself (`GET /render/{id}?data=true`: the Edit's asset URLs carry the
 *   source ids), so this needs nothing from the job's stored state.
 * - The render's hosted copy (Serve API): after `retentionMs`, since it backs the "download link" a user may be
 *   sent when the file is too big for Telegram. The Edit API has no way to delete the render record itself; its
 *   temporary URL expires after 24 h on Shotstack's side.
 *
 * Both go into a durable schedule first (deletion-schedule.ts), then run: the sources in the background right
 * away, the hosted copy when a sweep finds it due. Everything is best effort: failures are logged and retried by a
 * later sweep (after the claim's lease); errors that cannot heal (auth, a refused request) are logged and dropped.
 */
export interface CleanupOptions {
  client: ShotstackClient;
  schedule: DeletionSchedule;
  /** How long the hosted render stays after the download; 0 = delete it with the sources. */
  retentionMs: number;
  /** A claimed deletion that did not finish comes due again after this long (default 10 min). */
  leaseMs?: number;
  /** Deletions one sweep takes on (default 20). */
  batch?: number;
  logger?: Logger;
  /** Test seam: the clock due times are read from (epoch ms). */
  now?: () => number;
}

export interface ShotstackCleanup {
  /** The job has downloaded `renderId`'s file: schedule its deletions and start on the sources. Never throws. */
  afterDownload(renderId: string): Promise<void>;
  /** Runs the deletions that are due; returns how many completed. */
  sweep(): Promise<number>;
  /** Sweeps every `intervalMs` on an unref'd timer; returns the stop function. */
  startSweeper(intervalMs: number): () => void;
  /** Resolves when the background deletions started by afterDownload have finished. */
  settled(): Promise<void>;
  /** Runs every scheduled deletion now, due or not: for an in-memory schedule about to be lost (the CLI exits). */
  flush(): Promise<number>;
}

const DEFAULT_LEASE_MS = 10 * 60_000;

/** Thrown when a deletion must wait (a copy still importing, the sources not yet gone): retried after the lease. */
class NotYet extends Error {}

export function createShotstackCleanup(o: CleanupOptions): ShotstackCleanup {
  const { client, schedule, retentionMs } = o;
  const leaseMs = o.leaseMs ?? DEFAULT_LEASE_MS;
  const now = o.now ?? Date.now;
  const log = (o.logger ?? rootLogger).child({ component: 'shotstack-cleanup' });
  const inFlight = new Set<Promise<unknown>>();

  async function deleteSources(renderId: string): Promise<void> {
    let edit: Edit | undefined;
    try {
      edit = (await client.getRender(renderId, { data: true })).data;
    } catch (e) {
      if (!(isShotstackError(e) && e.status === 404)) throw e;
    }
    const ids = sourceIdsOfEdit(edit);
    let deleted = 0;
    for (const id of ids) if (await client.deleteSource(id)) deleted++;
    log.info({ renderId, sources: ids.length, deleted }, edit ? 'render sources deleted' : 'render unknown; no sources to delete');
  }

  async function deleteHostedCopy(renderId: string): Promise<void> {
    // The sources are found through the render, which (on the local renderer) goes with its hosted copy.
    if (await schedule.has({ kind: 'sources', renderId })) throw new NotYet('its sources are not deleted yet');
    const { pending } = await client.deleteRenderAssets(renderId);
    if (pending) throw new NotYet(`${pending} hosted asset(s) still importing`);
  }

  /** One deletion; true when it is done (or given up), false when a later sweep retries it. */
  async function run(d: Deletion): Promise<boolean> {
    try {
      await (d.kind === 'sources' ? deleteSources(d.renderId) : deleteHostedCopy(d.renderId));
      await schedule.done(d);
      return true;
    } catch (e) {
      const err = (e as Error).message;
      if (isShotstackError(e) && !e.retryable) {
        log.warn({ ...d, err, errorKind: e.kind }, 'could not delete from Shotstack; giving up');
        await schedule.done(d).catch(() => undefined);
        return true;
      }
      log.warn({ ...d, err, retryInMs: leaseMs }, 'could not delete from Shotstack yet; a later sweep retries');
      return false;
    }
  }

  /** Sources before hosted copies; a render whose sources failed keeps its hosted copy this round. */
  async function runAll(items: Deletion[]): Promise<number> {
    const ordered = [...items].sort((a, b) => (a.kind === b.kind ? 0 : a.kind === 'sources' ? -1 : 1));
    let completed = 0;
    for (const d of ordered) if (await run(d)) completed++;
    return completed;
  }

  let sweeping: Promise<number> | null = null;
  const sweep = () => (sweeping ??= schedule.claimDue(now(), leaseMs, o.batch ?? 20).then(runAll).finally(() => (sweeping = null)));

  return {
    async afterDownload(renderId) {
      const t = now();
      const sources: Deletion = { kind: 'sources', renderId };
      const hosted: Deletion = { kind: 'render', renderId };
      try {
        // Scheduled first, as if already claimed: if this process dies, a sweep elsewhere picks them up.
        await schedule.add([sources], t + leaseMs);
        await schedule.add([hosted], retentionMs > 0 ? t + retentionMs : t + leaseMs);
      } catch (e) {
        log.warn({ renderId, err: (e as Error).message }, 'could not schedule the Shotstack cleanup');
        return;
      }
      const work = (async () => {
        if ((await run(sources)) && retentionMs === 0) await run(hosted);
      })();
      inFlight.add(work);
      void work.finally(() => inFlight.delete(work));
    },
    sweep,
    startSweeper(intervalMs) {
      const timer = setInterval(() => void sweep().catch((e: unknown) => log.warn({ err: (e as Error).message }, 'cleanup sweep failed')), intervalMs);
      // The sweep must not keep a process alive on its own.
      timer.unref();
      return () => clearInterval(timer);
    },
    async settled() {
      await Promise.allSettled([...inFlight]);
    },
    async flush() {
      await Promise.allSettled([...inFlight]);
      return runAll(await schedule.pending());
    },
  };
}

/**
 * Ingested sources' URLs end in `/<sourceId>/<file>`: Shotstack's `…amazonaws.com/<owner>/<sourceId>/source.mp4`
 * (its API reference), the local renderer's `…/assets/sources/<sourceId>/source.mp4`. The id has the Ingest API's
 * documented shape, so other URLs are not mistaken for sources.
 */
const SOURCE_ID = /^[0-9a-zA-Z]{8}-[0-9a-zA-Z]{4}-[0-9a-zA-Z]{4}-[0-9a-zA-Z]{4}-[0-9a-zA-Z]{12}$/;

export function sourceIdFromUrl(src: string): string | null {
  let parts: string[];
  try {
    parts = new URL(src).pathname.split('/').filter(Boolean);
  } catch {
    return null;
  }
  const id = parts.at(-2);
  return id && SOURCE_ID.test(id) ? id : null;
}

/** The ids of the ingested sources an Edit uses (clip assets and the soundtrack). */
export function sourceIdsOfEdit(edit: Edit | undefined): string[] {
  const srcs: unknown[] = [edit?.timeline?.soundtrack?.src];
  for (const track of edit?.timeline?.tracks ?? []) {
    for (const clip of track.clips ?? []) srcs.push((clip.asset as { src?: unknown }).src);
  }
  const ids = srcs.flatMap((s) => (typeof s === 'string' ? [sourceIdFromUrl(s)] : [])).filter((id): id is string => id !== null);
  return [...new Set(ids)];
}
