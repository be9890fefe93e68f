import { randomBytes } from 'node:crypto';
import { createWriteStream, statSync } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { badRequest } from './errors.js';
import { mimeOf } from './mime.js';
import type { RegisteredFile, StoredFile } from './types.js';

/** The fake's file storage: ids like the real server's, Bot API file paths, and the bytes on this machine. */
export interface FileRegistry {
  add(path: string, size: number, folder: string, fileName: string, mimeType: string): StoredFile;
  /** A file the test supplies, as if a user had sent it. */
  register(path: string, o?: { fileName?: string; mimeType?: string }): RegisteredFile;
  byId(fileId: string): StoredFile | undefined;
  byPath(filePath: string): StoredFile | undefined;
  /** Drops a file whose sending failed (its id must not work later). */
  forget(fileId: string): void;
  /** Downloads a URL the bot passed instead of a file (the real server fetches it, up to `limit`). */
  fetchUrl(url: string, folder: string, limit: number, signal: AbortSignal): Promise<StoredFile>;
}

export function createFileRegistry(o: { local: boolean; incomingDir: string }): FileRegistry {
  const files = new Map<string, StoredFile>();
  const filesByPath = new Map<string, StoredFile>();
  let counter = 0;

  function add(path: string, size: number, folder: string, fileName: string, mimeType: string): StoredFile {
    counter++;
    const f: StoredFile = {
      file_id: `BAAC${counter.toString(36)}${randomBytes(12).toString('base64url')}`,
      file_unique_id: `AgAD${counter.toString(36)}${randomBytes(4).toString('base64url')}`,
      file_size: size,
      path,
      filePath: o.local ? path : `${folder}/file_${counter}${extname(fileName) || ''}`,
      fileName,
      mimeType,
    };
    files.set(f.file_id, f);
    filesByPath.set(f.filePath, f);
    return f;
  }

  async function fetchUrl(url: string, folder: string, limit: number, signal: AbortSignal): Promise<StoredFile> {
    let res: Response;
    try {
      res = await fetch(url, { signal });
    } catch {
      throw badRequest('failed to get HTTP URL content');
    }
    if (!res.ok || !res.body) throw badRequest('failed to get HTTP URL content');
    const name = basename(new URL(url).pathname) || `${folder}.dat`;
    const dest = join(o.incomingDir, `${counter + 1}-${name.replace(/[^A-Za-z0-9._-]/g, '_')}`);
    await pipeline(Readable.fromWeb(res.body as WebReadableStream<Uint8Array>), createWriteStream(dest));
    const size = (await stat(dest)).size;
    if (size > limit) {
      await rm(dest, { force: true });
      throw badRequest('wrong file identifier/HTTP URL specified');
    }
    return add(dest, size, folder, name, res.headers.get('content-type') ?? mimeOf(name));
  }

  return {
    add,
    register(path, r = {}) {
      const fileName = r.fileName ?? basename(path);
      const f = add(path, statSync(path).size, 'documents', fileName, r.mimeType ?? mimeOf(fileName));
      return { file_id: f.file_id, file_unique_id: f.file_unique_id, file_size: f.file_size };
    },
    byId: (id) => files.get(id),
    byPath: (p) => filesByPath.get(p) ?? (o.local ? filesByPath.get(`/${p}`) : undefined),
    forget(id) {
      const f = files.get(id);
      if (!f) return;
      files.delete(id);
      filesByPath.delete(f.filePath);
    },
    fetchUrl,
  };
}
