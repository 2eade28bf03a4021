import { createRequire } from "node:module";

const manifest = createRequire(import.meta.url)("../package.json") as {
  version: string;
  engines: { node: string };
};

/** This package's version: the default range of the generated project's `kamihi` dependency. */
export const createKamihiVersion: string = manifest.version;

/** The Node.js versions Kamihi supports (this package's `engines.node`), for generated projects. */
export const supportedNode: string = manifest.engines.node;
