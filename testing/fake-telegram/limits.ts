/** The documented limits of the Bot API that the fake enforces. */

export const MB = 1024 * 1024;
export const CLOUD_GET_FILE_LIMIT = 20 * MB;
/**
 * Telegram documents "50 MB" for uploads without saying which megabyte; the exact byte cap is unverified, so the
 * fake takes the stricter reading (10^6) and applies it to the whole request body, as nginx does.
 */
export const CLOUD_UPLOAD_LIMIT = 50_000_000;
/** "10 MB max size" for photos; same stricter reading. */
export const PHOTO_LIMIT = 10_000_000;
export const LOCAL_LIMIT = 2000 * MB;
export const MAX_TEXT = 4096;
export const MAX_CAPTION = 1024;
export const MAX_CALLBACK_DATA_BYTES = 64;
export const MAX_VIDEO_NOTE_LENGTH = 640;
export const MAX_POLL_TIMEOUT_SEC = 50;
/** Clients stop waiting for an answer after about 15 s and the server then refuses it; the exact window is undocumented. */
export const CALLBACK_QUERY_TTL_MS = 15_000;
