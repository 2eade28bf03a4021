#!/usr/bin/env node
// Runs a package's node:test suite: every `*.test.ts|mts|js|mjs` under the test folder
// (default `test/`, fixtures excluded), TypeScript through tsx. Listing the files here keeps
// fixtures out, and a shell glob that matches nothing would be passed on literally.
//
//   node ../../scripts/run-tests.mjs [dir] [-- node --test options]
import { spawn } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { join, relative } from "node:path";

const args = process.argv.slice(2);
const sep = args.indexOf("--");
const own = sep === -1 ? args : args.slice(0, sep);
const passthrough = sep === -1 ? [] : args.slice(sep + 1);
const dir = own[0] ?? "test";

function collect(folder) {
  if (!existsSync(folder)) return [];
  const found = [];
  for (const entry of readdirSync(folder, { withFileTypes: true })) {
    const path = join(folder, entry.name);
    if (entry.isDirectory()) {
      if (entry.name === "fixtures" || entry.name === "node_modules" || entry.name.startsWith("."))
        continue;
      found.push(...collect(path));
    } else if (/\.test\.(ts|mts|js|mjs)$/.test(entry.name)) {
      found.push(path);
    }
  }
  return found.sort();
}

const files = collect(dir);
if (files.length === 0) {
  console.log(`run-tests: no test files under ${relative(process.cwd(), dir) || "."}/`);
  process.exit(0);
}

const child = spawn(
  process.execPath,
  ["--import", "tsx", "--test", "--test-reporter=spec", ...passthrough, ...files],
  { stdio: "inherit" },
);
child.on("exit", (code, signal) => {
  if (signal) process.kill(process.pid, signal);
  else process.exit(code ?? 1);
});
