#!/usr/bin/env node
/**
 * The `kamihi` command: the commands of `@kamihi/cli`, wired to the project in the current
 * folder (or `--root`) through the bot singleton.
 */
import { createRequire } from "node:module";
import { runCli } from "@kamihi/cli";
import type { LogFn, Logger } from "@kamihi/core";
import { bot } from "./index.js";

const { version } = createRequire(import.meta.url)("../package.json") as { version: string };

// The command's own output goes to stdout; the project's warnings, as plain lines, to stderr.
const say =
  (label: string): LogFn =>
  (first: unknown, second?: unknown) => {
    const message = typeof first === "string" ? first : typeof second === "string" ? second : "";
    if (message !== "") process.stderr.write(`${label}: ${message}\n`);
  };
const quiet: LogFn = () => {};
const logger: Logger = {
  trace: quiet,
  debug: quiet,
  info: quiet,
  warn: say("warning"),
  error: say("error"),
  fatal: say("error"),
  child: () => logger,
};

const code = await runCli(process.argv.slice(2), {
  version,
  stdout: process.stdout,
  stderr: process.stderr,
  open: async (root) => {
    bot.configure({ logger });
    return bot.load({ root });
  },
});
process.exitCode = code;
