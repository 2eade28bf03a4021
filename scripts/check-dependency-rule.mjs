#!/usr/bin/env node
// Enforces Kamihi's one dependency rule: a `@kamihi/*` package depends on `@kamihi/core` and
// third-party packages only, never on another `@kamihi/*`; `@kamihi/core` depends on no
// `@kamihi/*` at all. Only `kamihi` and `create-kamihi` (and private workspace projects:
// examples, e2e, bench) compose several packages.
//
// Both what a package declares (dependencies, peerDependencies, optionalDependencies) and
// what its source imports are checked. devDependencies are allowed: they never reach users,
// and tests may use `@kamihi/testing`.
//
//   node scripts/check-dependency-rule.mjs [workspace-root]
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";

const root = resolve(process.argv[2] ?? ".");
const shippedFields = ["dependencies", "peerDependencies", "optionalDependencies"];
const importPattern =
  /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+|\brequire\s*\(\s*)["'](@kamihi\/[a-z0-9-]+)(?:\/[^"']*)?["']/g;

function allowedFor(name) {
  if (name === "@kamihi/core") return [];
  return ["@kamihi/core"];
}

function sourceFiles(folder) {
  if (!existsSync(folder)) return [];
  const found = [];
  for (const entry of readdirSync(folder, { withFileTypes: true })) {
    const path = join(folder, entry.name);
    if (entry.isDirectory()) found.push(...sourceFiles(path));
    else if (/\.(ts|mts|cts|js|mjs|cjs|tsx)$/.test(entry.name)) found.push(path);
  }
  return found;
}

const packagesDir = join(root, "packages");
if (!existsSync(packagesDir)) {
  console.error(`dependency rule: no packages/ folder in ${root}`);
  process.exit(2);
}

const violations = [];
let checked = 0;
for (const entry of readdirSync(packagesDir, { withFileTypes: true })) {
  const manifestPath = join(packagesDir, entry.name, "package.json");
  if (!entry.isDirectory() || !existsSync(manifestPath)) continue;
  const manifest = JSON.parse(readFileSync(manifestPath, "utf8"));
  const name = manifest.name;
  if (typeof name !== "string" || !name.startsWith("@kamihi/")) continue;
  checked++;
  const allowed = allowedFor(name);
  for (const field of shippedFields) {
    for (const dep of Object.keys(manifest[field] ?? {})) {
      if (dep.startsWith("@kamihi/") && !allowed.includes(dep)) {
        violations.push(`${name} lists ${dep} in ${field} (${relative(root, manifestPath)})`);
      }
    }
  }
  for (const file of sourceFiles(join(packagesDir, entry.name, "src"))) {
    const text = readFileSync(file, "utf8");
    for (const match of text.matchAll(importPattern)) {
      const dep = match[1];
      if (!allowed.includes(dep) && dep !== name) {
        const line = text.slice(0, match.index).split("\n").length;
        violations.push(`${name} imports ${dep} (${relative(root, file)}:${line})`);
      }
    }
  }
}

if (violations.length > 0) {
  console.error("dependency rule broken: @kamihi/* packages may depend only on @kamihi/core");
  for (const v of violations) console.error(`  - ${v}`);
  console.error(
    "Move the shared type or port into @kamihi/core and depend on that, or compose the packages in `kamihi`.",
  );
  process.exit(1);
}
console.log(`dependency rule: ${checked} @kamihi/* packages depend only on @kamihi/core`);
