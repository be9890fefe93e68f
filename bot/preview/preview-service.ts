import { createHmac, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isFfmpegUnavailableError, isMediaError, type MediaErrorCode } from '../../common/errors.js';
import type { Logger } from '../../common/logger.js';
import type { OutputKind, TelegramInputRef } from '../../pipeline/contract.js';
import { downloadTelegramInput, type TelegramInputOptions } from '../../pipeline/stages/telegram-input.js';
import type { ChosenOptions } from '../flow/options.js';
import { composePreview } from './compose-preview.js';

/**
 * Previews for the dialogue: downloads the inputs from Telegram once per order (the pipeline's own downloader,
 * which keeps the token out of logs and errors), composes one frame, and reports the outcome as plain JSON so the
 * conversation can keep it in its replay log.
 */
export type PreviewOutcome =
  | { ok: true; path: string; ms: number }
  | { ok: false; reason: 'no_person' | 'failed'; detail: string; mediaCode?: MediaErrorCode };

export interface PreviewJob {
  /** Identifies one order's downloads (they are reused when the user changes options). */
  key: string;
  head: TelegramInputRef;
  background: TelegramInputRef | null;
  output: OutputKind;
  options: ChosenOptions;
}

export interface PreviewService {
  make(job: PreviewJob): Promise<PreviewOutcome>;
  /** Removes the order's downloads and pictures. */
  cleanup(key: string): Promise<void>;
}

/** The Telegram download settings (`timeoutMs` also bounds the whole preview), plus where previews live. */
export interface PreviewServiceOptions extends TelegramInputOptions {
  dir?: string;
  /** Order folders older than this are removed (dialogues left with /cancel never reach their cleanup). */
  maxAgeMs?: number;
  log: Logger;
}

export function createPreviewService(o: PreviewServiceOptions): PreviewService {
  const root = o.dir ?? join(tmpdir(), 'bubblecast-bot-preview');
  // Keyed by a secret drawn per process: an order's folder stays the same for its whole dialogue, but nobody can
  // name it in a hostile file (a playlist that points at another user's download).
  const secret = randomBytes(32);
  const dirOf = (key: string) =>
    join(root, `${key.replace(/[^A-Za-z0-9_-]/g, '_')}.${createHmac('sha256', secret).update(key).digest('hex').slice(0, 24)}`);
  let counter = 0;

  async function fetchInput(key: string, ref: TelegramInputRef, signal: AbortSignal): Promise<string> {
    const dest = join(dirOf(key), `${ref.fileUniqueId}.input`);
    if (existsSync(dest)) return dest;
    await downloadTelegramInput(o, ref, dest, { signal, log: o.log });
    return dest;
  }

  const maxAgeMs = o.maxAgeMs ?? 3600_000;
  let lastSweep = 0;
  async function sweep(): Promise<void> {
    if (Date.now() - lastSweep < 60_000) return;
    lastSweep = Date.now();
    for (const name of await readdir(root).catch(() => [] as string[])) {
      const path = join(root, name);
      const s = await stat(path).catch(() => null);
      if (s && Date.now() - s.mtimeMs > maxAgeMs) await rm(path, { recursive: true, force: true });
    }
  }

  return {
    async make(job) {
      const signal = AbortSignal.timeout(o.timeoutMs);
      await sweep().catch(() => undefined);
      try {
        await mkdir(dirOf(job.key), { recursive: true });
        const headPath = await fetchInput(job.key, job.head, signal);
        const backgroundPath = job.background ? await fetchInput(job.key, job.background, signal) : null;
        const outPath = join(dirOf(job.key), `preview-${++counter}.jpg`);
        const r = await composePreview({ headPath, backgroundPath, output: job.output, options: job.options, outPath, signal });
        o.log.info({ key: job.key, ms: r.ms, coverage: r.personCoverage }, 'preview made');
        return { ok: true, path: r.path, ms: r.ms };
      } catch (e) {
        const err = e as Error;
        // ffmpeg/ffprobe gone on this host: the operator's to fix (the message says how); the user is told the
        // preview failed and can still confirm.
        if (isFfmpegUnavailableError(e)) o.log.error({ key: job.key, tool: e.tool, variable: e.variable }, err.message);
        else o.log.warn({ key: job.key, err: err.message }, 'preview failed');
        if (isMediaError(e) && e.code === 'no_person') return { ok: false, reason: 'no_person', detail: err.message };
        // A refused file (a photo, a playlist, 8K…) is told in the same words the worker would use.
        if (isMediaError(e)) return { ok: false, reason: 'failed', detail: err.message.slice(0, 300), mediaCode: e.code };
        return { ok: false, reason: 'failed', detail: err.message.slice(0, 300) };
      }
    },
    async cleanup(key) {
      await rm(dirOf(key), { recursive: true, force: true });
    },
  };
}
