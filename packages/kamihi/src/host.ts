import { spawn } from "node:child_process";
import { createRequire, flushCompileCache } from "node:module";
import { basename } from "node:path";
import type { DoctorCheck, ProjectHost, RunningBot, RunningPlayground } from "@kamihi/cli";
import type { LoadedSettings, SettingsInput } from "@kamihi/config";
import {
  isKamihiError,
  KamihiValidationError,
  redactTokens,
  redactUrlCredentials,
  type Settings,
  silentLogger,
} from "@kamihi/core";
import type { Emulator, PlaygroundUser } from "@kamihi/testing";
import type { Kamihi } from "./bot.js";

// Each command imports what it uses when it runs: the web admin, the playground's emulator,
// the store's drivers and the bot's runtime cost nothing to the commands that do not use them.

/** The oldest Node.js Kamihi supports: the `>=major.minor` of its own `engines.node`. */
const NODE_MIN = (() => {
  const { engines } = createRequire(import.meta.url)("../package.json") as {
    engines: { node: string };
  };
  const [, major = "0", minor = "0"] = /^>=(\d+)\.(\d+)/.exec(engines.node) ?? [];
  return [Number(major), Number(minor)] as const;
})();

/** The store as `kamihi run` shows it: no credentials. */
export function describeStore(url: string): string {
  if (url.startsWith("memory:")) {
    const file = new URL(url).searchParams.get("file");
    return file ? `embedded (kept in ${file})` : "embedded (in memory only: data is lost on exit)";
  }
  return `MongoDB ${redactUrlCredentials(url)}`;
}

function describeUpdates(settings: Settings): string {
  if (settings.tg.mode !== "webhook") return "polling";
  const url = settings.tg.webhook.url;
  return `webhook${url === undefined ? "" : ` at ${url}`}, listening on ${settings.tg.webhook.host}:${settings.tg.webhook.port}`;
}

/**
 * Who one can be in the playground: an admin (who may run everything), a user with no roles
 * (who may run public actions and what is granted to them), and a stranger the bot does not
 * know (who meets the registration setting).
 */
export const PLAYGROUND_USERS: readonly PlaygroundUser[] = [
  { id: 10_001, firstName: "Ada", lastName: "Admin", username: "ada", label: "Admin" },
  { id: 10_002, firstName: "Bob", lastName: "User", username: "bob", label: "User" },
  { id: 10_003, firstName: "Eve", lastName: "Stranger", username: "eve", label: "Stranger" },
];
const [PLAYGROUND_ADMIN, PLAYGROUND_USER] = PLAYGROUND_USERS as [PlaygroundUser, PlaygroundUser];
const PLAYGROUND_GROUP = { id: -10_000, title: "Playground group" };
/** The playground's own data file, when the project names no store. */
export const PLAYGROUND_STORE = "memory://?file=.kamihi/playground.json";

/** The emulator behind each playground this host started. */
const emulators = new WeakMap<RunningPlayground, Emulator>();

/** The project folder's name as a bot's name and username: `hello-world` → `Hello World`, `@hello_world_bot`. */
function playgroundBot(root: string): { firstName: string; username: string } {
  const words = basename(root)
    .split(/[^A-Za-z0-9]+/)
    .filter((word) => word !== "");
  if (words.length === 0) return { firstName: "Kamihi Bot", username: "kamihi_playground_bot" };
  const firstName = words.map((word) => word[0]?.toUpperCase() + word.slice(1)).join(" ");
  const slug = words.join("_").toLowerCase().slice(0, 28);
  return { firstName, username: slug.endsWith("bot") ? slug : `${slug}_bot` };
}

/**
 * The runtime behind `kamihi run`, `dev`, `playground`, `config`, `doctor`, `test` and `init`,
 * using the process's bot (the singleton that action modules register on), imported by the
 * commands that need it.
 */
