import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { RenderResponseData, SourceResponseAttributes } from '../types.js';

/**
 * The local renderer's records (in memory) and files (under its data dir), and how long it keeps them. The files
 * are other people's videos: they are kept only as long as they are useful, then removed —
 *
 * - after `retentionMs` (default 24 h: how long Shotstack's own render URLs last): sources from when their upload
 *   slot was created, renders from when they ended;
 * - at start-up, everything a previous process left: records live in memory, so those files could never be
 *   served again (one renderer process per data dir);
 * - on request, right after a job (discardRender): the in-process pipeline has downloaded its result and has no
 *   further use for the render or the sources it was made from.
 */
export interface SourceRecord {
  attributes: SourceResponseAttributes;
  file?: string;
  fileName?: string;
  /** When the upload slot was created (epoch ms). */
  createdMs: number;
}

export interface RenderRecord {
  data: RenderResponseData;
  /** When the render ended, done or failed (epoch ms); unset while it is queued or running. */
  endedMs?: number;
  /** The ingested sources its Edit uses (removed with it by discardRender). */
  sourceIds: string[];
}

export interface StoreOptions {
  dataDir: string;
  retentionMs: number;
  now: () => number;
}

export class LocalStore {
  readonly sources = new Map<string, SourceRecord>();
  readonly renders = new Map<string, RenderRecord>();
  readonly sourcesDir: string;
  readonly rendersDir: string;
  readonly workRoot: string;
  /** Base of the URLs this renderer hands out; set once it listens. */
  publicUrl = '';

  constructor(private readonly o: StoreOptions) {
    this.sourcesDir = join(o.dataDir, 'sources');
    this.rendersDir = join(o.dataDir, 'renders');
    this.workRoot = join(o.dataDir, 'work');
  }

  /** Creates the folders; returns what a previous process left in them (for removeLeftovers once listening). */
  async open(): Promise<string[]> {
    const found: string[] = [];
    for (const dir of [this.sourcesDir, this.rendersDir, this.workRoot]) {
      await mkdir(dir, { recursive: true });
      for (const name of await readdir(dir)) found.push(join(dir, name));
    }
    return found;
  }

  /**
   * Removes what open() found. Called once the server listens: a second renderer started by mistake on the same
   * data dir fails to bind its port before it can delete the first one's files.
   */
  async removeLeftovers(paths: string[]): Promise<void> {
    for (const path of paths) await rm(path, { recursive: true, force: true });
  }

  sourceDir(id: string): string {
    return join(this.sourcesDir, id);
  }

  renderFile(id: string): string {
    return join(this.rendersDir, `${id}.mp4`);
  }

  /**
   * The file behind one of this renderer's own asset URLs: its path, null when the URL is ours but names nothing
   * (expired, discarded, never existed), undefined when the URL is not ours.
   */
  ownFile(src: string): string | null | undefined {
    const prefix = `${this.publicUrl}/assets/`;
    if (!this.publicUrl || !src.startsWith(prefix)) return undefined;
    const rest = src.slice(prefix.length);
    let m: RegExpMatchArray | null;
    if ((m = rest.match(/^sources\/([^/?#]+)\/([^/?#]+)$/))) {
      const source = this.sources.get(m[1]!);
      return source?.file && source.fileName === m[2] ? source.file : null;
    }
    if ((m = rest.match(/^renders\/([0-9a-f-]+)\.mp4$/))) {
      return this.renders.get(m[1]!)?.data.status === 'done' ? this.renderFile(m[1]!) : null;
    }
    return null;
  }

  /** The ids of the ingested sources among `srcs`. */
  ownSourceIds(srcs: string[]): string[] {
    const prefix = `${this.publicUrl}/assets/sources/`;
    const ids = srcs.filter((s) => s.startsWith(prefix)).map((s) => s.slice(prefix.length).split('/')[0]!);
    return [...new Set(ids)].filter((id) => this.sources.has(id));
  }

  markEnded(id: string): void {
    const render = this.renders.get(id);
    if (render) render.endedMs = this.o.now();
  }

  async removeSource(id: string): Promise<void> {
    this.sources.delete(id);
    await rm(this.sourceDir(id), { recursive: true, force: true });
  }

  async removeRender(id: string): Promise<void> {
    this.renders.delete(id);
    await rm(this.renderFile(id), { force: true });
  }

  /**
   * Removes an ended render (record and file) and the ingested sources its Edit used. For an in-process user
   * that has downloaded the result; those sources must not be needed by another render. Unknown ids are ignored
   * (already discarded or expired); a render still running is refused.
   */
  async discardRender(id: string): Promise<void> {
    const render = this.renders.get(id);
    if (!render) return;
    if (render.endedMs === undefined) throw new Error(`render ${id} is still ${render.data.status}; discard it once it has ended`);
    await this.removeRender(id);
    for (const sourceId of render.sourceIds) await this.removeSource(sourceId);
  }

  /** Removes expired sources and renders, and files no record owns. Returns how many entries were removed. */
  async sweepExpired(): Promise<number> {
    const cutoff = this.o.now() - this.o.retentionMs;
    let removed = 0;
    for (const [id, source] of this.sources) {
      if (source.createdMs > cutoff) continue;
      await this.removeSource(id);
      removed++;
    }
    for (const [id, render] of this.renders) {
      if (render.endedMs === undefined || render.endedMs > cutoff) continue;
      await this.removeRender(id);
      removed++;
    }
    return removed + (await this.removeOrphans());
  }

  /** Files whose record is gone (a failed write, a crash between steps): nothing could ever serve them. */
  private async removeOrphans(): Promise<number> {
    let removed = 0;
    for (const name of await readdir(this.sourcesDir)) {
      if (this.sources.has(name)) continue;
      await rm(join(this.sourcesDir, name), { recursive: true, force: true });
      removed++;
    }
    for (const name of await readdir(this.rendersDir)) {
      if (this.renders.has(name.replace(/\.mp4$/, ''))) continue;
      await rm(join(this.rendersDir, name), { recursive: true, force: true });
      removed++;
    }
    return removed;
  }
}
