import { createRequire } from "node:module";

/** This package's version: the default range of the generated project's `kamihi` dependency. */
export const createKamihiVersion: string = (
  createRequire(import.meta.url)("../package.json") as { version: string }
).version;
