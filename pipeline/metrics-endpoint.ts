import { collectDefaultMetrics, Registry } from 'prom-client';
import type { Logger } from '../common/logger.js';
import type { MetricsConfig } from '../common/metrics/config.js';
import { NO_METRICS, type Metrics } from '../common/metrics/metrics.js';
import { createPrometheusMetrics } from '../common/metrics/prometheus.js';
import { startMetricsServer, type MetricsServer } from '../common/metrics/server.js';
import type { PipelineHandle } from './contract.js';
import { registerPipelineCollectors } from './metrics-collectors.js';

/**
 * One process' `/metrics`, as the bot's and the worker's entry points open it: a registry of its own, Node's
 * process metrics (memory, event loop), this process' counters and histograms, and the cluster-wide numbers read
 * from Redis on scrape. With METRICS_PORT unset nothing listens and the counting calls do nothing.
 */
export interface MetricsEndpoint {
  metrics: Metrics;
  server: MetricsServer | null;
  close(): Promise<void>;
}

/**
 * `pipeline` is opened only when the endpoint is on, and closed with it: the worker passes a connection of its own
 * (its job connections stay busy with blocking reads), the bot its handle with a no-op close.
 */
export async function openMetricsEndpoint(
  cfg: MetricsConfig,
  pipeline: () => PipelineHandle,
  o: { process: 'bot' | 'worker'; log: Logger },
): Promise<MetricsEndpoint> {
  if (!cfg.METRICS_PORT) return { metrics: NO_METRICS, server: null, close: async () => undefined };
  const p = pipeline();
  const registry = new Registry();
  // Tells the bot's series from the worker's when one Prometheus scrapes both.
  registry.setDefaultLabels({ process: o.process });
  collectDefaultMetrics({ register: registry });
  const metrics = createPrometheusMetrics(registry);
  registerPipelineCollectors(registry, p);
  const server = await startMetricsServer({ registry, port: cfg.METRICS_PORT, host: cfg.METRICS_HOST, token: cfg.METRICS_TOKEN, log: o.log }).catch(
    async (e: unknown) => {
      await p.close();
      throw e;
    },
  );
  o.log.info({ url: `${server.url}/metrics`, bearer: Boolean(cfg.METRICS_TOKEN) }, 'metrics endpoint listening');
  return {
    metrics,
    server,
    close: async () => {
      await server.close();
      await p.close();
    },
  };
}
