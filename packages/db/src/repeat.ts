/**
 * Calls `tick` every `ms` until the returned function is called; `tick`'s promise is the work
 * of that round. The default runs on the wall clock; tests pass one they tick by hand and
 * await, so no test waits for real time to pass.
 */
export type Repeat = (ms: number, tick: () => Promise<void>) => () => void;

/** {@link Repeat} on a wall-clock interval that does not keep the process alive. */
export const repeatEvery: Repeat = (ms, tick) => {
  const timer = setInterval(() => void tick(), ms);
  timer.unref();
  return () => clearInterval(timer);
};
