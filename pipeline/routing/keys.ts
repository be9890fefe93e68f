import type { EngineChoice, OverlayPath } from '../contract.js';

/**
 * The router's Redis keys, under `<prefix>:bubblecast:routing:` beside the pipeline's own (keys.ts). Every one
 * expires: measured fps after ROUTING_FPS_TTL_SEC without a new measurement, error buckets an hour after they
 * leave the window.
 */
export function routingKeys(prefix: string) {
  const base = `${prefix}:bubblecast:routing`;
  return {
    /** Hash {fps, n, at}: the rolling fps of one engine on one CPU host class or one GPU worker host. */
    fps: (side: OverlayPath, who: string, engine: EngineChoice) => `${base}:fps:${side}:${who}:${engine}`,
    /** Hash {sumPct, n}: absolute % errors of the estimates of one path that finished in one UTC hour. */
    error: (path: OverlayPath, hour: number) => `${base}:error:${path}:${hour}`,
  };
}
