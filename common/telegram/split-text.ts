/**
 * Telegram refuses a message text over 4096 characters ("Bad Request: message is too long"); it counts UTF-16 code
 * units, as JavaScript's `length` does. Lists that grow with data (failed jobs, a user's jobs) are split into
 * several messages instead, at line boundaries, so no entry is cut in the middle unless one line alone is too long.
 */
export const TELEGRAM_TEXT_LIMIT = 4096;

export function splitText(text: string, limit = TELEGRAM_TEXT_LIMIT): string[] {
  if (text.length <= limit) return [text];
  return packBlocks(text.split('\n'), limit);
}

/**
 * Blocks (entries of a list, each one or more lines) joined by newlines into as few messages as fit, a block never
 * split across two messages unless it alone is over the limit.
 */
export function packBlocks(blocks: readonly string[], limit = TELEGRAM_TEXT_LIMIT): string[] {
  if (limit < 2) throw new RangeError('packBlocks: limit must be at least 2');
  const chunks: string[] = [];
  let current = '';
  for (const block of blocks) {
    for (const piece of block.length <= limit ? [block] : splitLong(block, limit)) {
      const joined = current ? `${current}\n${piece}` : piece;
      if (joined.length <= limit) {
        current = joined;
        continue;
      }
      if (current.trim()) chunks.push(current);
      current = piece;
    }
  }
  if (current.trim()) chunks.push(current);
  return chunks;
}

/** A block over the limit: at its line breaks, and a line still over the limit cut into pieces that fit. */
function splitLong(block: string, limit: number): string[] {
  return block.split('\n').flatMap((line) => hardSplit(line, limit));
}

/** A line longer than the limit, in pieces that fit, never splitting a surrogate pair (an emoji). */
function hardSplit(line: string, limit: number): string[] {
  if (line.length <= limit) return [line];
  const pieces: string[] = [];
  let start = 0;
  while (start < line.length) {
    let end = Math.min(start + limit, line.length);
    if (end < line.length && isHighSurrogate(line.charCodeAt(end - 1))) end--;
    pieces.push(line.slice(start, end));
    start = end;
  }
  return pieces;
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

/** Sends `parts` one after another, in order (each as its own message). */
export async function sendParts(parts: readonly string[], send: (text: string) => Promise<unknown>): Promise<void> {
  for (const part of parts) await send(part);
}
