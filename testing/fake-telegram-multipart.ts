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
 * are removed before the error propagates. The size cap is the caller's (it answers like nginx, before parsing).
 */
export async function readMultipart(
  body: AsyncIterable<Buffer | string>,
  boundary: string,
  dir: string,
): Promise<MultipartResult> {
  const parser = new MultipartParser(boundary, dir);
  try {
    for await (const raw of body) await parser.push(typeof raw === 'string' ? Buffer.from(raw) : raw);
    return parser.end();
  } catch (e) {
    await parser.discard();
    throw e;
  }
}

/** A push parser: each chunk is consumed as far as it goes; an incomplete tail waits for the next one. */
class MultipartParser {
  private readonly firstDelimiter: Buffer;
  private readonly delimiter: Buffer;
  private readonly result: MultipartResult = { fields: [], files: [] };
  private buf: Buffer = Buffer.alloc(0);
  private state: State = 'preamble';
  private part: OpenPart | null = null;
  private fileCounter = 0;

  constructor(
    boundary: string,
    private readonly dir: string,
  ) {
    this.firstDelimiter = Buffer.from(`--${boundary}`);
    this.delimiter = Buffer.from(`\r\n--${boundary}`);
  }

  async push(chunk: Buffer): Promise<void> {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    while (this.state !== 'done' && (await this.step())) {
      // each step consumed something; go on until one needs more bytes
    }
  }

  end(): MultipartResult {
    if (this.state !== 'done') throw new MultipartSyntaxError('the body ended before the closing boundary');
    return this.result;
  }

  /** Closes and removes every file written so far (the request failed). */
  async discard(): Promise<void> {
    if (this.part?.handle) await this.part.handle.close().catch(() => undefined);
    const paths = [...this.result.files.map((f) => f.path), ...(this.part?.path ? [this.part.path] : [])];
    await Promise.all(paths.map((p) => rm(p, { force: true })));
  }

  /** One state transition; false when the buffer holds too little to make one. */
  private step(): Promise<boolean> | boolean {
    switch (this.state) {
      case 'preamble':
        return this.skipPreamble();
      case 'afterDelimiter':
        return this.afterDelimiter();
      case 'headers':
        return this.readHeaders();
      case 'body':
        return this.readBody();
      default:
        return false;
    }
  }

  private skipPreamble(): boolean {
    const i = this.buf.indexOf(this.firstDelimiter);
    if (i < 0) {
      this.buf = this.buf.subarray(Math.max(0, this.buf.length - this.firstDelimiter.length));
      return false;
    }
    this.buf = this.buf.subarray(i + this.firstDelimiter.length);
    this.state = 'afterDelimiter';
    return true;
  }

  private afterDelimiter(): boolean {
    if (this.buf.length < 2) return false;
    const two = this.buf.subarray(0, 2).toString('latin1');
    if (two === '--') {
      this.state = 'done';
      return false;
    }
    if (two !== '\r\n') throw new MultipartSyntaxError('garbage after a boundary');
    this.buf = this.buf.subarray(2);
    this.state = 'headers';
    return true;
  }

  private async readHeaders(): Promise<boolean> {
    const i = this.buf.indexOf('\r\n\r\n');
    if (i < 0) {
      if (this.buf.length > MAX_HEADER_BYTES) throw new MultipartSyntaxError('part headers too long');
      return false;
    }
    await this.startPart(this.buf.subarray(0, i).toString('utf8'));
    this.buf = this.buf.subarray(i + 4);
    this.state = 'body';
    return true;
  }

  private async readBody(): Promise<boolean> {
    const i = this.buf.indexOf(this.delimiter);
    if (i < 0) {
      // Keep enough bytes to recognise a delimiter split across chunks.
      const keep = this.delimiter.length - 1;
      if (this.buf.length > keep) {
        await this.writePart(this.buf.subarray(0, this.buf.length - keep));
        this.buf = Buffer.from(this.buf.subarray(this.buf.length - keep));
      }
      return false;
    }
    await this.writePart(this.buf.subarray(0, i));
    await this.finishPart();
    this.buf = this.buf.subarray(i + this.delimiter.length);
    this.state = 'afterDelimiter';
    return true;
  }

  private async startPart(headerText: string): Promise<void> {
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
    if (fileName === null) {
      this.part = { name, fileName: null, contentType, handle: null, path: null, size: 0, chunks: [] };
      return;
    }
    const path = join(this.dir, `${++this.fileCounter}-${safeName(fileName)}`);
    this.part = { name, fileName, contentType, handle: await open(path, 'w'), path, size: 0, chunks: [] };
  }

  private async writePart(data: Buffer): Promise<void> {
    const part = this.part;
    if (!part || data.length === 0) return;
    part.size += data.length;
    if (part.handle) return void (await part.handle.write(data));
    if (part.size > MAX_FIELD_BYTES) throw new MultipartSyntaxError(`field ${part.name} is too long`);
    part.chunks.push(data);
  }

  private async finishPart(): Promise<void> {
    const part = this.part;
    if (!part) return;
    if (part.handle) {
      await part.handle.close();
      this.result.files.push({ name: part.name, fileName: part.fileName ?? part.name, contentType: part.contentType, path: part.path!, size: part.size });
    } else {
      this.result.fields.push({ name: part.name, value: Buffer.concat(part.chunks).toString('utf8') });
    }
    this.part = null;
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
