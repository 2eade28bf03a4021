import { createKamihiVersion, supportedNode } from "../version.js";
import type { ProjectFile, ProjectSpec } from "./project.js";

/**
 * `package.json`: scripts for the `kamihi` command, `kamihi` as the only dependency, and for
 * development only: `@kamihi/testing` (the emulator behind `kamihi playground` and
 * `kamihi/testing`, an optional peer of `kamihi` that a production install leaves out) and
 * TypeScript for type checking (the runtime runs `.ts` files itself).
 */
export function packageJsonFile(spec: ProjectSpec): ProjectFile {
  const manifest = mergeDeep(
    {
      name: spec.name,
      version: "0.1.0",
      private: true,
      type: "module",
      engines: { node: supportedNode },
      scripts: {
        dev: "kamihi dev",
        playground: "kamihi playground",
        start: "kamihi run",
        test: "kamihi test",
        typecheck: "tsc --noEmit",
      },
      dependencies: { kamihi: spec.kamihiVersion },
      devDependencies: {
        "@kamihi/testing": testingVersion(spec.kamihiVersion),
        "@types/node": "^22.18.0",
        typescript: "^6.0.3",
      },
    },
    spec.packageJson ?? {},
  );
  return { path: "package.json", content: `${JSON.stringify(manifest, null, 2)}\n` };
}

/**
 * `@kamihi/testing` is released with `kamihi`: the same version, range or dist-tag. A `kamihi`
 * from elsewhere (`file:`, `link:`, git, `npm:` alias) says nothing about it, so this
 * scaffolder's own version is taken.
 */
function testingVersion(kamihiVersion: string): string {
  return /[:/]/.test(kamihiVersion) ? `^${createKamihiVersion}` : kamihiVersion;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const prototype = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

/** Objects merge key by key (so `scripts` or `pnpm.overrides` can be added to); anything else replaces. */
function mergeDeep(
  base: Record<string, unknown>,
  extra: Record<string, unknown>,
): Record<string, unknown> {
  const merged: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(extra)) {
    const current = merged[key];
    const next = isPlainObject(current) && isPlainObject(value) ? mergeDeep(current, value) : value;
    // defineProperty: a "__proto__" key from parsed JSON stays a plain field.
    Object.defineProperty(merged, key, {
      value: next,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return merged;
}

/**
 * `pnpm-workspace.yaml`, for pnpm projects only: pnpm 10 and later refuse dependencies' build
 * scripts unless they are allowed, and esbuild (behind tsx, which runs the TypeScript actions)
 * installs its binary in one.
 */
export function pnpmSettingsFile(spec: ProjectSpec): ProjectFile | undefined {
  if (spec.packageManager !== "pnpm") return undefined;
  const content = [
    "# pnpm settings. pnpm runs dependencies' build scripts only when they are allowed here;",
    "# esbuild (used by tsx to run the TypeScript actions) installs its binary in one.",
    "allowBuilds:",
    "  esbuild: true",
    "",
  ].join("\n");
  return { path: "pnpm-workspace.yaml", content };
}