export function createProjectHost(runtime: () => Promise<Kamihi>): ProjectHost {
  return {
    async start(root, options): Promise<RunningBot> {
      const bot = await runtime();
      const emulator =
        options.playground === undefined ? undefined : emulators.get(options.playground);
      if (emulator !== undefined)
        bot.configure({ settings: await playgroundSettings(root, emulator) });
      await bot.start({ root, watch: options.watch, admin: true });
      // What Node compiled for this start is kept now, not only at a clean exit.
      flushCompileCache();
      if (emulator !== undefined) await ensurePlaygroundUser(bot);
      const settings = bot.settings;
      const admin = bot.adminUrl;
      return {
        info: {
          bot: bot.username,
          updates:
            emulator === undefined
              ? describeUpdates(settings)
              : "polling the playground's emulator",
          commands: bot.actions.list().flatMap((action) => action.commands),
          store: describeStore(settings.db.url),
          extra: [
            ...(options.playground === undefined
              ? []
              : [
                  `playground: ${options.playground.url} (no token or network needed; you are the admin "${PLAYGROUND_ADMIN.firstName}")`,
                ]),
            settings.web.enabled
              ? admin === undefined
                ? "admin:    not started (see the error above)"
                : `admin:    ${admin} (admins send /admin to the bot to sign in)`
              : "admin:    off (web.enabled: false)",
          ],
        },
        stop: () => bot.stop(),
        failed: bot.failed(),
      };
    },

    async playground(root, options) {
      const { createEmulator, createPlayground } = await import("@kamihi/testing");
      const emulator = await createEmulator({ bot: playgroundBot(root) });
      try {
        const page = await createPlayground({
          emulator,
          users: PLAYGROUND_USERS,
          group: PLAYGROUND_GROUP,
          port: options.port,
        });
        const running: RunningPlayground = {
          url: page.url,
          stop: async () => {
            await page.close();
            await emulator.stop();
          },
        };
        emulators.set(running, emulator);
        return running;
      } catch (error) {
        await emulator.stop();
        throw error;
      }
    },

    async admin(root) {
      const [bot, { createAdmin }, { webOptions }] = await Promise.all([
        runtime(),
        import("@kamihi/admin"),
        import("./web-admin.js"),
      ]);
      const project = await bot.load({ root });
      const { settings } = project;
      const server = await createAdmin({
        users: project.users,
        actions: project.actions,
        store: project.store,
        logger: project.log,
        ...webOptions(settings),
      });
      try {
        const url = await server.listen();
        return {
          url,
          stop: async () => {
            await server.close();
            await project.close();
          },
        };
      } catch (error) {
        await project.close();
        throw error;
      }
    },

    async config(root) {
      const { formatEffectiveSettings, loadSettings } = await import("@kamihi/config");
      const loaded = await loadSettings({ cwd: root });
      const file =
        loaded.file === undefined ? "no config file (defaults and environment)" : loaded.file;
      const warnings = loaded.warnings.map((w) => `warning: ${w}\n`).join("");
      return `${warnings}# ${file}\n${formatEffectiveSettings(loaded.effective())}\n`;
    },

    doctor: (root) => doctor(root),

    async test(root, files) {
      // tsx from Kamihi's own dependencies: the project needs nothing but `kamihi`.
      const tsx = import.meta.resolve("tsx/esm");
      // A test runner above this one (Kamihi's own tests) would take over the report.
      const { NODE_TEST_CONTEXT: _parent, ...env } = process.env;
      const child = spawn(process.execPath, ["--import", tsx, "--test", ...files], {
        cwd: root,
        env,
        stdio: "inherit",
      });
      return new Promise<number>((resolve) => {
        child.on("error", () => resolve(1));
        child.on("exit", (code, signal) => resolve(code ?? (signal === null ? 1 : 128)));
      });
    },

    async init(args, cwd) {
      const { runCreate } = await import("create-kamihi");
      return runCreate([...args], {
        stdout: process.stdout,
        stderr: process.stderr,
        stdin: process.stdin,
        interactive: process.stdin.isTTY === true && process.stdout.isTTY === true,
        cwd,
      });
    },
  };
}

/**
 * The settings a bot needs to run in the playground: the emulator instead of Telegram, the
 * playground's admin among the admins, and its own embedded store unless the project names one.
 */
