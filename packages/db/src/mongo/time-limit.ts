/**
 * Calls `expire` once after `ms`, unless the returned function cancels it first. The default
 * is `setTimeout`; tests pass one they fire by hand, so a time limit is tested without waiting.
 */
export type StartTimer = (ms: number, expire: () => void) => () => void;

/** {@link StartTimer} on the wall clock. */
export const wallTimer: StartTimer = (ms, expire) => {
  const timer = setTimeout(expire, ms);
  return () => clearTimeout(timer);
};

/**
 * `promise`, or a rejection once `ms` have passed without an answer: the driver's own timeouts
 * do not cover every step (a server that accepts connections and never answers hangs it).
 */
export function withTimeLimit<T>(
  promise: Promise<T>,
  ms: number,
  what: string,
  timer: StartTimer = wallTimer,
): Promise<T> {
  let cancel = () => {};
  const limit = new Promise<never>((_, reject) => {
    cancel = timer(ms, () => reject(new Error(`no answer to ${what} within ${ms} ms`)));
  });
  return Promise.race([promise, limit]).finally(() => cancel());
}
