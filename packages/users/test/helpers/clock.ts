import type { Clock } from "@kamihi/core";

/** A clock that stands still until the test moves it. */
export interface ManualClock extends Clock {
  /** Moves the time forward by `ms` milliseconds. */
  advance(ms: number): void;
}

/**
 * A {@link ManualClock} starting at the last whole second. It starts near the wall clock on
 * purpose: the store's own TTL (one day on the change log) compares dates with the wall clock.
 */
export function manualClock(start = Math.floor(Date.now() / 1000) * 1000): ManualClock {
  let now = start;
  return Object.assign(() => now, {
    advance(ms: number) {
      now += ms;
    },
  });
}
