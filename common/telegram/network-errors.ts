/**
 * What a failed Bot API request tells us about the server's side of it. grammY wraps whatever its fetch threw in
 * an HttpError (`.error`): node-fetch's FetchError carries the socket's `code`, Node's own fetch puts it on
 * `.cause.code`, and grammY's own timer throws a plain Error.
 */

/**
 * Errors raised before a single byte of the request could reach the server: the connection was never made. Only
 * these make it safe to send a non-idempotent request (sendMessage, sendVideo, …) again. Everything else — a
 * reset or hang-up mid-request, a timeout, an unreadable answer — may come after the server acted on it.
 */
const NOTHING_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

/** The socket-level code of a fetch failure (`ECONNRESET`, `ECONNREFUSED`, …), when there is one. */
export function networkErrorCode(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e && typeof e === 'object' && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && code) return code;
  }
  return undefined;
}

/** True when the request certainly never reached the server (see NOTHING_SENT_CODES). */
export function nothingReachedServer(err: unknown): boolean {
  const code = networkErrorCode(err);
  return code !== undefined && NOTHING_SENT_CODES.has(code);
}

/**
 * A short, loggable name for a fetch failure. Never the message: node-fetch puts the request URL — which holds
 * the bot token — into its error messages.
 */
export function networkErrorLabel(err: unknown): string {
  const code = networkErrorCode(err);
  if (code) return code;
  if (err instanceof Error && /timed out/i.test(err.message)) return 'timeout';
  if (err instanceof Error && err.name) return err.name;
  return 'unknown';
}
