import type { Redis } from 'ioredis';
import type { Logger } from './logger.js';

/**
 * Jobs, their stage state and the delivery markers live only in Redis. Two server settings decide whether Redis can
 * lose them: without `appendonly yes` a restart loses what was written since the last snapshot (a job, or the
 * marker that keeps a result from being sent twice); with any `maxmemory-policy` but `noeviction` a full Redis
 * deletes keys to make room. Bot and worker check both at start-up (REDIS_DURABILITY): `warn` logs one warning
 * naming each risky setting and what to set; `refuse` throws RedisDurabilityError, and the process exits 1. A
 * managed Redis that forbids CONFIG cannot be checked: that is a warning too (and a refusal under `refuse`).
 */
export type DurabilityMode = 'warn' | 'refuse';

export interface DurabilityProblem {
  setting: 'appendonly' | 'maxmemory-policy' | 'CONFIG';
  /** What the server says, or null when it could not be read. */
  actual: string | null;
  /** What to do, in words an operator can follow. */
  fix: string;
}

export class RedisDurabilityError extends Error {
  constructor(readonly problems: DurabilityProblem[]) {
    super(`REDIS_DURABILITY=refuse: Redis may lose jobs: ${describe(problems)}. Fix the server, or set REDIS_DURABILITY=warn to start anyway.`);
    this.name = 'RedisDurabilityError';
  }
}

/** Reads the settings; resolves with the problems found (after logging them), or throws under `refuse`. */
export async function checkRedisDurability(redis: Redis, log: Logger, mode: DurabilityMode): Promise<DurabilityProblem[]> {
  const { problems, save } = await findProblems(redis);
  if (!problems.length) return [];
  if (mode === 'refuse') throw new RedisDurabilityError(problems);
  log.warn(
    { redisDurability: problems, save, variable: 'REDIS_DURABILITY' },
    `Redis may lose jobs: ${describe(problems)}. (REDIS_DURABILITY=refuse stops the process instead.)`,
  );
  return problems;
}

async function findProblems(redis: Redis): Promise<{ problems: DurabilityProblem[]; save: string | null }> {
  let settings: Map<string, string>;
  try {
    settings = await readConfig(redis, ['appendonly', 'maxmemory-policy', 'save']);
  } catch (e) {
    const fix = `could not verify the Redis settings (CONFIG GET failed: ${(e as Error).message}); make sure the server runs with appendonly yes and maxmemory-policy noeviction`;
    return { problems: [{ setting: 'CONFIG', actual: null, fix }], save: null };
  }
  const save = settings.get('save') ?? null;
  const problems: DurabilityProblem[] = [];
  const appendonly = settings.get('appendonly') ?? null;
  if (appendonly !== 'yes') {
    const snapshots = save ? `RDB snapshots only (save "${save}")` : 'no persistence at all (save "")';
    problems.push({ setting: 'appendonly', actual: appendonly, fix: `appendonly is "${appendonly}", so a restart keeps ${snapshots}: set appendonly yes` });
  }
  const policy = settings.get('maxmemory-policy') ?? null;
  if (policy !== 'noeviction') {
    problems.push({ setting: 'maxmemory-policy', actual: policy, fix: `maxmemory-policy is "${policy}", so a full Redis deletes keys: set maxmemory-policy noeviction` });
  }
  return { problems, save };
}

async function readConfig(redis: Redis, names: string[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const name of names) {
    // [name, value] pairs; one name per call, as some proxies refuse several.
    const reply = (await redis.call('CONFIG', 'GET', name)) as string[];
    for (let i = 0; i + 1 < reply.length; i += 2) out.set(reply[i]!, reply[i + 1]!);
  }
  if (!out.has('appendonly') || !out.has('maxmemory-policy')) throw new Error('the server did not report appendonly and maxmemory-policy');
  return out;
}

function describe(problems: DurabilityProblem[]): string {
  return problems.map((p) => p.fix).join('; ');
}
