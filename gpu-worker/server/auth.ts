import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { TOKEN_HEADER } from './api.js';

/**
 * Checks the worker token in constant time. It may come as `Authorization: Bearer <token>` or, behind a gateway
 * that keeps Authorization for its own key (RunPod's load balancer), in `X-GPU-Worker-Token: <token>`.
 * Both sides are hashed first so each compare runs over equal-length buffers: timingSafeEqual alone would throw on
 * a length mismatch and so leak the length. Both headers are always compared, so timing says nothing about which.
 */
export function createTokenCheck(token: string): (headers: IncomingHttpHeaders) => boolean {
  const expected = digest(token);
  const matches = (presented: string | null) => timingSafeEqual(expected, digest(presented ?? '')) && presented !== null;
  return (headers) => {
    const bearer = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(headers.authorization ?? '')?.[1] ?? null;
    const raw = headers[TOKEN_HEADER];
    const custom = typeof raw === 'string' && raw !== '' ? raw.trim() : null;
    const viaBearer = matches(bearer);
    const viaHeader = matches(custom);
    return viaBearer || viaHeader;
  };
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}
