import type { InjectedFault } from './types.js';

/** Faults a test injects, consumed by matching calls in the order they were added. */
export interface Faults {
  add(fault: InjectedFault): void;
  clear(): void;
  /** The first fault with uses left that matches the (lower-case) method; uses it up by one. */
  take(method: string): InjectedFault | null;
}

export function createFaults(): Faults {
  const faults: Array<InjectedFault & { left: number }> = [];
  return {
    add: (fault) => void faults.push({ ...fault, left: fault.times ?? 1 }),
    clear: () => void (faults.length = 0),
    take(method) {
      const f = faults.find((x) => x.left > 0 && (x.method === '*' || x.method.toLowerCase() === method));
      if (!f) return null;
      f.left--;
      return f;
    },
  };
}
