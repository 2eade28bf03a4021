import { resolve } from "node:path";
import type { Readable, Writable } from "node:stream";
import { cancel, intro, note, outro } from "@clack/prompts";
import { isKamihiError, KamihiError } from "@kamihi/core";
import { Command, CommanderError, Option } from "commander";
import { type Answers, DEFAULT_NAME } from "./answers.js";
import { nextSteps } from "./next-steps.js";
import { detectPackageManager, isPackageManager, packageManagers } from "./package-managers.js";
import { plainProgress, terminalProgress } from "./progress.js";
import { askMissing, PromptCancelled } from "./prompts.js";
import { checkAdminIdText, checkMongoUrl, checkProjectName, checkToken } from "./rules.js";
import { scaffold } from "./scaffold.js";
import { createKamihiVersion } from "./version.js";

/** The terminal `create-kamihi` runs in. */
export interface CreateIO {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  stdin: NodeJS.ReadableStream;
  /** A person at a terminal: ask for what the flags left out (unless `--yes`). */
  interactive: boolean;
  /** Where the project folder is created, unless `--dir` says otherwise. */
  cwd: string;
}

/** Exit codes: 0 created, 1 failed or cancelled (the cause is printed), 2 wrong usage. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

interface Flags {
  token?: string;
  storage?: string;
  admin?: string;
  pm?: string;
  install?: boolean;
  git?: boolean;
  yes?: boolean;
  dir?: string;
}

/** A flag or argument the command cannot use: `error: <message>`, exit 2. */
function usageError(option: string, message: string): KamihiError {
  return new KamihiError("KAMIHI_CREATE_INVALID_OPTION", message, { details: { option } });
}

/**
 * The `create-kamihi` command (`npm create kamihi`, `pnpm create kamihi`): reads the flags,
 * asks for the rest on a terminal, creates the project and says what to do next. Resolves
 * with the exit code; the process is never exited from here.
 */
export async function runCreate(argv: string[], io: CreateIO): Promise<number> {
  const program = createProgram(io);
  try {
    program.parse(argv, { from: "user" });
  } catch (error) {
    // Help and version are "errors" to commander, with exit code 0; it printed them already.
    if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    throw error;
  }
  const flags = program.opts<Flags>();
  const parent = resolve(io.cwd, flags.dir ?? ".");

  let given: Partial<Answers>;
  try {
    given = readArguments(program.args[0], flags);
  } catch (error) {
    if (!isKamihiError(error, "KAMIHI_CREATE_INVALID_OPTION")) throw error;
    io.stderr.write(`error: ${error.message}\n`);
    return EXIT.usage;
  }

  const interactive = io.interactive && flags.yes !== true;
  const output = io.stdout as Writable;
  const packageManager = detectPackageManager();
  let answers: Answers;
  if (interactive) {
    intro("Create a Kamihi bot", { output });
    try {
      answers = await askMissing(given, {
        input: io.stdin as Readable,
        output,
        parent,
        packageManager,
      });
    } catch (error) {
      if (!(error instanceof PromptCancelled)) throw error;
      cancel("Cancelled.", { output });
      return EXIT.failed;
    }
  } else {
    answers = {
      storage: "embedded",
      packageManager,
      install: true,
      git: true,
      ...given,
      name: given.name ?? DEFAULT_NAME,
    };
  }

  try {
    const result = await scaffold(
      { ...answers, directory: parent },
      interactive ? terminalProgress(output) : plainProgress(io.stdout),
    );
    const steps = nextSteps(answers, result.directory, io.cwd);
    if (interactive) {
      note(steps.join("\n"), "Next steps", { output });
      outro(`${answers.name} is ready. Happy building!`, { output });
    } else {
      io.stdout.write(`\nNext steps:\n${steps.map((step) => `  ${step}\n`).join("")}`);
    }
    return EXIT.ok;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    io.stderr.write(`error: ${message}\n`);
    return isKamihiError(error, "KAMIHI_CREATE_INVALID_OPTION") ? EXIT.usage : EXIT.failed;
  }
}

/** The flags as answers, each checked; only what was given is set. */
function readArguments(name: string | undefined, flags: Flags): Partial<Answers> {
  const given: Partial<Answers> = {};
  if (name !== undefined) {
    const problem = checkProjectName(name);
    if (problem !== undefined) throw usageError("name", problem);
    given.name = name;
  }
  if (flags.token !== undefined) {
    const problem = checkToken(flags.token);
    if (problem !== undefined) throw usageError("--token", `--token: ${problem}`);
    given.token = flags.token;
  }
  if (flags.storage !== undefined) {
    if (flags.storage === "embedded") {
      given.storage = "embedded";
    } else {
      const problem = /^mongodb(\+srv)?:/i.test(flags.storage)
        ? checkMongoUrl(flags.storage)
        : `expected "embedded" or a MongoDB URL (mongodb://… or mongodb+srv://…), got ${JSON.stringify(flags.storage.split(":")[0])}.`;
      if (problem !== undefined) throw usageError("--storage", `--storage: ${problem}`);
      given.storage = { mongodbUrl: flags.storage };
    }
  }
  if (flags.admin !== undefined) {
    const problem = checkAdminIdText(flags.admin);
    if (problem !== undefined) throw usageError("--admin", `--admin: ${problem}`);
    given.adminId = Number(flags.admin.trim());
  }
  if (flags.pm !== undefined) {
    if (!isPackageManager(flags.pm)) {
      throw usageError(
        "--pm",
        `--pm: expected one of ${packageManagers.join(", ")}, got ${JSON.stringify(flags.pm)}.`,
      );
    }
    given.packageManager = flags.pm;
  }
  if (flags.install !== undefined) given.install = flags.install;
  if (flags.git !== undefined) given.git = flags.git;
  return given;
}

function createProgram(io: CreateIO): Command {
  return new Command("create-kamihi")
    .description("Create a new Kamihi bot: a Telegram bot project ready to run, test and deploy.")
    .argument("[name]", `the project's folder and package name (default: ${DEFAULT_NAME})`)
    .option("--token <token>", "the bot token from @BotFather (written to .env only)")
    .option(
      "--storage <storage>",
      'where the bot keeps its data: "embedded" (default, no database) or a MongoDB URL (written to .env)',
    )
    .option("--admin <telegramId>", "the first admin's Telegram user id")
    .addOption(
      new Option(
        "--pm <packageManager>",
        "the package manager (default: the one running this)",
      ).choices(packageManagers),
    )
    .option("--install", "install dependencies (default)")
    .option("--no-install", "do not install dependencies")
    .option("--git", "initialize a git repository with a first commit (default)")
    .option("--no-git", "do not initialize a git repository")
    .option("-y, --yes", "ask nothing: take the defaults for what the flags leave out")
    .option("--dir <parent>", "the folder to create the project in (default: the current folder)")
    .version(createKamihiVersion, "-v, --version", "print the version of create-kamihi")
    .helpOption("-h, --help", "show this help")
    .addHelpText(
      "after",
      `
Without a terminal, or with --yes, nothing is asked and the defaults apply: storage embedded,
the package manager that runs this command, install and git on.

Examples:
  npm create kamihi@latest
  pnpm create kamihi my-bot --token 123456789:AAE… --admin 123456789
  npx create-kamihi my-bot --yes --storage mongodb://localhost:27017 --pm pnpm --no-git
`,
    )
    .showHelpAfterError("(run with --help for usage)")
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
    })
    .exitOverride();
}