async function playgroundSettings(root: string, emulator: Emulator): Promise<SettingsInput> {
  const { loadSettings } = await import("@kamihi/config");
  const telegram: SettingsInput = {
    token: emulator.token,
    tg: { apiRoot: emulator.apiRoot, mode: "polling" },
  };
  const loaded = await loadSettings({ cwd: root, overrides: telegram });
  const named = loaded.sourceOf("db.url").kind !== "default";
  return {
    ...telegram,
    users: { admins: [...new Set([...loaded.settings.users.admins, PLAYGROUND_ADMIN.id])] },
    db: { url: named ? loaded.settings.db.url : PLAYGROUND_STORE },
  };
}

/** The playground's "User": known to the bot, active, with no roles. */
async function ensurePlaygroundUser(bot: Kamihi): Promise<void> {
  const users = bot.users;
  if ((await users.getUser(PLAYGROUND_USER.id)) !== null) return;
  await users
    .createUser({
      telegramId: PLAYGROUND_USER.id,
      firstName: PLAYGROUND_USER.firstName,
      ...(PLAYGROUND_USER.lastName === undefined ? {} : { lastName: PLAYGROUND_USER.lastName }),
      ...(PLAYGROUND_USER.username === undefined ? {} : { username: PLAYGROUND_USER.username }),
    })
    .catch((error: unknown) => {
      // Another process sharing the store created them meanwhile: just as good.
      if (!(isKamihiError(error) && error.code === "KAMIHI_USER_EXISTS")) throw error;
    });
}

/** The checks of `kamihi doctor`, each yielded as soon as it is done. */
async function* doctor(root: string): AsyncGenerator<DoctorCheck> {
  const [major = 0, minor = 0] = process.versions.node.split(".").map(Number);
  const nodeOk = major > NODE_MIN[0] || (major === NODE_MIN[0] && minor >= NODE_MIN[1]);
  yield {
    name: "Node.js",
    status: nodeOk ? "ok" : "fail",
    detail: `${process.versions.node}${nodeOk ? "" : " is too old"}`,
    fix: `install Node.js ${NODE_MIN.join(".")} or newer (for example: nvm install 24)`,
  };

  const { formatSource, loadSettings } = await import("@kamihi/config");
  let loaded: LoadedSettings | undefined;
  try {
    loaded = await loadSettings({ cwd: root });
    yield {
      name: "settings",
      status: loaded.warnings.length === 0 ? "ok" : "warn",
      detail:
        loaded.warnings.length === 0
          ? `valid (${loaded.file ?? "no config file: defaults and environment"})`
          : loaded.warnings.join("; "),
      fix: "remove or rename the variables the warnings name",
    };
  } catch (error) {
    if (!(error instanceof KamihiValidationError)) {
      yield {
        name: "settings",
        status: "fail",
        detail: message(error),
        fix: "fix the file the message names",
      };
      return;
    }
    const token = error.issues.filter((issue) => issue.path === "token");
    const others = error.issues.filter((issue) => issue.path !== "token");
    for (const issue of token) {
      yield {
        name: "token",
        status: "fail",
        detail: `wrong format${issue.source === undefined ? "" : ` (from ${issue.source})`}: a bot token is digits, a colon, then 35 letters, digits, - or _`,
        fix: "copy the token again from @BotFather (/mybots → your bot → API Token) into KAMIHI_TOKEN in .env",
      };
    }
    if (others.length > 0) {
      yield {
        name: "settings",
        status: "fail",
        detail: others
          .map(
            (issue) =>
              `${issue.path}: ${issue.message}${issue.source ? ` (from ${issue.source})` : ""}`,
          )
          .join("; "),
        fix: "fix each value where it comes from; `kamihi config` shows every source",
      };
    }
    // The rest needs valid settings: read them again without the bad values' checks.
    yield { name: "store", status: "warn", detail: "not checked: the settings are invalid" };
    yield { name: "Bot API", status: "warn", detail: "not checked: the settings are invalid" };
    return;
  }
  const settings = loaded.settings;
  const source = loaded.sourceOf("token");

  if (settings.token === undefined) {
    yield {
      name: "token",
      status: "fail",
      detail: "not set",
      fix: "get a token from @BotFather and put KAMIHI_TOKEN=<token> in .env",
    };
  } else {
    yield { name: "token", status: "ok", detail: `set (from ${formatSource(source)})` };
  }

  const [{ createMemoryStore, createStore }, { createBot }] = await Promise.all([
    import("@kamihi/db"),
    import("./bot.js"),
  ]);
  const store = createStore({
    url: settings.db.url,
    name: settings.db.name,
    cwd: root,
    connectTimeoutMs: 3000,
    logger: silentLogger,
  });
  try {
    await store.connect();
    await store.ping();
    yield { name: "store", status: "ok", detail: `${describeStore(settings.db.url)} answers` };
  } catch (error) {
    if (isKamihiError(error, "KAMIHI_DB_LOCKED")) {
      // The embedded store's file is open in the running bot: it is there and works.
      yield { name: "store", status: "ok", detail: message(error).split("\n")[0] ?? "" };
    } else {
      yield {
        name: "store",
        status: "fail",
        detail: message(error).split("\n")[0] ?? "",
        fix: settings.db.url.startsWith("mongodb")
          ? `start MongoDB at ${redactUrlCredentials(settings.db.url)}, fix db.url, or use the embedded store (db.url: memory://?file=.kamihi/data.json)`
          : isKamihiError(error, "KAMIHI_DB_NOT_WRITABLE")
            ? "choose a data file in a folder this user can write (db.url: memory://?file=.kamihi/data.json)"
            : "check that the data file's folder can be written",
      };
    }
  } finally {
    await store.close().catch(() => {});
  }

  if (settings.token === undefined) {
    yield { name: "Bot API", status: "warn", detail: "not checked: no token" };
  } else {
    yield await checkBotApi(settings.tg.apiRoot, settings.token);
  }

  const probe = createBot().configure({ logger: silentLogger, store: createMemoryStore() });
  try {
    const project = await probe.load({ root });
    const names = project.actions.list().map((action) => action.name);
    await project.close();
    yield {
      name: "actions",
      status: names.length === 0 ? "warn" : "ok",
      detail: names.length === 0 ? "none under actions/" : `${names.length}: ${names.join(", ")}`,
      fix: "add one with `kamihi action new <name>`",
    };
  } catch (error) {
    yield {
      name: "actions",
      status: "fail",
      detail: message(error),
      fix: "fix the module the message names",
    };
  }
}

