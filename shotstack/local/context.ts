import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../../common/logger.js';
import type { LocalFaults } from './faults.js';
import type { LocalLimits } from './limits.js';
import type { LocalRateLimiter } from './rate-limit.js';
import type { RenderQueue } from './render-queue.js';
import type { LocalStore } from './store.js';

/** The `owner` of every source, render and hosted asset this renderer reports. */
export const OWNER = 'local';

/** Timestamps in the service's format (`created`, `updated`). */
export const isoNow = (): string => new Date().toISOString();

export interface RequestLogEntry {
  method: string;
  path: string;
  status: number;
  /** Whether the request carried an x-api-key header (the value is never recorded). */
  hadApiKey: boolean;
  contentLength?: string;
  transferEncoding?: string;
}

/** What the routes need from the running renderer; server.ts builds it once per instance. */
export interface LocalContext {
  store: LocalStore;
  limits: LocalLimits;
  /** Live fault settings (the instance's `faults`, changed between calls by tests). */
  faults: LocalFaults;
  log: Logger;
  /** When set, the API routes require this `x-api-key`. */
  apiKey: string | undefined;
  rateLimiter: LocalRateLimiter | null;
  requests: RequestLogEntry[];
  renderQueue: RenderQueue;
  /** Lifetime of signed upload URLs. */
  uploadUrlTtlMs: number;
  /** The clock retention reads (epoch ms). */
  clock: () => number;
  /** Base of the URLs handed out; known once the server listens, read by the routes when they answer. */
  publicUrl: string;
  /** The signature of an upload URL for source `id` expiring at `expires`. */
  sign: (id: string, expires: number) => string;
  /** Keeps background work (imports, renders) for close() to wait on. */
  track: <T>(work: Promise<T>) => Promise<T>;
}

/** One matched request, as a route handler sees it. */
export interface RouteCall {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  /** The route pattern's capture groups. */
  params: readonly string[];
  /** `stage` or `v1` for the API routes; undefined for the others. */
  env: string | undefined;
}

export interface Route {
  method: string;
  /** Matched against the path after `/{api}/{env}` for API routes, against the whole path otherwise. */
  pattern: RegExp;
  handle: (ctx: LocalContext, call: RouteCall) => Promise<void> | void;
}
