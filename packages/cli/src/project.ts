import { existsSync } from "node:fs";
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { checkCommandName, KamihiError } from "@kamihi/core";
import { type Command, InvalidArgumentError } from "commander";
import type { Output } from "./output.js";
import { watchProject } from "./watch.js";

/** What a started bot reports, for `kamihi run` to print. */
export interface RunInfo {
  /** The bot's username, without `@`. */
  bot: string;
  /** How updates arrive: `polling`, or `webhook` with its URL. */
  updates: string;
  /** Commands, in menu order. */
  commands: readonly string[];
  /** The store, credentials hidden: `memory (.kamihi/data.json)`, `mongodb://host/db`. */
  store: string;
  /** Anything else that started (the web admin), as `name: where`. */
  extra?: readonly string[];
}

/** A bot started by the host; `stop()` finishes in-flight updates and closes what it opened. */
export interface RunningBot {
  info: RunInfo;
  stop(): Promise<void>;
  /**
   * Settles with the error when the bot stops by itself because it cannot go on (its token
   * was revoked): `run` then exits 1, so a supervisor restarts it or someone looks.
   */
  failed?: Promise<Error>;
}

/**
 * The playground: the Bot API emulator and its chat page. It outlives the restarts of
 * `kamihi dev`, so the chats stay on the page while the bot restarts.
 */
export interface RunningPlayground {
  /** The chat page, e.g. `http://127.0.0.1:4243/`. */
  url: string;
  stop(): Promise<void>;
}

/** Default port of the playground's chat page. */
export const DEFAULT_PLAYGROUND_PORT = 4243;

/** One finding of `kamihi doctor`. */
export interface DoctorCheck {
  name: string;
  status: "ok" | "warn" | "fail";
  /** What was found. */
  detail: string;
  /** What to do, when it is not ok. */
  fix?: string;
}

/**
 * What the project commands need from the runtime. `@kamihi/cli` stays free of it; the
 * `kamihi` package implements this with the real bot.
 */
export interface ProjectHost {
  /**
   * Loads settings, connects the store, discovers actions and starts the bot in `root`; with
   * `playground`, against it instead of Telegram.
   */
  start(
    root: string,
    options: { watch: boolean; playground?: RunningPlayground },
  ): Promise<RunningBot>;
  /** Starts the emulator and the chat page of `kamihi playground` for the project in `root`. */
  playground(root: string, options: { port: number }): Promise<RunningPlayground>;
  /** The effective settings with their sources, secrets redacted, as printable text. */
  config(root: string): Promise<string>;
  /** Checks the machine and the project; each check arrives as soon as it is done. */
  doctor(root: string): AsyncIterable<DoctorCheck>;
  /** Runs the project's tests; resolves with the exit code. */
  test(root: string, files: readonly string[]): Promise<number>;
  /** `kamihi init`: the scaffolder, with the rest of the command line. */
  init(args: readonly string[], cwd: string): Promise<number>;
  /** `kamihi admin`: the web admin alone, on the project's store (the bot runs elsewhere). */
  admin(root: string): Promise<{ url: string; stop(): Promise<void> }>;
}

/** How the project commands reach the runtime and the terminal. */
export interface ProjectCommandsContext {
  host: ProjectHost;
  stdout: Output;
  stderr: Output;
  /** Resolves when the process is asked to stop (SIGINT, SIGTERM); tests pass their own. */
  shutdown: () => Promise<string>;
  /** Sets the process exit code of commands that report one (doctor, test, init). */
  exitCode: (code: number) => void;
  /** Attached to a terminal: missing answers are asked for, long steps show a spinner. */
  interactive?: boolean;
}

function rootOf(program: Command): string {
  return program.opts<{ root: string }>().root;
}

