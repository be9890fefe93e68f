import { createReadStream, createWriteStream } from 'node:fs';
import { rename, rm, stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { editSchema } from '@shotstack/schemas/zod';
import { CancelledError } from '../common/errors.js';
import { logger as rootLogger, type Logger } from '../common/logger.js';
import type { RequestBudget } from './budget.js';
import { ShotstackError } from './errors.js';
import { abortableSleep, callShotstack, DEFAULT_RATE_LIMIT_POLICY, readJson, type HttpContext } from './http.js';
import { Semaphore } from './semaphore.js';
import type {
  AssetRenderResponse,
  AssetResponseAttributes,
  Edit,
  QueuedResponse,
  RenderResponse,
  RenderResponseData,
  RenderStatus,
  ShotstackEnv,
  SourceResponse,
  SourceResponseAttributes,
  SourceStatus,
  UploadResponse,
} from './types.js';

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

const FAILED_SOURCE_STATUSES = new Set(['failed', 'deleted', 'overwritten']);

function isNotFound(e: unknown): boolean {
  return e instanceof ShotstackError && e.kind === 'bad_request' && e.status === 404;
}

export function createShotstackClient(opts: ShotstackClientOptions): ShotstackClient {
  const apiUrl = opts.apiUrl.replace(/\/+$/, '');
  const env = opts.env;
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const transferTimeoutMs = opts.transferTimeoutMs ?? 15 * 60_000;
  const pollIntervalMs = opts.pollIntervalMs ?? 3000;
  const maxPollIntervalMs = Math.max(pollIntervalMs, opts.maxPollIntervalMs ?? pollIntervalMs * 5);
  const pollBackoff = Math.max(1, opts.pollBackoff ?? 1.5);
  const sleep = opts.sleep ?? abortableSleep;
  const ingestSlots = new Semaphore(opts.ingestConcurrency ?? 2);
  const renderDeadlineMs = opts.renderDeadlineMs ?? 15 * 60_000;
  const ingestDeadlineMs = opts.ingestDeadlineMs ?? 10 * 60_000;
  const log = (opts.logger ?? rootLogger).child({ component: 'shotstack-client', env });
  const ctx: HttpContext = {
    log,
    retry: {
      maxRetries: opts.maxRetries ?? 5,
      baseDelayMs: opts.retryBaseDelayMs ?? 500,
      maxDelayMs: opts.retryMaxDelayMs ?? 20_000,
      maxRetryAfterMs: opts.maxRetryAfterMs ?? 60_000,
    },
    budget: opts.budget,
    rateLimit: {
      windowMs: opts.rateLimitWindowMs ?? DEFAULT_RATE_LIMIT_POLICY.windowMs,
      maxWaits: opts.maxRateLimitWaits ?? DEFAULT_RATE_LIMIT_POLICY.maxWaits,
    },
    sleep,
    onRetry: opts.onRetry,
  };
  /** Waits between status polls: pollIntervalMs, then ×pollBackoff each time, up to maxPollIntervalMs. */
  function* pollDelays(): Generator<number, never> {
    for (let ms = pollIntervalMs; ; ms = Math.min(maxPollIntervalMs, ms * pollBackoff)) yield Math.round(ms);
  }
  // The key lives only in this closure and in request headers: it is not a property of the client object, so
  // logging or inspecting the client cannot print it.
  const authHeaders: Record<string, string> = opts.apiKey ? { 'x-api-key': opts.apiKey } : {};
  const jsonHeaders = { ...authHeaders, accept: 'application/json' };
  const editUrl = `${apiUrl}/edit/${env}`;
  const ingestUrl = `${apiUrl}/ingest/${env}`;
  const serveUrl = `${apiUrl}/serve/${env}`;

  async function getRender(id: string, o: GetRenderOptions = {}): Promise<RenderResponseData> {
    const operation = `GET /render/${id}`;
    const body = await callShotstack(ctx, {
      operation,
      method: 'GET',
      url: `${editUrl}/render/${encodeURIComponent(id)}?data=${o.data ? 'true' : 'false'}`,
      headers: jsonHeaders,
      timeoutMs,
      signal: o.signal,
      idempotent: true,
      api: 'edit',
      read: (res) => readJson<RenderResponse>(res, operation),
    });
    if (!body?.response?.status) {
      throw new ShotstackError('retryable', `${operation}: answer without a status`, { operation, id });
    }
    return body.response;
  }

  async function getSource(id: string, o: CallOptions = {}): Promise<SourceResponseAttributes> {
    const operation = `GET /sources/${id}`;
    const body = await callShotstack(ctx, {
      operation,
      method: 'GET',
      url: `${ingestUrl}/sources/${encodeURIComponent(id)}`,
      headers: jsonHeaders,
      timeoutMs,
      signal: o.signal,
      idempotent: true,
      api: 'ingest',
      read: (res) => readJson<SourceResponse>(res, operation),
    });
    const attributes = body?.data?.attributes;
    if (!attributes) throw new ShotstackError('retryable', `${operation}: answer without attributes`, { operation, id });
    return attributes;
  }

  /** The Serve API's hosted assets of a render (video, poster, thumbnail…). */
  async function listRenderAssets(renderId: string, o: CallOptions = {}): Promise<AssetResponseAttributes[]> {
    const operation = `GET /serve/assets/render/${renderId}`;
    const body = await callShotstack(ctx, {
      operation,
      method: 'GET',
      url: `${serveUrl}/assets/render/${encodeURIComponent(renderId)}`,
      headers: jsonHeaders,
      timeoutMs,
      signal: o.signal,
      idempotent: true,
      api: 'serve',
      read: (res) => readJson<AssetRenderResponse>(res, operation),
    });
    return (body?.data ?? []).map((d) => d.attributes).filter((a): a is AssetResponseAttributes => Boolean(a));
  }

  async function getHostedUrl(renderId: string, o: CallOptions = {}): Promise<string | null> {
    // A render can have several hosted assets (video, poster, thumbnail): take the video.
    const video = (await listRenderAssets(renderId, o)).find((a) => /\.(mp4|mov|webm)$/i.test(a.filename ?? a.url ?? ''));
    return video?.status === 'ready' && video.url ? video.url : null;
  }

  async function submitRender(edit: Edit, o: CallOptions = {}): Promise<string> {
    const operation = 'POST /render';
    const checked = editSchema.safeParse(edit);
    if (!checked.success) {
      const message = checked.error.issues.map((i) => `${i.path.join('.') || '(edit)'}: ${i.message}`).join('; ');
      throw new ShotstackError('bad_request', `${operation}: the Edit does not match @shotstack/schemas — ${message}`, {
        operation,
        serviceMessage: message,
      });
    }
    const payload = JSON.stringify(edit);
    const body = await callShotstack(ctx, {
      operation,
      method: 'POST',
      url: `${editUrl}/render`,
      headers: { ...jsonHeaders, 'content-type': 'application/json' },
      body: () => ({ body: payload }),
      timeoutMs,
      signal: o.signal,
      idempotent: false,
      api: 'edit',
      read: (res) => readJson<QueuedResponse>(res, operation),
    });
    const id = body?.response?.id;
    if (!id) throw new ShotstackError('retryable', `${operation}: answer without a render id`, { operation });
    log.info({ renderId: id }, 'render queued');
    return id;
  }

  async function waitForRender(id: string, o: WaitOptions = {}): Promise<RenderResult> {
    const deadlineMs = o.timeoutMs ?? renderDeadlineMs;
    return withDeadline(deadlineMs, o.signal, `waiting for render ${id}`, id, async (signal) => {
      let last: string | undefined;
      const delays = pollDelays();
      for (;;) {
        const render = await getRender(id, { signal });
        if (render.status !== last) {
          last = render.status;
          log.debug({ renderId: id, status: render.status }, 'render status');
          o.onStatus?.(render.status, render);
        }
        if (render.status === 'done') {
          if (!render.url) throw new ShotstackError('retryable', `render ${id} is done but has no url`, { id });
          return { id, status: 'done', url: render.url, duration: render.duration, renderTime: render.renderTime };
        }
        if (render.status === 'failed') {
          const serviceMessage = render.error || 'no reason given';
          throw new ShotstackError('render_failed', `render ${id} failed: ${serviceMessage}`, { id, serviceMessage });
        }
        // Any other status, including ones newer than our types, means "still working".
        await sleep(delays.next().value, signal);
      }
    });
  }

  async function ingestFile(path: string, o: IngestOptions = {}): Promise<string> {
    return (await ingest(path, o)).src;
  }

  /** Upload and polling hold one of the ingest slots, so parallel ingests cannot crowd the Ingest budget. */
  async function ingest(path: string, o: IngestOptions = {}): Promise<IngestedSource> {
    return ingestSlots.run(async () => {
      const id = await upload(path, o);
      return { id, src: await waitForSource(id, o) };
    }, o.signal);
  }

  /** Asks for an upload slot and PUTs the file to it; returns the source id. */
  async function upload(path: string, o: IngestOptions): Promise<string> {
    const { size } = await stat(path);
    const uploadOp = 'POST /ingest/upload';
    // Asking twice for an upload slot only leaves an unused slot behind, so this POST may be retried.
    const slot = await callShotstack(ctx, {
      operation: uploadOp,
      method: 'POST',
      url: `${ingestUrl}/upload`,
      headers: jsonHeaders,
      timeoutMs,
      signal: o.signal,
      idempotent: true,
      api: 'ingest',
      read: (res) => readJson<UploadResponse>(res, uploadOp),
    });
    const sourceId = slot?.data?.attributes?.id ?? slot?.data?.id;
    const signedUrl = slot?.data?.attributes?.url;
    if (!sourceId || !signedUrl) throw new ShotstackError('retryable', `${uploadOp}: answer without id/url`, { operation: uploadOp });

    // The signed URL authenticates by its query string; the API key must not travel to the storage host. It is
    // storage, not the Ingest API: it takes nothing from the budget.
    await callShotstack(ctx, {
      operation: `PUT upload ${sourceId}`,
      method: 'PUT',
      url: signedUrl,
      body: () => ({
        body: Readable.toWeb(createReadStream(path)) as unknown as NonNullable<RequestInit['body']>,
        headers: { 'content-length': String(size) },
      }),
      timeoutMs: transferTimeoutMs,
      signal: o.signal,
      idempotent: true,
      read: async (res) => void (await res.arrayBuffer()),
    });
    log.info({ sourceId, bytes: size }, 'source uploaded');
    return sourceId;
  }

  /** Polls an uploaded source until `ready` (returns its URL) or a failed status. */
  async function waitForSource(sourceId: string, o: IngestOptions): Promise<string> {
    return withDeadline(o.timeoutMs ?? ingestDeadlineMs, o.signal, `waiting for source ${sourceId}`, sourceId, async (signal) => {
      let last: string | undefined;
      const delays = pollDelays();
      for (;;) {
        const source = await getSource(sourceId, { signal });
        const status = source.status ?? 'queued';
        if (status !== last) {
          last = status;
          o.onStatus?.(status, sourceId);
        }
        if (status === 'ready') {
          if (!source.source) throw new ShotstackError('retryable', `source ${sourceId} is ready without a URL`, { id: sourceId });
          return source.source;
        }
        if (FAILED_SOURCE_STATUSES.has(status)) {
          throw new ShotstackError('render_failed', `ingest of ${sourceId} ended as "${status}"`, {
            id: sourceId,
            serviceMessage: status,
          });
        }
        await sleep(delays.next().value, signal);
      }
    });
  }

  async function deleteSource(id: string, o: CallOptions = {}): Promise<boolean> {
    return deleteQuietly404({
      operation: `DELETE /sources/${id}`,
      url: `${ingestUrl}/sources/${encodeURIComponent(id)}`,
      api: 'ingest',
      signal: o.signal,
    });
  }

  async function deleteRenderAssets(renderId: string, o: CallOptions = {}): Promise<DeletedAssets> {
    let assets: AssetResponseAttributes[];
    try {
      assets = (await listRenderAssets(renderId, o)).filter((a) => a.id);
    } catch (e) {
      if (isNotFound(e)) return { deleted: 0, pending: 0 };
      throw e;
    }
    const result: DeletedAssets = { deleted: 0, pending: 0 };
    for (const asset of assets) {
      // A copy still being made cannot be deleted for good yet (it would land after the delete).
      if (asset.status === 'importing') {
        result.pending++;
        continue;
      }
      const gone = await deleteQuietly404({
        operation: `DELETE /serve/assets/${asset.id}`,
        url: `${serveUrl}/assets/${encodeURIComponent(asset.id)}`,
        api: 'serve',
        signal: o.signal,
      });
      if (gone) result.deleted++;
    }
    log.info({ renderId, ...result }, 'hosted render assets deleted');
    return result;
  }

  /** A DELETE that treats 404 as "already gone": true when this call deleted it, false when it was gone. */
  async function deleteQuietly404(d: { operation: string; url: string; api: 'ingest' | 'serve'; signal?: AbortSignal }): Promise<boolean> {
    try {
      await callShotstack(ctx, {
        operation: d.operation,
        method: 'DELETE',
        url: d.url,
        headers: jsonHeaders,
        timeoutMs,
        signal: d.signal,
        idempotent: true,
        api: d.api,
        read: async (res) => void (await res.arrayBuffer()),
      });
      return true;
    } catch (e) {
      if (isNotFound(e)) return false;
      throw e;
    }
  }

  async function downloadTo(url: string, destPath: string, o: CallOptions = {}): Promise<{ bytes: number }> {
    const part = `${destPath}.part`;
    const operation = 'GET rendered file';
    try {
      const bytes = await callShotstack(ctx, {
        operation,
        method: 'GET',
        url,
        timeoutMs: transferTimeoutMs,
        signal: o.signal,
        idempotent: true,
        read: async (res) => {
          if (!res.body) throw new ShotstackError('retryable', `${operation}: empty body`, { operation });
          await pipeline(Readable.fromWeb(res.body as WebReadableStream<Uint8Array>), createWriteStream(part));
          const written = (await stat(part)).size;
          const expected = Number(res.headers.get('content-length') ?? NaN);
          if (Number.isFinite(expected) && expected !== written) {
            // A cut connection: surface as a network-like error so the idempotent GET is retried.
            throw Object.assign(new Error(`short download: ${written} of ${expected} bytes`), { code: 'ECONNRESET' });
          }
          return written;
        },
      });
      await rename(part, destPath);
      return { bytes };
    } catch (e) {
      await rm(part, { force: true });
      throw e;
    }
  }

  /** Runs `fn` under a deadline; the deadline surfaces as `timeout`, the caller's own abort as CancelledError. */
  async function withDeadline<T>(
    ms: number,
    outer: AbortSignal | undefined,
    what: string,
    id: string,
    fn: (signal: AbortSignal) => Promise<T>,
  ): Promise<T> {
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(new CancelledError('deadline')), ms);
    const signal = outer ? AbortSignal.any([outer, deadline.signal]) : deadline.signal;
    try {
      return await fn(signal);
    } catch (e) {
      if (deadline.signal.aborted && !outer?.aborted) {
        throw new ShotstackError('timeout', `${what}: gave up after ${ms} ms`, { id, cause: e });
      }
      throw e;
    } finally {
      clearTimeout(timer);
    }
  }

  return {
    apiUrl,
    env,
    ingestFile,
    ingest,
    getSource,
    deleteSource,
    submitRender,
    getRender,
    waitForRender,
    getHostedUrl,
    deleteRenderAssets,
    downloadTo,
  };
}
