import { z } from 'zod';

/**
 * Env-backed configuration, one zod schema per area (engine, gpu worker, shotstack, pipeline, bot).
 * Each area's schema is keyed by the exact environment variable names, so a validation error names the variable
 * the operator has to fix. Values are read once per process (memoised) and frozen.
 */
export class ConfigError extends Error {
  constructor(
    readonly area: string,
    readonly issues: { variable: string; message: string }[],
  ) {
    super(
      `Invalid configuration (${area}): ` +
        issues.map((i) => `${i.variable}: ${i.message}`).join('; '),
    );
    this.name = 'ConfigError';
  }
}

export type Env = Record<string, string | undefined>;

/** Parses `env` with `schema`; empty strings count as unset so `FOO=` in a Railway panel falls back to the default. */
export function parseEnv<S extends z.ZodObject>(area: string, schema: S, env: Env = process.env): z.infer<S> {
  const cleaned: Env = {};
  for (const key of Object.keys(schema.shape)) {
    const v = env[key];
    cleaned[key] = v === undefined || v.trim() === '' ? undefined : v.trim();
  }
  const result = schema.safeParse(cleaned);
  if (!result.success) {
    throw new ConfigError(
      area,
      result.error.issues.map((i) => ({ variable: String(i.path[0] ?? '?'), message: i.message })),
    );
  }
  return Object.freeze(result.data) as z.infer<S>;
}

/**
 * A memoised loader: the first call validates `process.env`, later calls return the same frozen object. `schema`
 * is the area's schema itself (its keys are the variables the area reads; `.railway/railway.ts` is checked against them).
 */
export function defineConfig<S extends z.ZodObject>(area: string, schema: S): {
  (): z.infer<S>;
  parse(env: Env): z.infer<S>;
  readonly schema: S;
} {
  let cached: z.infer<S> | undefined;
  const load = () => (cached ??= parseEnv(area, schema, process.env));
  return Object.assign(load, { parse: (env: Env) => parseEnv(area, schema, env), schema });
}

/** Reusable field parsers for env strings. */
export const env = {
  int: (def: number, min = 0, max = Number.MAX_SAFE_INTEGER) =>
    z.coerce.number().int().min(min).max(max).default(def),
  num: (def: number, min = -Infinity, max = Infinity) => z.coerce.number().min(min).max(max).default(def),
  bool: (def: boolean) =>
    z
      .enum(['1', '0', 'true', 'false', 'yes', 'no', 'on', 'off'])
      .default(def ? 'true' : 'false')
      .transform((v) => ['1', 'true', 'yes', 'on'].includes(v)),
  url: () => z.string().url(),
  list: () =>
    z
      .string()
      .default('')
      .transform((v) => v.split(',').map((s) => s.trim()).filter(Boolean)),
};
