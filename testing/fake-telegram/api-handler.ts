import { rm } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { MultipartSyntaxError, type MultipartFile } from '../fake-telegram-multipart.js';
import { ApiFailure, badRequest, BodyTooLargeError, defaultDescription, tooManyRequests } from './errors.js';
import type { Faults } from './faults.js';
import { callMethod } from './methods.js';
import { COUNTED_METHODS, isKnownMethod, methodName, REPLY_MARKUP_METHODS } from './method-names.js';
import type { Params } from './params.js';
import { drainRequest, readParams, sendJson, sendTooLargeHtml } from './http-body.js';
import type { RateLimiter } from './rate-limit.js';
import { checkReplyMarkup } from './reply-markup.js';
import type { FakeState } from './state.js';
import type { InjectedFault, RecordedCall } from './types.js';

/** One /bot<token>/<method> request: parameters, injected faults, the real server's refusals, the call, the record. */
export interface ApiHandlerDeps {
  token: string;
  state: FakeState;
  faults: Faults;
  rateLimiter: RateLimiter | null;
  calls: RecordedCall[];
  uploadDir: string;
  changed(): void;
}

/** nginx caps the body before the Bot API sees it; photos have the lower cap of the cloud API. */
function bodyLimitOf(s: FakeState, method: string): number {
  return method === 'sendphoto' && !s.local ? Math.min(s.limits.photo, s.limits.upload) : s.limits.upload;
}

function chatOfCall(p: Params): number | undefined {
  const n = typeof p.chat_id === 'number' ? p.chat_id : Number(p.chat_id);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** The real server's refusals that come before the method runs: bad buttons, then flood control. */
function precheck(d: ApiHandlerDeps, method: string, p: Params): void {
  if (REPLY_MARKUP_METHODS.has(method)) checkReplyMarkup(p);
  if (!d.rateLimiter || !COUNTED_METHODS.has(method)) return;
  const retryAfter = d.rateLimiter.admit(chatOfCall(p));
  if (retryAfter > 0) throw tooManyRequests(retryAfter);
}

/** An injected error; a 429 carries retry_after in both places, as the real server's always does. */
function injectedFailure(fault: InjectedFault): ApiFailure {
  const status = fault.status!;
  const retryAfter = fault.retryAfter ?? (status === 429 ? 1 : undefined);
  const params = retryAfter !== undefined ? { retry_after: retryAfter } : undefined;
  return new ApiFailure(status, fault.description ?? defaultDescription(status, retryAfter), params);
}

function failureOf(e: unknown): ApiFailure {
  if (e instanceof ApiFailure) return e;
  if (e instanceof MultipartSyntaxError) return badRequest(`can't parse multipart/form-data: ${e.message}`);
  return new ApiFailure(500, `Internal Server Error: ${(e as Error).message}`);
}

function sendFailure(res: ServerResponse, f: ApiFailure): void {
  if (res.headersSent || res.destroyed) return;
  const parameters = f.parameters ? { parameters: f.parameters } : {};
  sendJson(res, f.status, { ok: false, error_code: f.status, description: f.description, ...parameters });
}

/** One request in flight. */
interface Call {
  req: IncomingMessage;
  res: ServerResponse;
  method: string;
  record: RecordedCall;
  uploads: Map<string, MultipartFile>;
  signal: AbortSignal;
}

export function createApiHandler(d: ApiHandlerDeps) {
  /** Runs the call and answers it, unless an injected fault delays, fails or drops it. */
  async function perform({ req, res, method, record, uploads, signal }: Call) {
    const fault = d.faults.take(method);
    if (fault?.delayMs) await sleep(fault.delayMs, signal);
    if (fault?.drop) {
      record.description = 'connection dropped (injected)';
      req.socket.destroy();
      return;
    }
    if (fault?.status) throw injectedFailure(fault);
    if (isKnownMethod(method)) precheck(d, method, record.params);
    const result = await callMethod(d.state, method, { params: record.params, uploads, signal, files: record.files });
    Object.assign(record, { ok: true, result, httpStatus: 200 });
    sendJson(res, 200, { ok: true, result });
  }

  async function fail({ req, res, record }: Call, e: unknown) {
    if (e instanceof BodyTooLargeError) {
      Object.assign(record, { httpStatus: 413, description: '413 Request Entity Too Large (nginx)' });
      await drainRequest(req);
      if (!res.headersSent && !res.destroyed) sendTooLargeHtml(res);
      return;
    }
    const failure = failureOf(e);
    Object.assign(record, { httpStatus: failure.status, description: failure.description });
    if (failure.rateLimited) record.rateLimited = true;
    sendFailure(res, failure);
  }

  /** Uploads that did not become a sent file (a failed call) are removed; sent ones stay until close(). */
  async function removeUnsent(uploads: Map<string, MultipartFile>) {
    const kept = new Set(d.state.sentFiles.map((f) => f.path));
    await Promise.all([...uploads.values()].filter((u) => !kept.has(u.path)).map((u) => rm(u.path, { force: true })));
  }

  return async function handleApi(req: IncomingMessage, res: ServerResponse, givenToken: string, rawMethod: string, url: URL) {
    const method = rawMethod.toLowerCase();
    const record: RecordedCall = { method: methodName(method) || rawMethod, params: {}, files: {}, httpStatus: 0, ok: false, at: Date.now() };
    const abort = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) abort.abort();
    });
    const call: Call = { req, res, method, record, uploads: new Map(), signal: abort.signal };
    try {
      if (givenToken !== d.token) {
        req.resume();
        throw new ApiFailure(401, 'Unauthorized');
      }
      record.params = await readParams(req, url, { uploadDir: d.uploadDir, uploads: call.uploads, bodyLimit: bodyLimitOf(d.state, method) });
      await perform(call);
    } catch (e) {
      await fail(call, e);
    } finally {
      await removeUnsent(call.uploads);
    }
    d.calls.push(record);
    d.changed();
  };
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(t);
      resolve();
    }, { once: true });
  });
}
