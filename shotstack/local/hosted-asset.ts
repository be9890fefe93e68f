import { createHash } from 'node:crypto';

/**
 * The Serve API id of a render's hosted copy. Shotstack gives the hosted asset its own UUID, distinct from the
 * render id (a client that deleted `/assets/{renderId}` would be wrong there); this renderer derives one from the
 * render id, so it needs no second record and a client cannot get away with confusing the two.
 */
export function hostedAssetId(renderId: string): string {
  const h = createHash('sha256').update(`hosted-asset:${renderId}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}
