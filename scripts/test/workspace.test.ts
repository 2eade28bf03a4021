import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../..", import.meta.url));
const supportedNode = (
  JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { engines: { node: string } }
).engines.node;
const expected = [
  "admin",
  "cli",
  "config",
  "core",
  "create-kamihi",
  "db",
  "kamihi",
  "templates",
  "testing",
  "tg",
  "users",
];

interface Manifest {
  name: string;
  type?: string;
  sideEffects?: boolean | string[];
  files?: string[];
  engines?: { node?: string };
  exports?: Record<string, unknown>;
  scripts?: Record<string, string>;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
}

const packages = readdirSync(join(root, "packages")).sort();

describe("workspace conventions", () => {
  it("has every package of the architecture", () => {
    assert.deepEqual(packages, expected);
  });

  for (const dir of packages) {
    describe(`packages/${dir}`, () => {
      const base = join(root, "packages", dir);
      const manifest = JSON.parse(readFileSync(join(base, "package.json"), "utf8")) as Manifest;

      it("is named after its folder", () => {
        const scoped = dir === "kamihi" || dir === "create-kamihi" ? dir : `@kamihi/${dir}`;
        assert.equal(manifest.name, scoped);
      });

      it("is an ESM package with types first in its exports and package.json exported", () => {
        assert.equal(manifest.type, "module");
        const main = manifest.exports?.["."] as Record<string, string> | undefined;
        assert.ok(main, "exports['.'] is missing");
        assert.deepEqual(Object.keys(main)[0], "types");
        assert.match(main.types ?? "", /^\.\/dist\/.+\.d\.ts$/);
        assert.match(main.default ?? "", /^\.\/dist\/.+\.js$/);
        assert.equal(manifest.exports?.["./package.json"], "./package.json");
      });

      it("publishes dist (and its asset folders), declares the supported Node.js range and its side effects", () => {
        const files = manifest.files ?? [];
        assert.equal(files[0], "dist");
        // Assets a package reads at run time (the admin's views and stylesheet) sit beside dist.
        for (const folder of files.slice(1)) {
          assert.ok(
            existsSync(join(base, folder)) && !folder.includes("/") && folder !== "src",
            `"${folder}" in files must be an asset folder of the package`,
          );
        }
        assert.equal(manifest.engines?.node, supportedNode);
        const declared = manifest.sideEffects;
        assert.ok(
          typeof declared === "boolean" ||
            (Array.isArray(declared) && declared.every((f) => f.startsWith("./dist/"))),
          "sideEffects must be false, true, or the list of dist files that have them",
        );
      });

      it("builds with the shared tsup config and tests with node:test", () => {
        assert.equal(manifest.scripts?.build, "tsup");
        assert.equal(manifest.scripts?.typecheck, "tsc --noEmit");
        assert.match(manifest.scripts?.test ?? "", /run-tests\.mjs/);
        const tsup = readFileSync(join(base, "tsup.config.ts"), "utf8");
        assert.match(tsup, /packageBuild\(/);
        assert.ok(existsSync(join(base, "test")), "test/ folder is missing");
        assert.ok(existsSync(join(base, "src", "index.ts")), "src/index.ts is missing");
      });

      it("has a README saying what it owns", () => {
        const readme = readFileSync(join(base, "README.md"), "utf8");
        assert.match(readme, new RegExp(`^# ${manifest.name.replace("/", "\\/")}\\n`));
        assert.ok(readme.length > 80, "README is too short to say what the package owns");
      });

      it("uses workspace ranges for internal dependencies", () => {
        for (const field of [manifest.dependencies, manifest.devDependencies]) {
          for (const [dep, range] of Object.entries(field ?? {})) {
            if (dep.startsWith("@kamihi/") || dep === "kamihi") {
              assert.equal(range, "workspace:^", `${dep} should use workspace:^`);
            }
          }
        }
      });
    });
  }
});
