import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import semver from "semver";
import { parse } from "yaml";

/**
 * The Node.js release lines Kamihi supports: the even (LTS) lines from its floor up to the
 * newest current line. `.ci/run` runs on the newest release of each.
 */
const SUPPORTED_LINES = [22, 24, 26];

const root = fileURLToPath(new URL("../..", import.meta.url));
const readJson = (path: string) =>
  JSON.parse(readFileSync(join(root, path), "utf8")) as {
    name: string;
    private?: boolean;
    engines?: { node?: string };
  };

const supported = readJson("package.json").engines?.node ?? "";

interface Lockfile {
  importers: Record<
    string,
    { dependencies?: Record<string, { version: string }>; devDependencies?: unknown }
  >;
  packages: Record<string, { engines?: { node?: string } }>;
  snapshots: Record<
    string,
    { dependencies?: Record<string, string>; optionalDependencies?: Record<string, string> }
  >;
}

const lock = parse(readFileSync(join(root, "pnpm-lock.yaml"), "utf8")) as Lockfile;

/** `tsup@9.0.0(tsx@4.23.15)` → `tsup@9.0.0`: the lockfile keys packages without peer suffixes. */
const packageKey = (snapshot: string) => snapshot.replace(/\(.*$/, "");

/** Every third-party package a workspace package needs at run time, with who pulled it in. */
function productionGraph(importer: string): Map<string, string> {
  const seen = new Map<string, string>();
  const visit = (key: string, via: string) => {
    if (seen.has(key)) return;
    seen.set(key, via);
    const snapshot = lock.snapshots[key] ?? {};
    for (const [name, version] of Object.entries({
      ...snapshot.dependencies,
      ...snapshot.optionalDependencies,
    })) {
      visit(`${name}@${version}`, `${via} → ${name}`);
    }
  };
  for (const [name, { version }] of Object.entries(lock.importers[importer]?.dependencies ?? {})) {
    if (!version.startsWith("link:")) visit(`${name}@${version}`, name);
  }
  return seen;
}

/** The first version of each supported line that the declared range admits. */
function lowestOfEachLine(range: string): string[] {
  return SUPPORTED_LINES.map((line) => {
    const lowest = semver.minVersion(`${range} ^${line}.0.0`)?.version;
    assert.ok(lowest, `"${range}" admits no Node.js ${line}.x, though ${line} is supported`);
    return lowest;
  });
}

describe("supported Node.js versions", () => {
  it("declares one range everywhere, with no end-of-life line in it", () => {
    assert.ok(semver.validRange(supported), `root engines.node "${supported}" is not a range`);
    assert.equal(semver.minVersion(supported)?.major, SUPPORTED_LINES[0]);
    const manifests = [
      ...readdirSync(join(root, "packages")).map((dir) => `packages/${dir}/package.json`),
      ...readdirSync(join(root, "examples"))
        .filter((dir) => !dir.endsWith(".md"))
        .map((dir) => `examples/${dir}/package.json`),
      "e2e/package.json",
    ];
    for (const path of manifests) {
      assert.equal(readJson(path).engines?.node, supported, `${path} declares another range`);
    }
  });

  for (const dir of readdirSync(join(root, "packages")).sort()) {
    const { name } = readJson(`packages/${dir}/package.json`);
    it(`${name}: every run-time dependency installs without an engine warning on ${SUPPORTED_LINES.map((l) => `${l}.x`).join(", ")}`, () => {
      const versions = lowestOfEachLine(supported);
      const refused: string[] = [];
      for (const [key, via] of productionGraph(`packages/${dir}`)) {
        const wanted = lock.packages[packageKey(key)]?.engines?.node;
        if (wanted === undefined) continue;
        for (const version of versions) {
          if (!semver.satisfies(version, wanted)) {
            refused.push(`${key} (${via}) wants node ${wanted}, so Node.js ${version} warns`);
          }
        }
      }
      assert.deepEqual(
        refused,
        [],
        "raise the floor in every package.json, or keep the older major",
      );
    });
  }

  it("every locked package, tools included, accepts the Node.js running the tests", () => {
    const refused = Object.entries(lock.packages)
      .filter(([, meta]) => meta.engines?.node !== undefined)
      .filter(([, meta]) => !semver.satisfies(process.version, meta.engines?.node ?? "*"))
      .map(([key, meta]) => `${key} wants node ${meta.engines?.node}`);
    assert.deepEqual(refused, [], `not installable without warnings on ${process.version}`);
  });
});
