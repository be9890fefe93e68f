import { STATUS_CODES } from 'node:http';
import { createRequire } from 'node:module';

/**
 * A fetch for grammY that always hands it a Bot API error object. In front of the Bot API sits a web server that
 * answers some failures itself, as an HTML page: 413 for an upload over 50 MB (nginx's "Request Entity Too
 * Large"), 502/504 while the Bot API is restarting. grammY reads every answer as JSON, fails on the HTML and throws
 * an HttpError — indistinguishable from a dropped connection, so a 413 looked like a network error worth another
 * upload. This turns any non-2xx answer that is not a Bot API error into `{ok:false, error_code:<status>,
 * description:<status text>}`, so grammY raises a GrammyError with the real status.
 */

/** The parts of a fetch response this needs (node-fetch's and Node's own Response both have them). */
interface FetchResponse {
  status: number;
  statusText?: string;
  text(): Promise<string>;
}
type FetchLike = (url: string, init?: unknown) => Promise<FetchResponse>;

/**
 * grammY's own HTTP client on Node (node-fetch 2, a dependency of grammY rather than of this project), so that
 * wrapping it changes nothing else: same keep-alive agents, same streaming uploads, same abort signals (grammY
 * passes an `abort-controller` shim signal that only node-fetch is made for).
 */
function grammyFetch(): FetchLike {
  const fromHere = createRequire(import.meta.url);
  const fromGrammy = createRequire(fromHere.resolve('grammy'));
  const mod = fromGrammy('node-fetch') as FetchLike | { default: FetchLike };
  return typeof mod === 'function' ? mod : mod.default;
}

export function withJsonErrors(base?: FetchLike): FetchLike {
  const fetchImpl = base ?? grammyFetch();
  return async (url, init) => {
    const res = await fetchImpl(url, init);
    if (res.status >= 200 && res.status < 300) return res;
    const body = await res.text();
    return jsonResponse(res.status, isBotApiError(body) ? body : JSON.stringify(errorFor(res)));
  };
}

function isBotApiError(body: string): boolean {
  try {
    const parsed: unknown = JSON.parse(body);
    return typeof parsed === 'object' && parsed !== null && (parsed as { ok?: unknown }).ok === false;
  } catch {
    return false;
  }
}

function errorFor(res: FetchResponse): { ok: false; error_code: number; description: string } {
  const text = STATUS_CODES[res.status] ?? res.statusText ?? 'Error';
  // The Bot API's own wording for 413, so callers can match either the code or the description.
  const description = res.status === 413 ? 'Request Entity Too Large' : text;
  return { ok: false, error_code: res.status, description };
}

function jsonResponse(status: number, body: string): FetchResponse {
  return new Response(body, { status, headers: { 'content-type': 'application/json' } });
}