function describeRun(info: RunInfo): string {
  const lines = [
    `Bot @${info.bot} is running (${info.updates}).`,
    `  commands: ${info.commands.map((c) => `/${c}`).join(" ") || "(none)"}`,
    `  store:    ${info.store}`,
    ...(info.extra ?? []).map((line) => `  ${line}`),
  ];
  return `${lines.join("\n")}\n`;
}

/** A new action's name: a valid command that is also a valid function name. */
function actionName(value: string): string {
  const problem = checkCommandName(value);
  if (problem !== null) throw new InvalidArgumentError(`${problem}.`);
  if (/^\d/.test(value)) {
    throw new InvalidArgumentError("must not start with a digit: it is also the function's name.");
  }
  return value;
}

/** A TCP port: an integer from 0 to 65535. */
function port(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 65_535) {
    throw new InvalidArgumentError(`expected a port number from 0 to 65535, got "${value}".`);
  }
  return n;
}

/**
 * Registers `run`, `dev`, `playground`, `admin`, `config`, `doctor`, `test`, `init` and
 * `action new` on `program`.
 */
export function registerProjectCommands(program: Command, context: ProjectCommandsContext): void {
  const { host, stdout, stderr } = context;

  program
    .command("run")
    .description("Start the bot of this project (until Ctrl-C or SIGTERM)")
    .action(async () => {
      // Listening before starting: a stop asked for during start-up waits for it, then stops.
      const stopAsked = context.shutdown();
      // The bot's own log lines show the progress (settings, store, Telegram).
      const running = await host.start(rootOf(program), { watch: false });
      stdout.write(describeRun(running.info));
      const ended = await Promise.race([
        stopAsked.then((signal) => ({ signal })),
        ...(running.failed === undefined ? [] : [running.failed.then((error) => ({ error }))]),
      ]);
      if ("error" in ended) {
        await running.stop();
        throw ended.error;
      }
      stdout.write(`${ended.signal}: stopping (finishing the updates in progress)…\n`);
      await running.stop();
      stdout.write("Stopped.\n");
    });

  /** Runs the bot until shutdown, restarting it on every change (one restart at a time). */
  async function develop(root: string, stopAsked: Promise<string>, playground?: RunningPlayground) {
    let running: RunningBot | undefined;
    const start = async () => {
      try {
        running = await host.start(root, {
          watch: true,
          ...(playground === undefined ? {} : { playground }),
        });
        stdout.write(describeRun(running.info));
      } catch (error) {
        running = undefined;
        stderr.write(
          `error: ${(error as Error).message}\nFix it and save: the bot restarts on the next change.\n`,
        );
      }
    };
    await start();
    // One restart at a time; changes during a restart lead to one more restart.
    let restarting: Promise<void> | undefined;
    let again = false;
    const restart = (changed: string) => {
      if (restarting !== undefined) {
        again = true;
        return;
      }
      restarting = (async () => {
        do {
          again = false;
          stdout.write(`${relative(root, changed) || changed} changed: restarting…\n`);
          await running?.stop().catch((error: unknown) => {
            stderr.write(`error: the bot did not stop cleanly: ${(error as Error).message}\n`);
          });
          await start();
        } while (again);
      })().finally(() => {
        restarting = undefined;
      });
    };
    const watcher = await watchProject(root, restart);
    stdout.write("Watching for changes (templates reload without a restart). Ctrl-C stops.\n");
    const signal = await stopAsked;
    stdout.write(`${signal}: stopping…\n`);
    await watcher.close();
    await restarting;
    await running?.stop();
    await playground?.stop();
    stdout.write("Stopped.\n");
  }

  program
    .command("dev")
    .description("Run the bot and restart it when code or settings change (templates reload live)")
    .option("--playground", "chat with the bot in the browser instead of Telegram (no token)")
    .option(
      "--playground-port <port>",
      "port of the playground's chat page",
      port,
      DEFAULT_PLAYGROUND_PORT,
    )
    .action(async (options: { playground?: boolean; playgroundPort: number }) => {
      const stopAsked = context.shutdown();
      const root = rootOf(program);
      const playground =
        options.playground === true
          ? await host.playground(root, { port: options.playgroundPort })
          : undefined;
      await develop(root, stopAsked, playground);
    });

  program
    .command("playground")
    .description("Chat with the bot in the browser: no token, no network (kamihi dev --playground)")
    .option("-p, --port <port>", "port of the chat page", port, DEFAULT_PLAYGROUND_PORT)
    .action(async (options: { port: number }) => {
      const stopAsked = context.shutdown();
      const root = rootOf(program);
      await develop(root, stopAsked, await host.playground(root, { port: options.port }));
    });

  program
    .command("admin")
    .description("Run the web admin alone, on the project's store (the bot runs elsewhere)")
    .action(async () => {
      const stopAsked = context.shutdown();
      const admin = await host.admin(rootOf(program));
      stdout.write(
        `The web admin listens on ${admin.url}. Admins sign in with the link /admin sends them (set web.publicUrl so the bot builds links to here).\n`,
      );
      const signal = await stopAsked;
      stdout.write(`${signal}: stopping…\n`);
      await admin.stop();
      stdout.write("Stopped.\n");
    });

  program
    .command("config")
    .description("Print the effective settings and where each comes from (secrets hidden)")
    .action(async () => {
      stdout.write(await host.config(rootOf(program)));
    });

  program
    .command("doctor")
    .description("Check Node.js, the settings, the token, the store and the Bot API, with fixes")
    .action(async () => {
      let failed = 0;
      for await (const check of host.doctor(rootOf(program))) {
        const mark = check.status === "ok" ? "✓" : check.status === "warn" ? "!" : "✗";
        stdout.write(`${mark} ${check.name}: ${check.detail}\n`);
        if (check.fix !== undefined && check.status !== "ok")
          stdout.write(`    fix: ${check.fix}\n`);
        if (check.status === "fail") failed++;
      }
      stdout.write(
        failed === 0
          ? "Everything looks right.\n"
          : `${failed} problem${failed === 1 ? "" : "s"} to fix.\n`,
      );
      context.exitCode(failed === 0 ? 0 : 1);
    });

  program
    .command("test")
    .description("Run the project's tests (test/**/*.test.ts and tests beside actions)")
    .argument("[files...]", "test files (default: every *.test.ts under test/ and actions/)")
    .action(async (files: string[]) => {
      const root = rootOf(program);
      const chosen = files.length > 0 ? files : await findTests(root);
      if (chosen.length === 0) {
        throw new KamihiError(
          "KAMIHI_CLI_USAGE",
          "No tests found: add files named *.test.ts under test/ or beside your actions.",
        );
      }
      context.exitCode(await host.test(root, chosen));
    });

  program
    .command("init")
    .description("Create a new Kamihi project (the same as npm create kamihi)")
    .argument("[args...]", "the project name and create-kamihi's flags (see kamihi init --help)")
    .allowUnknownOption()
    .helpOption(false)
    .action(async (args: string[]) => {
      // The project folder is made inside --root (the current folder by default).
      context.exitCode(await host.init(args, rootOf(program)));
    });

  const action = program.command("action").description("Work with the project's actions");
  action
    .command("new")
    .description("Create actions/<name>/<name>.ts and its template <name>.md.eta")
    .argument("[name]", "the action's name, also its command (a-z, 0-9, _)", actionName)
    .option("--description <text>", "shown in the command menu and /help")
    .option("--public", "anyone may run it (otherwise admins and users granted it)")
    .action(async (given: string | undefined, opts: { description?: string; public?: boolean }) => {
      const root = rootOf(program);
      const name = given ?? (await askActionName(context));
      const folder = join(root, "actions", name);
      if (existsSync(folder)) {
        throw new KamihiError(
          "KAMIHI_CLI_USAGE",
          `actions/${name} already exists; choose another name, or edit actions/${name}/${name}.ts.`,
        );
      }
      const clash = await commandInUse(root, name);
      if (clash !== undefined) {
        throw new KamihiError(
          "KAMIHI_CLI_USAGE",
          `${clash} already mentions the command "${name}"; choose another name.`,
        );
      }
      await mkdir(folder, { recursive: true });
      const description = (opts.description ?? `What /${name} does`).replace(/[\\"]/g, "\\$&");
      await writeFile(
        join(folder, `${name}.ts`),
        actionSource(name, description, opts.public === true),
        {
          flag: "wx",
        },
      );
      await writeFile(
        join(folder, `${name}.md.eta`),
        `Hello <%= it.name %>! This is /${name}: edit actions/${name}/${name}.md.eta to change what I say.\n`,
        { flag: "wx" },
      );
      stdout.write(
        [
          `Created actions/${name}/${name}.ts and actions/${name}/${name}.md.eta.`,
          opts.public === true
            ? `Anyone may run /${name}.`
            : `Admins may run /${name}; let others with: kamihi permission add ${name} --role <role>`,
          "",
        ].join("\n"),
      );
    });
}

/** Asks for the name on a terminal; elsewhere a missing name is a usage error. */
async function askActionName(context: ProjectCommandsContext): Promise<string> {
  if (context.interactive !== true) {
    throw new KamihiError(
      "KAMIHI_CLI_USAGE",
      "kamihi action new needs a name: kamihi action new <name> (a-z, 0-9 and _, like a command).",
    );
  }
  const { isCancel, text } = await import("@clack/prompts");
  const answer = await text({
    message: "Name of the new action (also its command)",
    placeholder: "greet",
    validate: (value) => {
      try {
        actionName(value ?? "");
        return undefined;
      } catch (error) {
        return (error as Error).message;
      }
    },
  });
  if (isCancel(answer)) {
    throw new KamihiError(
      "KAMIHI_CLI_CANCELLED",
      "Cancelled; nothing was written. Pass the name as an argument to skip the question.",
    );
  }
  return answer;
}

function actionSource(name: string, description: string, isPublic: boolean): string {
  return `import { bot } from "kamihi";

export default bot.action(
  async function ${name}({ user, template }) {
    return template({ name: user.firstName });
  },
  { description: "${description}"${isPublic ? ", public: true" : ""} },
);
`;
}

/** Test files under test/ and actions/, in a stable order. */
async function findTests(root: string): Promise<string[]> {
  const found: string[] = [];
  const walk = async (dir: string) => {
    if (!existsSync(dir)) return;
    for (const entry of (await readdir(dir, { withFileTypes: true })).sort((a, b) =>
      a.name < b.name ? -1 : 1,
    )) {
      if (entry.name.startsWith(".") || entry.name === "node_modules") continue;
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if (/\.test\.(ts|mts|js|mjs)$/.test(entry.name)) found.push(path);
    }
  };
  await walk(join(root, "test"));
  await walk(join(root, "actions"));
  return found;
}

/** An action module that already declares this command (a quick text search, not an import). */
async function commandInUse(root: string, name: string): Promise<string | undefined> {
  const dir = join(root, "actions");
  const pattern = new RegExp(`function\\s+${name}\\s*\\(|["'\`]${name}["'\`]`);
  const walk = async (current: string): Promise<string | undefined> => {
    if (!existsSync(current)) return undefined;
    for (const entry of await readdir(current, { withFileTypes: true })) {
      const path = join(current, entry.name);
      if (entry.isDirectory()) {
        if (entry.name === "node_modules") continue;
        const found = await walk(path);
        if (found !== undefined) return found;
      } else if (/\.(ts|mts|js|mjs)$/.test(entry.name) && !/\.test\./.test(entry.name)) {
        if (pattern.test(await readFile(path, "utf8"))) return relative(root, path);
      }
    }
    return undefined;
  };
  return walk(dir);
}
