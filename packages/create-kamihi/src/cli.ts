#!/usr/bin/env node
/** The `create-kamihi` command: `npm create kamihi`, `pnpm create kamihi`, `npx create-kamihi`. */
import { runCreate } from "./run-create.js";

process.exitCode = await runCreate(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  stdin: process.stdin,
  interactive: process.stdin.isTTY === true && process.stdout.isTTY === true,
  cwd: process.cwd(),
});
