import type { Api } from 'grammy';

/** grammY types its signal parameter with the `abort-controller` shim; Node's own AbortSignal is what it uses. */
export type GrammySignal = Parameters<Api['getFile']>[1];

export function grammySignal(s: AbortSignal): GrammySignal {
  return s as unknown as GrammySignal;
}
