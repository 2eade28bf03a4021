import { isKamihiError } from "@kamihi/core";
import { Command, CommanderError } from "commander";
import { type AccessCommandsContext, registerAccessCommands } from "./access.js";
import type { Output } from "./output.js";
import { type ProjectCommandsContext, registerProjectCommands } from "./project.js";

/** How the `kamihi` command reaches the project and the terminal. */
export interface CliOptions extends AccessCommandsContext {
  stderr: Output;
  /** The version `kamihi version` prints. */
  version: string;
  /** The runtime behind `run`, `dev`, `config`, `doctor`, `test` and `init`; without it they are absent. */
  project?: Omit<ProjectCommandsContext, "stdout" | "stderr">;
  /** More commands (run, dev…) the host package adds. */
  extend?: (program: Command) => void;
}

/** Exit codes: 0 done, 1 failed (the cause is printed), 2 wrong usage. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

/** The `kamihi` command with every subcommand, writing to the given outputs. */
export function createProgram(options: CliOptions): Command {
  const program = new Command("kamihi")
    .description("Kamihi: build, run and manage Telegram bots")
    .showHelpAfterError("(run with --help for usage)")
    .configureOutput({
      writeOut: (text) => options.stdout.write(text),
      writeErr: (text) => options.stderr.write(text),
    })
    .option("-C, --root <dir>", "the project's folder", process.cwd())
    .exitOverride();
  program
    .command("version")
    .description("Print the version of Kamihi")
    .action(() => {
      options.stdout.write(`kamihi ${options.version}\n`);
    });
  if (options.project !== undefined) {
    registerProjectCommands(program, {
      ...options.project,
      stdout: options.stdout,
      stderr: options.stderr,
    });
  }
  registerAccessCommands(program, options);
  options.extend?.(program);
  // Every subcommand reports errors like the program does, instead of exiting the process.
  const inherit = (command: Command) => {
    for (const sub of command.commands) {
      sub.exitOverride().configureOutput({
        writeOut: (text) => options.stdout.write(text),
        writeErr: (text) => options.stderr.write(text),
      });
      sub.showHelpAfterError("(run with --help for usage)");
      inherit(sub);
    }
  };
  inherit(program);
  return program;
}

/**
 * Runs the `kamihi` command line (without the `node kamihi` part) and resolves with the exit
 * code; the process is never exited from here. Failures print one cause to `stderr`.
 */
export async function runCli(argv: readonly string[], options: CliOptions): Promise<number> {
  const program = createProgram(options);
  if (argv.length === 0) {
    program.outputHelp();
    return EXIT.ok;
  }
  try {
    await program.parseAsync([...argv], { from: "user" });
    return EXIT.ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version are "errors" to commander; its message was printed already.
      // Help asked for exits 0; help shown because something was missing exits as usage.
      return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    if (isKamihiError(error, "KAMIHI_CLI_USAGE")) {
      options.stderr.write(`error: ${error.message}\n`);
      return EXIT.usage;
    }
    const message = error instanceof Error ? error.message : String(error);
    options.stderr.write(`error: ${message}\n`);
    return EXIT.failed;
  }
}
