import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { ShotstackError } from '../errors.js';
import { callShotstack, readJson } from '../http.js';
import type { Semaphore } from '../semaphore.js';
import type { SourceResponse, SourceResponseAttributes, UploadResponse } from '../types.js';
import { pollUntil } from './polling.js';
import { deleteQuietly404, getJson } from './requests.js';
import type { ClientSettings } from './settings.js';
import type { CallOptions, IngestedSource, IngestOptions } from './types.js';

/** Ingest API: upload a local file as a source, wait until it is ready, read and delete sources. */

const FAILED_SOURCE_STATUSES = new Set(['failed', 'deleted', 'overwritten']);

/** Upload and polling hold one of the ingest slots, so parallel ingests cannot crowd the Ingest budget. */
export async function ingest(s: ClientSettings, slots: Semaphore, path: string, o: IngestOptions = {}): Promise<IngestedSource> {
  return slots.run(async () => {
    const id = await upload(s, path, o);
    return { id, src: await waitForSource(s, id, o) };
  }, o.signal);
}

export async function getSource(s: ClientSettings, id: string, o: CallOptions = {}): Promise<SourceResponseAttributes> {
  const operation = `GET /sources/${id}`;
  const body = await getJson<SourceResponse>(s, {
    operation,
    url: `${s.ingestUrl}/sources/${encodeURIComponent(id)}`,
    api: 'ingest',
    signal: o.signal,
  });
  const attributes = body?.data?.attributes;
  if (!attributes) throw new ShotstackError('retryable', `${operation}: answer without attributes`, { operation, id });
  return attributes;
}

export async function deleteSource(s: ClientSettings, id: string, o: CallOptions = {}): Promise<boolean> {
  return deleteQuietly404(s, {
    operation: `DELETE /sources/${id}`,
    url: `${s.ingestUrl}/sources/${encodeURIComponent(id)}`,
    api: 'ingest',
    signal: o.signal,
  });
}

/** Asks for an upload slot and PUTs the file to it; returns the source id. */
async function upload(s: ClientSettings, path: string, o: IngestOptions): Promise<string> {
  const { size } = await stat(path);
  const { sourceId, signedUrl } = await requestUploadSlot(s, o.signal);
  // The signed URL authenticates by its query string; the API key must not travel to the storage host. It is
  // storage, not the Ingest API: it takes nothing from the budget.
  await callShotstack(s.http, {
    operation: `PUT upload ${sourceId}`,
    method: 'PUT',
    url: signedUrl,
    body: () => ({
      body: Readable.toWeb(createReadStream(path)) as unknown as NonNullable<RequestInit['body']>,
      headers: { 'content-length': String(size) },
    }),
    timeoutMs: s.transferTimeoutMs,
    signal: o.signal,
    idempotent: true,
    read: async (res) => void (await res.arrayBuffer()),
  });
  s.log.info({ sourceId, bytes: size }, 'source uploaded');
  return sourceId;
}

async function requestUploadSlot(s: ClientSettings, signal: AbortSignal | undefined): Promise<{ sourceId: string; signedUrl: string }> {
  const operation = 'POST /ingest/upload';
  // Asking twice for an upload slot only leaves an unused slot behind, so this POST may be retried.
  const slot = await callShotstack(s.http, {
    operation,
    method: 'POST',
    url: `${s.ingestUrl}/upload`,
    headers: s.jsonHeaders,
    timeoutMs: s.timeoutMs,
    signal,
    idempotent: true,
    api: 'ingest',
    read: (res) => readJson<UploadResponse>(res, operation),
  });
  const sourceId = slot?.data?.attributes?.id ?? slot?.data?.id;
  const signedUrl = slot?.data?.attributes?.url;
  if (!sourceId || !signedUrl) throw new ShotstackError('retryable', `${operation}: answer without id/url`, { operation });
  return { sourceId, signedUrl };
}

/** Polls an uploaded source until `ready` (returns its URL) or a failed status. */
function waitForSource(s: ClientSettings, sourceId: string, o: IngestOptions): Promise<string> {
  const deadline = { ms: o.timeoutMs ?? s.ingestDeadlineMs, outer: o.signal, what: `waiting for source ${sourceId}`, id: sourceId };
  let last: string | undefined;
  return pollUntil(s, deadline, async (signal) => {
    const source = await getSource(s, sourceId, { signal });
    const status = source.status ?? 'queued';
    if (status !== last) {
      last = status;
      o.onStatus?.(status, sourceId);
    }
    return readySourceUrl(sourceId, status, source);
  });
}

/** The URL of a `ready` source; throws for a failed status; undefined while it is still being processed. */
function readySourceUrl(sourceId: string, status: string, source: SourceResponseAttributes): string | undefined {
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
  return undefined;
}
