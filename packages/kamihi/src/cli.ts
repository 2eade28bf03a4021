#!/usr/bin/env node
/**
 * The `kamihi` command: the commands of `@kamihi/cli`, wired to the project in the current
 * folder (or `--root`) through the bot singleton.
 */
import { createRequire, enableCompileCache } from "node:module";
import type { ProjectHost } from "@kamihi/cli";
import type { LogFn, Logger } from "@kamihi/core";
import type { Kamihi } from "./bot.js";
import { needing } from "./optional-packages.js";

// Node keeps what it compiles (Kamihi, its packages, the project's TypeScript) on disk, so the
// next start skips that work; NODE_DISABLE_COMPILE_CACHE=1 turns it off. Everything else is
// imported after this line, and only by the commands that use it.
enableCompileCache();

const [{ runCli }, { createProjectHost }] = await Promise.all([
  import("@kamihi/cli"),
  import("./host.js"),
]);
/** The bot of this process, with the runtime behind it: loaded by the commands that use it. */
const runtime = async (): Promise<Kamihi> => (await import("./index.js")).bot;

const { version } = createRequire(import.meta.url)("../package.json") as { version: string };

// Management commands print their own output on stdout; the project's warnings go to stderr
// as plain lines. `run` and `dev` log with the bot's own logger (the settings' log.level).
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

/** The first SIGINT or SIGTERM asks for a clean stop; a second one forces the exit. */
function shutdown(): Promise<string> {
  return new Promise((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      resolve(signal);
      process.once(signal, () => {
        process.stderr.write(`${signal} again: exiting without waiting.\n`);
        process.exit(130);
      });
    };
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });
}

const host = createProjectHost(runtime);
const projectHost: ProjectHost = {
  ...host,
  playground: (root, options) =>
    needing(
      "@kamihi/testing",
      "The playground (`kamihi playground`, `kamihi dev --playground`)",
      () => host.playground(root, options),
    ),
  init: (args, cwd) => needing("create-kamihi", "`kamihi init`", () => host.init(args, cwd)),
};

let reported = 0;
const code = await runCli(process.argv.slice(2), {
  version,
  stdout: process.stdout,
  stderr: process.stderr,
  open: async (root) => (await runtime()).configure({ logger }).load({ root }),
  project: {
    host: projectHost,
    shutdown,
    interactive: process.stdin.isTTY === true && process.stdout.isTTY === true,
    exitCode: (value) => {
      reported = value;
    },
  },
});
process.exitCode = code !== 0 ? code : reported;
