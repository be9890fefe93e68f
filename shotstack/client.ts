import { Semaphore } from './semaphore.js';
import { downloadTo } from './client/download.js';
import { deleteSource, getSource, ingest } from './client/ingest.js';
import { getRender, submitRender, waitForRender } from './client/render.js';
import { deleteRenderAssets, getHostedUrl } from './client/serve.js';
import { resolveClientSettings } from './client/settings.js';
import type { ShotstackClient, ShotstackClientOptions } from './client/types.js';

export type {
  CallOptions,
  DeletedAssets,
  GetRenderOptions,
  IngestedSource,
  IngestOptions,
  RenderResult,
  ShotstackClient,
  ShotstackClientOptions,
  WaitOptions,
} from './client/types.js';

/**
 * The Shotstack client: Ingest (client/ingest.ts), Edit (client/render.ts) and Serve (client/serve.ts) API
 * operations plus downloads (client/download.ts), all sharing one set of settings (client/settings.ts) — the
 * timeouts, retry and rate-limit policy, request budget and the API key.
 */
export function createShotstackClient(opts: ShotstackClientOptions): ShotstackClient {
  const s = resolveClientSettings(opts);
  const ingestSlots = new Semaphore(opts.ingestConcurrency ?? 2);
  return {
    apiUrl: s.apiUrl,
    env: s.env,
    ingestFile: async (path, o = {}) => (await ingest(s, ingestSlots, path, o)).src,
    ingest: (path, o) => ingest(s, ingestSlots, path, o),
    getSource: (id, o) => getSource(s, id, o),
    deleteSource: (id, o) => deleteSource(s, id, o),
    submitRender: (edit, o) => submitRender(s, edit, o),
    getRender: (id, o) => getRender(s, id, o),
    waitForRender: (id, o) => waitForRender(s, id, o),
    getHostedUrl: (renderId, o) => getHostedUrl(s, renderId, o),
    deleteRenderAssets: (renderId, o) => deleteRenderAssets(s, renderId, o),
    downloadTo: (url, destPath, o) => downloadTo(s, url, destPath, o),
  };
}
