import { createReadStream } from 'node:fs';
import type { OverlayOptionsInput } from '../../engine/index.js';
import { API_PREFIX, OPTIONS_HEADER, type ErrorBody, type SubmitAccepted } from '../server/api.js';
import { classifyHttpError, GpuWorkerError, isNetworkError } from './errors.js';
import { connectionFailed } from './failures.js';
import { readJson } from './http.js';
import { backoff, pause, retryAfterMs, type ClientContext } from './settings.js';

/**
 * Uploads the input and returns the worker's job id. Connection errors, 429 and 5xx are tried again (up to
 * `submitAttempts`, honouring a Retry-After no longer than `maxRetryAfterMs`); anything else is thrown at once.
 */
export async function submit(
  ctx: ClientContext,
  inputPath: string,
  size: number,
  options: OverlayOptionsInput,
  signal: AbortSignal,
  until: number,
): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    let failure: GpuWorkerError;
    let waitMs = backoff(attempt, 500, 8000);
    try {
      const res = await ctx.call('POST', `${API_PREFIX}/jobs`, signal, {
        headers: { 'content-type': 'application/octet-stream', [OPTIONS_HEADER]: JSON.stringify(options) },
        body: { open: () => createReadStream(inputPath), length: size, expectContinue: ctx.expectContinue },
      });
      if (res.status === 202) {
        const accepted = await readJson<SubmitAccepted>(res.body);
        if (accepted?.id) return accepted.id;
        failure = new GpuWorkerError('unavailable', 'bad_response', 'submit: the worker answered 202 without a job id');
      } else {
        failure = classifyHttpError(res.status, await readJson<ErrorBody>(res.body), 'submit');
        if (res.status === 429) waitMs = retryAfterMs(res, waitMs);
      }
    } catch (e) {
      if (signal.aborted || !isNetworkError(e)) throw e;
      failure = connectionFailed('submit', e);
    }
    // 507: the worker's disk is full; sending the same upload again only fills it again (the CPU path takes over).
    const diskFull = failure.details.status === 507;
    if (failure.kind !== 'unavailable' || diskFull || attempt >= ctx.submitAttempts || waitMs > ctx.maxRetryAfterMs) throw failure;
    ctx.log.warn({ attempt, reason: failure.reason, waitMs }, 'gpu worker submit failed; retrying');
    await pause(waitMs, signal, until, failure);
  }
}
