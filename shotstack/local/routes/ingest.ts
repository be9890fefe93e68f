import { randomUUID } from 'node:crypto';
import { mkdir, rename, rm } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import { join } from 'node:path';
import { isMediaError } from '../../../common/errors.js';
import { probeMedia, type MediaInfo } from '../../../common/ffmpeg.js';
import { ASSET_DEMUXERS } from '../asset-formats.js';
import { declaredTooLarge, saveCapped } from '../body.js';
import { isoNow, OWNER, type LocalContext, type Route, type RouteCall } from '../context.js';
import { takeCounted } from '../faults.js';
import { drain, sendJson, sendXml } from '../http.js';
import { safeEqual } from '../safe-equal.js';
import type { SourceRecord } from '../store.js';

/**
 * Ingest API: `POST /upload` hands out a signed upload URL, `GET /sources/{id}` reports the source's import,
 * `DELETE /sources/{id}` removes it. The upload itself is UPLOAD_ROUTE, outside the API (no API key, like S3).
 */
export const INGEST_ROUTES: readonly Route[] = [
  { method: 'POST', pattern: /^\/upload$/, handle: createUpload },
  { method: 'GET', pattern: /^\/sources\/([^/]+)$/, handle: (ctx, { res, params }) => getSource(ctx, res, params[0]!) },
  { method: 'DELETE', pattern: /^\/sources\/([^/]+)$/, handle: (ctx, { res, params }) => deleteSource(ctx, res, params[0]!) },
];

/** `PUT /upload/{id}?expires&signature`: the signed URL createUpload handed out. */
export const UPLOAD_ROUTE: Route = { method: 'PUT', pattern: /^\/upload\/([^/]+)$/, handle: receiveUpload };

const sourceNotFound = (id: string) => ({ errors: [{ status: '404', title: 'Not Found', detail: `Source ${id} not found` }] });

function createUpload(ctx: LocalContext, { req, res, env }: RouteCall): void {
  void drain(req);
  const id = randomUUID();
  const expires = Date.now() + ctx.uploadUrlTtlMs;
  ctx.store.sources.set(id, { attributes: { id, owner: OWNER, status: 'queued', created: isoNow(), updated: isoNow() }, createdMs: ctx.clock() });
  const signed = `${ctx.publicUrl}/upload/${id}?expires=${expires}&signature=${ctx.sign(id, expires)}`;
  ctx.log.debug({ sourceId: id, env }, 'upload slot created');
  sendJson(res, 200, { data: { type: 'upload', id, attributes: { id, url: signed, expires: new Date(expires).toISOString() } } });
}

function getSource(ctx: LocalContext, res: ServerResponse, id: string): void {
  const source = ctx.store.sources.get(id);
  if (!source) return sendJson(res, 404, sourceNotFound(id));
  sendJson(res, 200, { data: { type: 'source', id, attributes: source.attributes } });
}

/** Ingest API `DELETE /sources/{id}`: the file and the record. */
async function deleteSource(ctx: LocalContext, res: ServerResponse, id: string): Promise<void> {
  if (!ctx.store.sources.has(id)) return sendJson(res, 404, sourceNotFound(id));
  await ctx.store.removeSource(id);
  res.writeHead(204).end();
}

async function receiveUpload(ctx: LocalContext, { req, res, url, params }: RouteCall): Promise<void> {
  const id = params[0]!;
  const { limits, store } = ctx;
  const source = store.sources.get(id);
  const expires = Number(url.searchParams.get('expires'));
  const signature = url.searchParams.get('signature') ?? '';
  const valid = source && Number.isFinite(expires) && safeEqual(signature, ctx.sign(id, expires));
  if (!valid || Date.now() > expires) {
    await drain(req);
    res.writeHead(403, { 'content-type': 'application/xml' });
    res.end(`<Error><Code>AccessDenied</Code><Message>${valid ? 'Request has expired' : 'Signature does not match'}</Message></Error>`);
    return;
  }
  if (declaredTooLarge(req, limits.maxUploadBytes)) return refuseTooLarge(ctx, res);
  const dir = store.sourceDir(id);
  await mkdir(dir, { recursive: true });
  const partial = join(dir, 'upload.part');
  const size = await saveCapped(req, partial, limits.maxUploadBytes);
  if (size === null) {
    await rm(dir, { recursive: true, force: true });
    return refuseTooLarge(ctx, res);
  }
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (Number.isFinite(declared) && declared !== size) {
    return sendXml(res, 400, `<Error><Code>IncompleteBody</Code><Message>Got ${size} of ${declared} bytes</Message></Error>`);
  }
  res.writeHead(200, { etag: `"${id}"` });
  res.end();
  ctx.track(importSource(ctx, source, partial, size));
}

/** S3's answer to an upload over its size limit; the connection is closed rather than the rest read. */
function refuseTooLarge(ctx: LocalContext, res: ServerResponse): void {
  const xml = `<Error><Code>EntityTooLarge</Code><Message>Your proposed upload exceeds the maximum allowed size</Message><MaxSizeAllowed>${ctx.limits.maxUploadBytes}</MaxSizeAllowed></Error>`;
  sendXml(res, 400, xml, { connection: 'close' });
}

/** What Shotstack does after an upload: inspect the file, store it under a public URL, mark it ready. */
async function importSource(ctx: LocalContext, source: SourceRecord, partial: string, size: number): Promise<void> {
  const a = source.attributes;
  Object.assign(a, { status: 'importing', updated: isoNow() });
  const injected = takeCounted(ctx.faults.failIngests);
  let media: MediaInfo | null = null;
  let failed = size === 0;
  try {
    // Through the same gate as render assets: a source is only ever useful as one.
    media = await probeMedia(partial, { demuxers: ASSET_DEMUXERS, maxBytes: ctx.limits.maxUploadBytes });
  } catch (e) {
    // Audio-only files (in an allowed container) are fine sources; files the gate refuses are not.
    if (!isMediaError(e) || e.code !== 'no_video_stream') failed = true;
  }
  if (failed || injected) {
    // Nothing will ever read a failed upload: keep the record (its status), not the bytes.
    await rm(ctx.store.sourceDir(a.id), { recursive: true, force: true });
    Object.assign(a, { status: injected?.status ?? 'failed', updated: isoNow() });
    return;
  }
  const fileName = `source.${extensionOf(media)}`;
  const file = join(ctx.store.sourceDir(a.id), fileName);
  await rename(partial, file);
  source.file = file;
  source.fileName = fileName;
  Object.assign(a, {
    status: 'ready',
    source: `${ctx.publicUrl}/assets/sources/${a.id}/${fileName}`,
    ...(media?.video ? { width: media.video.width, height: media.video.height, fps: Math.round(media.video.fps * 1000) / 1000 } : {}),
    ...(media ? { duration: Math.round(media.durationSec * 1000) / 1000 } : {}),
    updated: isoNow(),
  });
}

function extensionOf(media: MediaInfo | null): string {
  if (!media) return 'bin';
  const format = media.formatName;
  if (format.includes('webm') || format.includes('matroska')) return 'webm';
  if (format.includes('mov') || format.includes('mp4')) {
    return media.video && ['qtrle', 'prores', 'png'].includes(media.video.codec) ? 'mov' : 'mp4';
  }
  if (format.includes('png_pipe')) return 'png';
  if (format.includes('jpeg_pipe')) return 'jpg';
  if (format.includes('webp_pipe')) return 'webp';
  return 'bin';
}
