import type { Logger } from '../../common/logger.js';
import type { RequestBudget } from '../budget.js';
import type { HttpContext } from '../http.js';
import type {
  Edit,
  RenderResponseData,
  RenderStatus,
  ShotstackEnv,
  SourceResponseAttributes,
  SourceStatus,
} from '../types.js';

/** The client's public interface and options; createShotstackClient (../client.ts) assembles the parts. */

export interface ShotstackClientOptions {
  /** Base URL without the API prefix: `https://api.shotstack.io` or the local renderer's URL. */
  apiUrl: string;
  /** Sent as `x-api-key` to the Edit and Ingest APIs only — never to signed upload URLs or file hosts. */
  apiKey?: string;
  env: ShotstackEnv;
  /** Limit for one API exchange (default 30 s). */
  timeoutMs?: number;
  /** Limit for one upload PUT or one download (default 15 min). */
  transferTimeoutMs?: number;
  /**
   * First wait between status polls (default 3 s); each later wait is `pollBackoff` (1.5) times longer, up to
   * `maxPollIntervalMs` (default 5 × pollIntervalMs: 15 s from 3 s). A 60 s render takes 8 polls, not 30.
   */
  pollIntervalMs?: number;
  maxPollIntervalMs?: number;
  pollBackoff?: number;
  /** Default deadline of waitForRender (default 15 min). */
  renderDeadlineMs?: number;
  /** Deadline for a source to become `ready` after its upload (default 10 min). */
  ingestDeadlineMs?: number;
  maxRetries?: number;
  retryBaseDelayMs?: number;
  retryMaxDelayMs?: number;
  maxRetryAfterMs?: number;
  /** Request budget shared with every other user of the key (budget.ts); none = no client-side rate limit. */
  budget?: RequestBudget;
  /** How long a 429 without Retry-After waits when there is no budget to ask (default 60 s, Shotstack's window). */
  rateLimitWindowMs?: number;
  /** 429 waits per call before giving up (default 10); they do not count against maxRetries. */
  maxRateLimitWaits?: number;
  /** Ingests (upload + polling until ready) this client runs at once (default 2); the others queue. */
  ingestConcurrency?: number;
  logger?: Logger;
  /** Told of every call sent again (operators' numbers: Metrics.shotstackRetry). */
  onRetry?: HttpContext['onRetry'];
  /** Test seam: the sleep between polls and retries (default a signal-aware setTimeout). */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

export interface CallOptions {
  signal?: AbortSignal;
}

export interface IngestOptions extends CallOptions {
  /** Overrides ingestDeadlineMs for this file. */
  timeoutMs?: number;
  onStatus?: (status: SourceStatus | string, sourceId: string) => void;
}

export interface GetRenderOptions extends CallOptions {
  /** Also return the Edit the render was made from (`data`), e.g. to find the sources it used. */
  data?: boolean;
}

export interface IngestedSource {
  /** The source id, for getSource / deleteSource. */
  id: string;
  /** The URL to use as an asset `src`. */
  src: string;
}

export interface DeletedAssets {
  deleted: number;
  /** Hosted assets Shotstack is still copying (`importing`): not deleted, try again later. */
  pending: number;
}

export interface WaitOptions extends CallOptions {
  /** Overrides renderDeadlineMs for this render. */
  timeoutMs?: number;
  onStatus?: (status: RenderStatus | string, render: RenderResponseData) => void;
}

export interface RenderResult {
  id: string;
  status: 'done';
  /** Temporary URL of the rendered file (Shotstack keeps it 24 h). */
  url: string;
  /** Output length in seconds, when reported. */
  duration?: number;
  /** Milliseconds the service spent rendering, when reported. */
  renderTime?: number;
}

export interface ShotstackClient {
  readonly apiUrl: string;
  readonly env: ShotstackEnv;
  /** Uploads a local file through the Ingest API and returns the source URL to use as an asset `src`. */
  ingestFile(path: string, opts?: IngestOptions): Promise<string>;
  /** ingestFile, also returning the source id (to delete the source once it is no longer needed). */
  ingest(path: string, opts?: IngestOptions): Promise<IngestedSource>;
  getSource(id: string, opts?: CallOptions): Promise<SourceResponseAttributes>;
  /** Deletes an ingested source (Ingest API). False when Shotstack no longer knows it (already deleted). */
  deleteSource(id: string, opts?: CallOptions): Promise<boolean>;
  /** Validates the Edit with @shotstack/schemas, submits it and returns the render id. */
  submitRender(edit: Edit, opts?: CallOptions): Promise<string>;
  getRender(id: string, opts?: GetRenderOptions): Promise<RenderResponseData>;
  /** Polls until `done` (returns the URL) or `failed` (throws render_failed with Shotstack's message). */
  waitForRender(id: string, opts?: WaitOptions): Promise<RenderResult>;
  /**
   * The durable URL of a finished render from the Serve API (the `url` of waitForRender expires after 24 h),
   * or null while Shotstack is still copying it to its hosting.
   */
  getHostedUrl(renderId: string, opts?: CallOptions): Promise<string | null>;
  /** Deletes every hosted asset of a render (Serve API: the video, and a poster or thumbnail if any). */
  deleteRenderAssets(renderId: string, opts?: CallOptions): Promise<DeletedAssets>;
  /** Streams a URL to `destPath` (via a `.part` file, renamed when complete). */
  downloadTo(url: string, destPath: string, opts?: CallOptions): Promise<{ bytes: number }>;
}
