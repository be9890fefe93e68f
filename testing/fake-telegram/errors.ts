/** Error answers of the Bot API: JSON {ok:false, error_code, description, parameters?}, and nginx's HTML 413. */

export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    readonly description: string,
    readonly parameters?: { retry_after?: number; migrate_to_chat_id?: number },
    /** Flood control refused it (recorded so tests can count 429s that were the fake's own). */
    readonly rateLimited = false,
  ) {
    super(description);
  }
}

export const badRequest = (what: string) => new ApiFailure(400, `Bad Request: ${what}`);

export const tooManyRequests = (retryAfter: number) =>
  new ApiFailure(429, `Too Many Requests: retry after ${retryAfter}`, { retry_after: retryAfter }, true);

/** The request body was over the cap; answered by the front proxy (HTML), not by the Bot API (JSON). */
export class BodyTooLargeError extends Error {
  constructor(readonly limit: number) {
    super(`request body larger than ${limit} bytes`);
    this.name = 'BodyTooLargeError';
  }
}

export const TEXT = {
  notModified:
    'message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message',
  queryTooOld: 'query is too old and response timeout expired or query ID is invalid',
  wrongFileId: 'wrong file identifier/HTTP URL specified',
  buttonDataInvalid: 'BUTTON_DATA_INVALID',
  // The real server's wording for a non-square note is not documented; the text is the fake's, the refusal is not.
  videoNoteNotSquare: 'VIDEO_NOTE_NOT_SQUARE',
  videoNoteLength: 'wrong video note length',
  textTooLong: 'message is too long',
  captionTooLong: 'message caption is too long',
} as const;

/** What api.telegram.org's nginx sends for a body over client_max_body_size: an HTML page, byte for byte. */
export const NGINX_413_HTML =
  '<html>\r\n<head><title>413 Request Entity Too Large</title></head>\r\n<body>\r\n' +
  '<center><h1>413 Request Entity Too Large</h1></center>\r\n<hr><center>nginx/1.18.0</center>\r\n</body>\r\n</html>\r\n';

export function defaultDescription(status: number, retryAfter = 1): string {
  if (status === 429) return `Too Many Requests: retry after ${retryAfter}`;
  if (status === 401) return 'Unauthorized';
  if (status === 403) return 'Forbidden: bot was blocked by the user';
  if (status >= 500) return 'Internal Server Error';
  return 'Bad Request';
}
