import assert from "node:assert/strict";
import type { Repeat } from "../src/repeat.js";

/**
 * A {@link Repeat} ticked by hand: `tick()` runs one round and resolves once it is done, so a
 * test drives periodic work (lock refreshes, TTL sweeps) without waiting for real time.
 */
export function handTicked() {
  let round: (() => Promise<void>) | undefined;
  let every: number | undefined;
  let stopped = false;
  const repeat: Repeat = (ms, tick) => {
    round = tick;
    every = ms;
    return () => {
      stopped = true;
    };
  };
  return {
    repeat,
    tick(): Promise<void> {
      assert.ok(round !== undefined, "the repeat was started");
      assert.ok(!stopped, "the repeat is not stopped");
      return round();
    },
    /** Whether the repeat was started, and how often it asked to run. */
    get every(): number | undefined {
      return every;
    },
    get stopped(): boolean {
      return stopped;
    },
  };
}
