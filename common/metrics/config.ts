import { z } from 'zod';
import { defineConfig, env } from '../config.js';

/**
 * The Prometheus endpoint's settings, shared by the bot and the worker (each process reads them once at its entry
 * point). Off unless METRICS_PORT is set: several workers on one host (the load test, a VM) would otherwise fight
 * over one default port, and a process that listens on nothing cannot expose anything by mistake.
 */
const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

export const metricsConfigSchema = z
  .object({
    /** Port of the `/metrics` listener; unset or 0 = no listener. Railway/Prometheus convention: 9464. */
    METRICS_PORT: env.int(0, 0, 65535),
    /** Interface it listens on. Loopback by default; `::` to be scraped over Railway's private (IPv6) network. */
    METRICS_HOST: z.string().default('127.0.0.1'),
    /** Bearer token a scraper must send (`Authorization: Bearer …`); required when METRICS_HOST is not loopback. */
    METRICS_TOKEN: z.string().regex(/^[A-Za-z0-9_.~+/=-]{16,256}$/, '16–256 characters, no spaces').optional(),
  })
  .superRefine((c, ctx) => {
    if (c.METRICS_PORT && !LOOPBACK.has(c.METRICS_HOST) && !c.METRICS_TOKEN) {
      ctx.addIssue({ code: 'custom', path: ['METRICS_TOKEN'], message: `required when METRICS_HOST (${c.METRICS_HOST}) is not loopback` });
    }
  });

export type MetricsConfig = z.infer<typeof metricsConfigSchema>;

export const loadMetricsConfig = defineConfig('metrics', metricsConfigSchema);