/** `getMe` against `apiRoot`, with a short timeout; the token never appears in the result. */
async function checkBotApi(apiRoot: string, token: string): Promise<DoctorCheck> {
  const where = apiRoot.replace(/\/+$/, "");
  try {
    const response = await fetch(`${where}/bot${token}/getMe`, {
      signal: AbortSignal.timeout(5000),
    });
    const body = (await response.json().catch(() => ({}))) as {
      ok?: boolean;
      result?: { username?: string };
      description?: string;
    };
    if (body.ok === true) {
      return {
        name: "Bot API",
        status: "ok",
        detail: `${where} knows the bot as @${body.result?.username ?? "?"}`,
      };
    }
    if (response.status === 401 || response.status === 404) {
      return {
        name: "Bot API",
        status: "fail",
        detail: `${where} refused the token (${response.status}${body.description ? `: ${redactTokens(body.description)}` : ""})`,
        fix: "the token was revoked or mistyped: get the current one from @BotFather (/token)",
      };
    }
    return {
      name: "Bot API",
      status: "fail",
      detail: `${where} answered ${response.status}`,
      fix: "try again later, or check tg.apiRoot",
    };
  } catch (error) {
    return {
      name: "Bot API",
      status: "fail",
      detail: `cannot reach ${where}: ${redactTokens(message(error))}`,
      fix: "check the network (and proxy), or tg.apiRoot if you run a local Bot API server",
    };
  }
}

function message(error: unknown): string {
  if (isKamihiError(error)) return error.message;
  if (!(error instanceof Error)) return String(error);
  // fetch says "fetch failed"; the reason (refused, not found, timed out) is its cause.
  const cause = error.cause instanceof Error ? `: ${error.cause.message}` : "";
  return `${error.message}${cause}`;
}
