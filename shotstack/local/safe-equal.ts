import { timingSafeEqual } from 'node:crypto';

/**
 * Compares a secret a client sent (an upload signature, an API key) with the expected one in time that does not
 * depend on where they differ: `===` returns at the first differing character, so a patient client can time its
 * way to a valid signature one character at a time. Unequal lengths answer false at once (timingSafeEqual needs
 * equal lengths); that only tells the length, which is public anyway (a hex HMAC-SHA256 is always 64 characters).
 */
export function safeEqual(given: string, expected: string): boolean {
  const a = Buffer.from(given, 'utf8');
  const b = Buffer.from(expected, 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
}
