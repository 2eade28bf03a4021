import { createRequire } from "node:module";

let loaded: typeof import("mongodb") | undefined;

/**
 * The MongoDB driver, loaded on first use: a bot on the embedded store never loads it (it is
 * the largest single part of start-up otherwise). Required rather than imported, so creating a
 * store stays synchronous; the driver is a CommonJS package either way.
 */
export function driver(): typeof import("mongodb") {
  loaded ??= createRequire(import.meta.url)("mongodb") as typeof import("mongodb");
  return loaded;
}
