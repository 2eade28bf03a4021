#!/usr/bin/env node
// Enforces Kamihi's package structure, for `pnpm lint`:
//
// 1. The one dependency rule: a `@kamihi/*` package depends on `@kamihi/core` and third-party
//    packages only, never on another `@kamihi/*`; `@kamihi/core` depends on no `@kamihi/*` at
//    all. Only `kamihi` and `create-kamihi` (and private workspace projects: examples, e2e,
//    bench) compose several packages. Both what a package declares (dependencies,
//    peerDependencies, optionalDependencies) and what its source imports are checked.
//    devDependencies are allowed: they never reach users, and tests may use `@kamihi/testing`.
//
// 2. No import cycles inside a package: among the files of every package's `src`, the static
//    `import … from "./…"` and `export … from "./…"` must not loop back. `import type` counts
//    too: a type-only loop still means neither file can be read (or moved) without the other,
//    and the usual cause, a shared type declared in the module that composes its users, is
//    fixed by giving the type its own module. Dynamic `import()` does not count: it runs later
//    and is the way to load something lazily on purpose.
//
//   node scripts/check-dependency-rule.mjs [workspace-root]
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import ts from "typescript";

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
  return found.sort();
}

/** What `name`'s manifest and source break of the dependency rule, one line each. */
function dependencyViolations(name, manifest, manifestPath, files) {
  const violations = [];
  const allowed = allowedFor(name);
  for (const field of shippedFields) {
    for (const dep of Object.keys(manifest[field] ?? {})) {
      if (dep.startsWith("@kamihi/") && !allowed.includes(dep)) {
        violations.push(`${name} lists ${dep} in ${field} (${relative(root, manifestPath)})`);
      }
    }
  }
  for (const file of files) {
    const text = readFileSync(file, "utf8");
    for (const match of text.matchAll(importPattern)) {
      const dep = match[1];
      if (!allowed.includes(dep) && dep !== name) {
        const line = text.slice(0, match.index).split("\n").length;
        violations.push(`${name} imports ${dep} (${relative(root, file)}:${line})`);
      }
    }
  }
  return violations;
}

// ---- import cycles -------------------------------------------------------------------------

/**
 * The relative modules `file` imports statically, each with whether the import is type-only.
 * The TypeScript parser (not a regex) reads the statements, so code inside template strings
 * and comments is never mistaken for an import.
 */
function relativeImports(file) {
  const source = ts.createSourceFile(file, readFileSync(file, "utf8"), ts.ScriptTarget.Latest);
  const found = [];
  for (const statement of source.statements) {
    let specifier;
    let typeOnly = false;
    if (ts.isImportDeclaration(statement)) {
      specifier = statement.moduleSpecifier;
      // `import { type A } from` is not type-only: verbatimModuleSyntax keeps `import {} from`.
      typeOnly = statement.importClause?.isTypeOnly === true;
    } else if (ts.isExportDeclaration(statement) && statement.moduleSpecifier !== undefined) {
      specifier = statement.moduleSpecifier;
      typeOnly = statement.isTypeOnly;
    }
    if (specifier !== undefined && ts.isStringLiteral(specifier)) {
      if (specifier.text.startsWith(".")) found.push({ specifier: specifier.text, typeOnly });
    }
  }
  return found;
}

/** The file of `files` that `specifier` (as written in `from`) names, as NodeNext resolves it. */
function resolveImport(from, specifier, files) {
  const path = resolve(dirname(from), specifier);
  const stem = path.replace(/\.[cm]?jsx?$/, "");
  const candidates = [path, `${stem}.ts`, `${stem}.tsx`, `${stem}.mts`, `${stem}.cts`];
  candidates.push(join(path, "index.ts"), join(path, "index.js"));
  return candidates.find((candidate) => files.has(candidate));
}

/** The import graph of `files`: file → (imported file → true when every such import is a type). */
function importGraph(files) {
  const inPackage = new Set(files);
  const graph = new Map();
  for (const file of files) {
    const edges = new Map();
    for (const { specifier, typeOnly } of relativeImports(file)) {
      const target = resolveImport(file, specifier, inPackage);
      if (target === undefined) continue;
      edges.set(target, (edges.get(target) ?? true) && typeOnly);
    }
    graph.set(file, edges);
  }
  return graph;
}

