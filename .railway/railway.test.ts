import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRailwayContext, project, type ResourceNode, type ServiceNode, type VariableValue } from 'railway/iac';
import { beforeAll, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { assertWebhookConfig, loadBotConfig } from '../bot/config.js';
import type { Env } from '../common/config.js';
import { loadRuntimeConfig } from '../common/runtime-config.js';
import { engineConfig } from '../engine/index.js';
import { loadPipelineConfig } from '../pipeline/config.js';
import { loadShotstackConfig } from '../shotstack/config.js';
import { repoRoot } from '../testing/media.js';
import program from './railway.js';

/**
 * `.railway/railway.ts` evaluated the way the Railway CLI does (the SDK is pure: no network, no account), then held
 * against the app: every variable a service sets is one its processes read, every required one is there, references
 * point at resources of the project, and the values — references and preserved secrets filled in as Railway would —
 * pass the same zod schemas the processes validate at start.
 */

/** Variables Railway itself reads from a service (not the app's). */
const PLATFORM_VARIABLES = new Set(['RAILWAY_RUN_UID', 'RAILWAY_DOCKERFILE_PATH']);

/** What each service's processes read (bot/main.ts, pipeline/worker/main.ts, and the engine both use). */
const READS: Record<string, Array<{ schema: z.ZodObject; parse: (env: Env) => unknown }>> = {
  bot: [loadBotConfig, loadPipelineConfig, loadRuntimeConfig, engineConfig],
  worker: [loadPipelineConfig, loadShotstackConfig, loadRuntimeConfig, engineConfig],
};

/** Values Railway would hold for a preserve()d variable (set once by the operator), for the schemas to parse. */
const OPERATOR_SETS: Env = {
  BOT_TOKEN: '123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw',
  ADMIN_IDS: '1001,1002',
  WEBHOOK_SECRET: 'whsec_0123456789abcdef0123',
  // Left unset by a CPU-only deploy with the local renderer: the schemas must accept that.
  GPU_WORKER_URL: undefined,
  GPU_WORKER_TOKEN: undefined,
  SHOTSTACK_API_KEY: undefined,
  SHOTSTACK_ENV: undefined,
};

/** What Railway provides to references. */
const REDIS_PROVIDES: Record<string, string> = { REDIS_URL: 'redis://default:secret@redis.railway.internal:6379' };
const PUBLIC_DOMAIN = 'bubblecast-bot-production.up.railway.app';

let resources: ResourceNode[];
const byAddress = (address: string) => resources.find((r) => r.address === address);
const svc = (name: string) => byAddress(`service.${name}`) as ServiceNode;

beforeAll(async () => {
  const def = await program(createRailwayContext({ environment: 'production', projectName: 'bubblecast' }), project);
  resources = (def.resources ?? []).flat();
});

/** A variable's value as the running service would see it (undefined: not set). */
function resolve(value: VariableValue, key: string, seen = new Set<string>()): string | undefined {
  switch (value.type) {
    case 'literal':
      return value.value?.replaceAll('${{RAILWAY_PUBLIC_DOMAIN}}', PUBLIC_DOMAIN) ?? undefined;
    case 'preserve':
      return OPERATOR_SETS[key];
    case 'reference': {
      const target = byAddress(value.resource);
      if (!target) throw new Error(`${key} references ${value.resource}, which is not in the project`);
      if (target.type === 'database') {
        if (!(value.output in REDIS_PROVIDES)) throw new Error(`${key} references ${value.resource}.${value.output}, which Redis does not provide`);
        return REDIS_PROVIDES[value.output];
      }
      const other = (target as ServiceNode).variables?.[value.output];
      if (!other) throw new Error(`${key} references ${value.resource}.${value.output}, which that service does not set`);
      if (seen.has(value.resource)) throw new Error(`reference cycle through ${value.resource}`);
      return resolve(other, value.output, new Set([...seen, value.resource]));
    }
    default:
      throw new Error(`${key}: unexpected variable kind ${value.type}`);
  }
}

function envOf(name: string): Env {
  return Object.fromEntries(Object.entries(svc(name).variables ?? {}).map(([k, v]) => [k, resolve(v, k)]));
}

describe('.railway/railway.ts (Railway Infrastructure as Code)', () => {
  it('describes Redis, the bot, the worker and the worker volume — nothing else', () => {
    expect(resources.map((r) => r.address).sort()).toEqual(['database.Redis', 'service.bot', 'service.worker', 'volume.worker-work']);
    expect(byAddress('database.Redis')).toMatchObject({ engine: 'redis' });
  });

  for (const name of ['bot', 'worker'] as const) {
    it(`${name}: every variable is one its processes read (or Railway's), and the required ones are set`, () => {
      const known = new Set([...PLATFORM_VARIABLES, ...READS[name]!.flatMap((c) => Object.keys(c.schema.shape))]);
      const set = Object.keys(svc(name).variables ?? {});
      expect(set.filter((k) => !known.has(k))).toEqual([]);
      const required = READS[name]!.flatMap((c) => Object.entries(c.schema.shape).filter(([, f]) => !(f as z.ZodType).safeParse(undefined).success).map(([k]) => k));
      expect(required.filter((k) => !set.includes(k))).toEqual([]);
    });

    it(`${name}: its values, resolved as Railway would, pass the schemas its processes validate at start`, () => {
      const env = envOf(name);
      for (const c of READS[name]!) expect(() => c.parse(env)).not.toThrow();
    });
  }

  it('both services build the one image with the settings railway.json holds', () => {
    const cac = JSON.parse(readFileSync(join(repoRoot, 'railway.json'), 'utf8')) as { build: object; deploy: object };
    for (const name of ['bot', 'worker']) {
      expect(svc(name).build).toEqual(cac.build);
      expect(svc(name).deploy).toMatchObject(cac.deploy);
    }
  });

  it('bot: /healthz, one replica, webhook on its public domain with a secret, on the port the domain targets', () => {
    const bot = svc('bot');
    expect(bot.deploy).toMatchObject({ healthcheckPath: '/healthz', numReplicas: 1 });
    expect(bot.deploy?.startCommand).toBeUndefined(); // the image's CMD is the bot
    const cfg = loadBotConfig.parse(envOf('bot'));
    expect(() => assertWebhookConfig(cfg)).not.toThrow();
    expect(cfg.WEBHOOK_URL).toBe(`https://${PUBLIC_DOMAIN}/telegram`);
    const domains = Object.values(bot.networking?.serviceDomains ?? {});
    expect(domains).toEqual([{ port: cfg.PORT }]);
    expect(readFileSync(join(repoRoot, 'bot/runtime/http.ts'), 'utf8')).toContain("path === '/healthz'");
  });

  it('worker: the image entry, Redis and the bot token by reference, its volume on WORK_DIR, replicas Railway allows with it', () => {
    const worker = svc('worker');
    expect(worker.deploy?.startCommand).toBe('node --import tsx pipeline/worker/main.ts');
    expect(readFileSync(join(repoRoot, 'Dockerfile.bot'), 'utf8')).toContain('pipeline/worker/main.ts');
    expect(worker.deploy?.healthcheckPath).toBeUndefined();
    expect(worker.variables?.REDIS_URL).toEqual({ type: 'reference', resource: 'database.Redis', output: 'REDIS_URL' });
    expect(svc('bot').variables?.REDIS_URL).toEqual(worker.variables?.REDIS_URL);
    expect(worker.variables?.BOT_TOKEN).toEqual({ type: 'reference', resource: 'service.bot', output: 'BOT_TOKEN' });
    const mounts = Object.values(worker.volumeAttachments ?? {});
    if (mounts.length) {
      // Railway: replicas cannot be used with volumes; the mount is where the worker keeps its job folders.
      expect(worker.deploy?.numReplicas).toBe(1);
      expect(mounts).toEqual([expect.objectContaining({ volume: 'volume.worker-work', mountPath: loadPipelineConfig.parse(envOf('worker')).WORK_DIR })]);
      expect(envOf('worker').RAILWAY_RUN_UID).toBe('0');
    }
  });

  it('bot and worker agree on the queue side (the bot refuses what the worker would refuse)', () => {
    const bot = loadPipelineConfig.parse(envOf('bot'));
    const worker = loadPipelineConfig.parse(envOf('worker'));
    for (const k of ['REDIS_URL', 'PIPELINE_QUEUE_PREFIX', 'PROCESSING_MODE', 'TELEGRAM_API_ROOT', 'TELEGRAM_LOCAL_API', 'PIPELINE_MAX_ACTIVE_JOBS_PER_USER', 'PIPELINE_MAX_INPUT_DURATION_SEC', 'PIPELINE_MAX_INPUT_BYTES'] as const) {
      expect(worker[k], k).toEqual(bot[k]);
    }
  });
});
