import { spawn } from "node:child_process";
import { createAdmin } from "@kamihi/admin";
import type { DoctorCheck, ProjectHost, RunningBot } from "@kamihi/cli";
import {
  formatEffectiveSettings,
  formatSource,
  type LoadedSettings,
  loadSettings,
} from "@kamihi/config";
import {
  isKamihiError,
  KamihiValidationError,
  redactTokens,
  redactUrlCredentials,
  type Settings,
  silentLogger,
} from "@kamihi/core";
import { createMemoryStore, createStore } from "@kamihi/db";
import { createBot, type Kamihi, webOptions } from "./bot.js";

/** Node.js versions Kamihi supports. */
const NODE_MIN = [20, 19] as const;

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
 * The runtime behind `kamihi run`, `dev`, `config`, `doctor`, `test` and `init`, using the
 * process's bot (the singleton that action modules register on).
 */
export function createProjectHost(bot: Kamihi): ProjectHost {
  return {
    async start(root, options): Promise<RunningBot> {
      await bot.start({ root, watch: options.watch, admin: true });
      const settings = bot.settings;
      const admin = bot.adminUrl;
      return {
        info: {
          bot: bot.username,
          updates: describeUpdates(settings),
          commands: bot.actions.list().flatMap((action) => action.commands),
          store: describeStore(settings.db.url),
          extra: [
            settings.web.enabled
              ? admin === undefined
                ? "admin:    not started (see the error above)"
                : `admin:    ${admin} (admins send /admin to the bot to sign in)`
              : "admin:    off (web.enabled: false)",
          ],
        },
        stop: () => bot.stop(),
      };
    },

    async admin(root) {
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

/** The checks of `kamihi doctor`, each yielded as soon as it is done. */
async function* doctor(root: string): AsyncGenerator<DoctorCheck> {
  const [major = 0, minor = 0] = process.versions.node.split(".").map(Number);
  const nodeOk = major > NODE_MIN[0] || (major === NODE_MIN[0] && minor >= NODE_MIN[1]);
  yield {
    name: "Node.js",
    status: nodeOk ? "ok" : "fail",
    detail: `${process.versions.node}${nodeOk ? "" : " is too old"}`,
    fix: `install Node.js ${NODE_MIN.join(".")} or newer (for example: nvm install 20)`,
  };

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
    yield {
      name: "store",
      status: "fail",
      detail: message(error).split("\n")[0] ?? "",
      fix: settings.db.url.startsWith("mongodb")
        ? `start MongoDB at ${redactUrlCredentials(settings.db.url)}, fix db.url, or use the embedded store (db.url: memory://?file=.kamihi/data.json)`
        : "check that the data file's folder can be written",
    };
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