/** The strongly connected components that hold a cycle (Tarjan's algorithm), files sorted. */
function tangles(graph) {
  let next = 0;
  const index = new Map();
  const low = new Map();
  const stack = [];
  const onStack = new Set();
  const found = [];
  const visit = (file) => {
    index.set(file, next);
    low.set(file, next);
    next++;
    stack.push(file);
    onStack.add(file);
    for (const target of graph.get(file).keys()) {
      if (!index.has(target)) {
        visit(target);
        low.set(file, Math.min(low.get(file), low.get(target)));
      } else if (onStack.has(target)) {
        low.set(file, Math.min(low.get(file), index.get(target)));
      }
    }
    if (low.get(file) !== index.get(file)) return;
    const component = [];
    let member;
    do {
      member = stack.pop();
      onStack.delete(member);
      component.push(member);
    } while (member !== file);
    if (component.length > 1 || graph.get(file).has(file)) found.push(component.sort());
  };
  for (const file of graph.keys()) if (!index.has(file)) visit(file);
  return found;
}

/** The shortest loop from the tangle's first file back to itself, as a list of files. */
function shortestLoop(graph, tangle) {
  const members = new Set(tangle);
  const start = tangle[0];
  const cameFrom = new Map();
  const queue = [start];
  while (queue.length > 0) {
    const file = queue.shift();
    for (const target of graph.get(file).keys()) {
      if (!members.has(target)) continue;
      if (target === start) {
        const loop = [file];
        while (loop[0] !== start) loop.unshift(cameFrom.get(loop[0]));
        return [...loop, start];
      }
      if (!cameFrom.has(target)) {
        cameFrom.set(target, file);
        queue.push(target);
      }
    }
  }
  return [start, start]; // unreachable: a tangle always loops back to its first file
}

/** `a.ts → b.ts →(type) a.ts`, paths relative to `src`; `(type)` marks an `import type`. */
function describeLoop(graph, loop, src) {
  let text = relative(src, loop[0]);
  for (let i = 1; i < loop.length; i++) {
    const typeOnly = graph.get(loop[i - 1]).get(loop[i]);
    text += ` ${typeOnly ? "→(type)" : "→"} ${relative(src, loop[i])}`;
  }
  return text;
}

/** The import cycles of one package's `src`: each tangle's files and one loop through it. */
function importCycles(src, sources) {
  const graph = importGraph(sources);
  return tangles(graph).map((tangle) => {
    const loop = shortestLoop(graph, tangle);
    const files = tangle.map((file) => relative(src, file).split(sep).join("/"));
    let text = describeLoop(graph, loop, src).split(sep).join("/");
    if (tangle.length > loop.length - 1) text += ` (one loop of a tangle of: ${files.join(", ")})`;
    return { files, text };
  });
}

// ---- the workspace -------------------------------------------------------------------------

const packagesDir = join(root, "packages");
if (!existsSync(packagesDir)) {
  console.error(`dependency rule: no packages/ folder in ${root}`);
  process.exit(2);
}

const violations = [];
const cycles = [];
let checked = 0;
let packages = 0;
for (const entry of readdirSync(packagesDir, { withFileTypes: true })) {
  const manifestPath = join(packagesDir, entry.name, "package.json");
  if (!entry.isDirectory() || !existsSync(manifestPath)) continue;
  const manifest = JSON.parse(readFileSync(manifestPath, "utf8"));
  const name = typeof manifest.name === "string" ? manifest.name : entry.name;
  const src = join(packagesDir, entry.name, "src");
  const files = sourceFiles(src);
  packages++;
  if (name.startsWith("@kamihi/")) {
    checked++;
    violations.push(...dependencyViolations(name, manifest, manifestPath, files));
  }
  for (const cycle of importCycles(src, files)) {
    cycles.push(`${name} (${relative(root, src)}): ${cycle.text}`);
  }
}

if (violations.length > 0) {
  console.error("dependency rule broken: @kamihi/* packages may depend only on @kamihi/core");
  for (const v of violations) console.error(`  - ${v}`);
  console.error(
    "Move the shared type or port into @kamihi/core and depend on that, or compose the packages in `kamihi`.",
  );
}
if (cycles.length > 0) {
  console.error("import cycles: these files import each other in a loop");
  for (const c of cycles) console.error(`  - ${c}`);
  console.error(
    "Move what both sides need (often a shared type) into a module of its own that imports neither.",
  );
}
if (violations.length > 0 || cycles.length > 0) process.exit(1);

console.log(`dependency rule: ${checked} @kamihi/* packages depend only on @kamihi/core`);
console.log(`import cycles: none in the src of ${packages} packages`);
