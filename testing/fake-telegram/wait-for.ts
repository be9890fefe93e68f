import type { EventEmitter } from 'node:events';

/** Resolves with pred's first truthy value, re-checked on every 'changed' event and every 200 ms. */
export function waitFor<T>(
  events: EventEmitter,
  pred: () => T | null | undefined | false,
  o: { timeoutMs?: number; what?: string } = {},
): Promise<T> {
  const timeoutMs = o.timeoutMs ?? 10_000;
  return new Promise<T>((resolve, reject) => {
    const check = () => {
      let v: T | null | undefined | false;
      try {
        v = pred();
      } catch (e) {
        done();
        reject(e);
        return;
      }
      if (v) {
        done();
        resolve(v);
      }
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`fake telegram: timed out after ${timeoutMs} ms waiting for ${o.what ?? 'a condition'}`));
    }, timeoutMs);
    // Conditions may also depend on state outside the fake (files on disk, Redis): re-check now and then.
    const ticker = setInterval(check, 200);
    function done() {
      clearTimeout(timer);
      clearInterval(ticker);
      events.off('changed', check);
    }
    events.on('changed', check);
    check();
  });
}
