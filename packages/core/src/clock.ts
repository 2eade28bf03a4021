/**
 * Where a piece reads the time: milliseconds since the epoch, as `Date.now()` gives them.
 * Everything that expires or waits (conversations, caches, sessions, flood limits) takes one,
 * so tests move time forward instead of sleeping.
 */
export type Clock = () => number;

/** The wall clock. */
export const systemClock: Clock = () => Date.now();
