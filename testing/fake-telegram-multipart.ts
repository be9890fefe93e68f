import { open, rm, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * A streaming multipart/form-data reader for the fake Bot API: text fields are collected as strings, file parts
 * are streamed to disk (never buffered whole), so a 50 MB upload costs no more memory than a small one.
 *
 * It accepts what real clients send: grammY's compact headers (`content-disposition:form-data;name="x";filename=y`,
 * lower case, no spaces, unquoted filename) as well as curl/browsers' (`Content-Disposition: form-data; name="x";
 * filename="y"`).
 */
export interface MultipartField {
  name: string;
  value: string;
}

export interface MultipartFile {
  /** The part's form name (grammY: a random id referenced as `attach://<id>` from the real field). */
  name: string;
  fileName: string;
  contentType: string;
  path: string;
  size: number;
}

export interface MultipartResult {
  fields: MultipartField[];
  files: MultipartFile[];
}

export class MultipartTooLargeError extends Error {
  constructor(readonly limit: number) {
    super(`multipart body larger than ${limit} bytes`);
    this.name = 'MultipartTooLargeError';
  }
}

export class MultipartSyntaxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MultipartSyntaxError';
  }
}

export function boundaryOf(contentType: string | undefined): string | null {
  const m = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType ?? '');
  return m ? (m[1] ?? m[2] ?? null) : null;
}

const MAX_HEADER_BYTES = 16 * 1024;
const MAX_FIELD_BYTES = 1024 * 1024;

type State = 'preamble' | 'headers' | 'body' | 'afterDelimiter' | 'done';

interface OpenPart {
  name: string;
  fileName: string | null;
  contentType: string;
  handle: FileHandle | null;
  path: string | null;
  size: number;
  chunks: Buffer[];
}

/**
 * Reads `body` (the request) to the end. Files go to `dir/<n>-<safe name>`; on any error the files written so far
 * are removed before the error propagates.
 */
export async function readMultipart(
  body: AsyncIterable<Buffer | string>,
  boundary: string,
  dir: string,
  limits: { maxBytes: number },
): Promise<MultipartResult> {
  const firstDelimiter = Buffer.from(`--${boundary}`);
  const delimiter = Buffer.from(`\r\n--${boundary}`);
  const result: MultipartResult = { fields: [], files: [] };
  let buf: Buffer = Buffer.alloc(0);
  let state: State = 'preamble';
  let part: OpenPart | null = null;
  let total = 0;
  let fileCounter = 0;

  const writePart = async (data: Buffer) => {
    if (!part || data.length === 0) return;
    part.size += data.length;
    if (part.handle) {
      await part.handle.write(data);
    } else {
      if (part.size > MAX_FIELD_BYTES) throw new MultipartSyntaxError(`field ${part.name} is too long`);
      part.chunks.push(data);
    }
  };

  const finishPart = async () => {
    if (!part) return;
    if (part.handle) {
      await part.handle.close();
      result.files.push({
        name: part.name,
        fileName: part.fileName ?? part.name,
        contentType: part.contentType,
        path: part.path!,
        size: part.size,
      });
    } else {
      result.fields.push({ name: part.name, value: Buffer.concat(part.chunks).toString('utf8') });
    }
    part = null;
  };

  const startPart = async (headerText: string) => {
    const headers = new Map<string, string>();
    for (const line of headerText.split('\r\n')) {
      const i = line.indexOf(':');
      if (i > 0) headers.set(line.slice(0, i).trim().toLowerCase(), line.slice(i + 1).trim());
    }
    const disposition = headers.get('content-disposition') ?? '';
    const name = paramOf(disposition, 'name');
    if (name === null) throw new MultipartSyntaxError('a part without a name');
    const fileName = paramOf(disposition, 'filename');
    const contentType = headers.get('content-type') ?? (fileName !== null ? 'application/octet-stream' : 'text/plain');
    if (fileName !== null) {
      const path = join(dir, `${++fileCounter}-${safeName(fileName)}`);
      const handle = await open(path, 'w');
      part = { name, fileName, contentType, handle, path, size: 0, chunks: [] };
    } else {
      part = { name, fileName: null, contentType, handle: null, path: null, size: 0, chunks: [] };
    }
  };

  try {
    for await (const raw of body) {
      const chunk = typeof raw === 'string' ? Buffer.from(raw) : raw;
      total += chunk.length;
      if (total > limits.maxBytes) throw new MultipartTooLargeError(limits.maxBytes);
      buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
      // Process as much of the buffer as possible; leave an incomplete tail for the next chunk.
      for (let progressed = true; progressed && state !== 'done'; ) {
        progressed = false;
        if (state === 'preamble') {
          const i = buf.indexOf(firstDelimiter);
          if (i < 0) {
            buf = buf.subarray(Math.max(0, buf.length - firstDelimiter.length));
            break;
          }
          buf = buf.subarray(i + firstDelimiter.length);
          state = 'afterDelimiter';
          progressed = true;
        } else if (state === 'afterDelimiter') {
          if (buf.length < 2) break;
          const two = buf.subarray(0, 2).toString('latin1');
          if (two === '--') {
            state = 'done';
          } else if (two === '\r\n') {
            buf = buf.subarray(2);
            state = 'headers';
            progressed = true;
          } else {
            throw new MultipartSyntaxError('garbage after a boundary');
          }
        } else if (state === 'headers') {
          const i = buf.indexOf('\r\n\r\n');
          if (i < 0) {
            if (buf.length > MAX_HEADER_BYTES) throw new MultipartSyntaxError('part headers too long');
            break;
          }
          await startPart(buf.subarray(0, i).toString('utf8'));
          buf = buf.subarray(i + 4);
          state = 'body';
          progressed = true;
        } else if (state === 'body') {
          const i = buf.indexOf(delimiter);
          if (i < 0) {
            // Keep enough bytes to recognise a delimiter split across chunks.
            const keep = delimiter.length - 1;
            if (buf.length > keep) {
              await writePart(buf.subarray(0, buf.length - keep));
              buf = Buffer.from(buf.subarray(buf.length - keep));
            }
            break;
          }
          await writePart(buf.subarray(0, i));
          await finishPart();
          buf = buf.subarray(i + delimiter.length);
          state = 'afterDelimiter';
          progressed = true;
        }
      }
    }
    if (state !== 'done') throw new MultipartSyntaxError('the body ended before the closing boundary');
    return result;
  } catch (e) {
    const open = part as OpenPart | null;
    if (open?.handle) await open.handle.close().catch(() => undefined);
    const paths = [...result.files.map((f) => f.path), ...(open?.path ? [open.path] : [])];
    await Promise.all(paths.map((p) => rm(p, { force: true })));
    throw e;
  }
}

function paramOf(header: string, key: string): string | null {
  // name="x" | name=x ; the key must start a parameter (so `filename` is not read as `name`).
  const re = new RegExp(`(?:^|;)\\s*${key}\\s*=\\s*(?:"((?:[^"\\\\]|\\\\.)*)"|([^;]*))`, 'i');
  const m = re.exec(header);
  if (!m) return null;
  return m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : (m[2] ?? '').trim();
}

function safeName(name: string): string {
  const base = name.split(/[\\/]/).pop() ?? 'file';
  return base.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 80) || 'file';
}
