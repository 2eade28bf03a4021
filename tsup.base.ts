import { defineConfig, type Options } from "tsup";

/**
 * The one build every package shares: ESM + `.d.ts` for Node >= 22.18.
 * A package's `tsup.config.ts` is one line: `export default packageBuild()`,
 * or `packageBuild({ entry: [...] })` when it has more than one entry point.
 */
export function packageBuild(overrides: Options = {}) {
  return defineConfig({
    entry: ["src/index.ts"],
    format: ["esm"],
    target: "node22",
    platform: "node",
    dts: true,
    sourcemap: true,
    clean: true,
    splitting: false,
    treeshake: true,
    // Keep `node:` in imports: `node:test` has no unprefixed name.
    removeNodeProtocol: false,
    ...overrides,
  });
}
