import { join, resolve } from "node:path";
import type { AdminServer } from "@kamihi/admin";
import { loadSettings, type SettingsInput } from "@kamihi/config";
import {
  type ActionRegistry,
  flushLogger,
  isKamihiError,
  KamihiError,
  type Logger,
  type Settings,
  type Store,
  summarizeUpdate,
  type Update,
  type UserService,
} from "@kamihi/core";
import type { Context, Middleware } from "telegraf";
import { type ActionHandler, type ActionOptions, Registry } from "./actions.js";
import { ChatQueue } from "./chat-queue.js";
import {
  type BotParts,
  compose,
  composeLogger,
  composeProject,
  type Project,
  type Runtime,
} from "./compose.js";
import { createLoader, discoverActions, loadUserModel } from "./discover.js";
import { Intake } from "./intake.js";
import { createPipeline } from "./pipeline/index.js";
import type { Answers, Questions } from "./questions.js";
import { button, location, media, message } from "./responses.js";
import { loadWebAdmin, startWebAdmin } from "./web-admin.js";

export type { BotParts } from "./compose.js";

/** A project loaded by {@link Kamihi.load}: everything but Telegram. */
export interface LoadedProject {
  root: string;
  settings: Settings;
  actions: ActionRegistry;
  store: Store;
  users: UserService;
  log: Logger;
  /** Closes what the bot opened for it (the store, the user service). */
  close(): Promise<void>;
}

/** Options of {@link Kamihi.start}. */
export interface StartOptions {
  /** The project root: config file, `.env`, `actions/`, `templates/`. Default: `process.cwd()`. */
  root?: string;
  /** Import every module under `actions/` first. Default: `true`. */
  discover?: boolean;
  /** The folder of actions, relative to `root`. Default: `actions`. */
  actionsDir?: string;
  /** Reload templates when they change (dev mode). Default: `false`. */
  watch?: boolean;
  /** Start the web admin beside the bot when `web.enabled` (what `kamihi run` does). Default: `false`. */
  admin?: boolean;
}

/** A started bot: its runtime, and the web admin when it runs beside it. */
interface Running {
  runtime: Runtime;
  admin: AdminServer | undefined;
}

/** Where discovery points `bot.action()` while it imports action modules. */
const DISCOVERING = Symbol.for("kamihi.discovering");
const DISCOVERY_LOCK = Symbol.for("kamihi.discovery-lock");
type GlobalWithRegistry = typeof globalThis & {
  [DISCOVERING]?: Registry;
  [DISCOVERY_LOCK]?: Promise<void>;
};

/**
 * A Kamihi bot: register actions, optionally swap pieces, start. Most projects use the
 * singleton `bot`; tests create their own with `createBot()`.
 */
export class Kamihi {
  /** Actions registered in code (outside discovery); every start begins from these. */
  private readonly declared = new Registry();
  /** The actions of the current (or last) start: the declared ones plus the discovered. */
  private registry: Registry = this.declared;
  private starting: Promise<void> | undefined;
  private parts: BotParts = {};
  private readonly middlewares: Array<Middleware<Context>> = [];
  private running: Running | undefined;
  /** Settles when a running bot stops by itself (the transport cannot go on). */
  private failure: { promise: Promise<Error>; fail: (error: Error) => void } = failureSignal();

  /** Registers an action; returns the handler so `export default bot.action(...)` works. */
  action<Q extends Questions = Record<never, never>>(
    handler: ActionHandler<Answers<Q>>,
    options?: ActionOptions<Q>,
  ): ActionHandler<Answers<Q>> {
    const target = (globalThis as GlobalWithRegistry)[DISCOVERING] ?? this.declared;
    target.add(handler as ActionHandler<never>, options);
    return handler;
  }

  /**
   * Swaps pieces before start: each an instance, or a factory given the settings (see
   * {@link BotParts}); `settings` overrides merge key by key over earlier calls.
   */
  configure(parts: BotParts): this {
    this.refuseWhileRunning("bot.configure()");
    const settings =
      parts.settings === undefined
        ? this.parts.settings
        : mergeSettings(this.parts.settings ?? {}, parts.settings);
    this.parts = { ...this.parts, ...parts, ...(settings === undefined ? {} : { settings }) };
    return this;
  }

  /**
   * Adds raw Telegraf middleware, run by the transport around Kamihi's handling of each
   * update, inside its chat's turn (not calling `next` stops the update there).
   */
  use(...middleware: Array<Middleware<Context>>): this {
    this.refuseWhileRunning("bot.use()");
    this.middlewares.push(...middleware);
    return this;
  }

  /** The registered actions, read-only. */
  get actions(): ActionRegistry {
    return this.registry;
  }

  /** The running bot's settings (after start). */
  get settings(): Settings {
    return this.runtime("The settings are loaded by bot.start().").settings;
  }

  /** The bot's Telegram username, without `@` (after start). */
  get username(): string {
    return this.runtime("The bot's username is known after bot.start().").me.username;
  }

  /** The running bot's users, roles and permissions (after start). */
  get users(): UserService {
    return this.runtime("The user service is opened by bot.start().").users;
  }

  /** Where the web admin listens, when it runs beside the bot. */
  get adminUrl(): string | undefined {
    return this.running?.admin?.url;
  }

  /** A photo response: `return bot.photo("chart.png", { caption: "Today" })`. */
  readonly photo = media("photo");
  readonly document = media("document");
  readonly video = media("video");
  readonly audio = media("audio");
  readonly voice = media("voice");
  readonly animation = media("animation");
  /** An inline button that runs a command when pressed: `bot.button("Buy 3", "/buy 3")`. */
  readonly button = button;
  /** A Markdown message with inline buttons under it, row by row. */
  readonly message = message;
  /** A location response. */
  readonly location = location;

  /**
   * Loads the settings, discovers actions, composes the runtime (store, users, templates,
   * Telegram), publishes the command menu and starts receiving updates.
   */
  async start(options: StartOptions = {}): Promise<void> {
    if (this.running || this.starting) {
      throw new KamihiError(
        "KAMIHI_BOT_RUNNING",
        "The bot is already running (or starting); stop it first.",
      );
    }
    this.starting = this.startNow(options);
    try {
      await this.starting;
    } finally {
      this.starting = undefined;
    }
  }

  /**
   * Loads the project without connecting to Telegram: settings, actions, store and users. The
   * `kamihi` command uses it for its user, role and permission commands; close what it opened
   * with `close()`.
   */
  async load(options: Omit<StartOptions, "watch"> = {}): Promise<LoadedProject> {
    if (this.running || this.starting) {
      throw new KamihiError(
        "KAMIHI_BOT_RUNNING",
        "The bot is running; load() is for tools that do not start it.",
      );
    }
    const { root, settings, log, userSchema } = await this.prepare(options);
    const project: Project = await composeProject(settings, this.parts, {
      root,
      log,
      registry: this.registry,
      userSchema,
    });
    return {
      root,
      settings,
      actions: project.registry,
      store: project.store,
      users: project.users,
      log,
      close: () => project.disposers.close(log),
    };
  }

  /** Settings, logger and discovery: what both start() and load() do first. */
  private async prepare(options: Omit<StartOptions, "watch">) {
    // Each start discovers afresh into its own registry, so a restart (or a retry after a
    // failed start) never meets the actions of the previous one.
    const registry = this.declared.copy();
    this.registry = registry;
    const root = resolve(options.root ?? process.cwd());
    const loaded = await loadSettings({
      cwd: root,
      ...(this.parts.settings ? { overrides: this.parts.settings } : {}),
    });
    const settings = loaded.settings;
    const log = composeLogger(settings, this.parts.logger);
    for (const warning of loaded.warnings) log.warn(warning);
    let userSchema = this.parts.userSchema;
    if (options.discover !== false) {
      userSchema ??= await discover(registry, root, options.actionsDir ?? "actions", log);
    }
    return { root, settings, log, userSchema };
  }

  private async startNow(options: StartOptions): Promise<void> {
    const { root, settings, log, userSchema } = await this.prepare(options);
    // The web admin's modules load while the store and Telegram start (see startAdmin).
    if (options.admin === true && settings.web.enabled) loadWebAdmin().catch(() => {});
    const runtime = await compose(settings, this.parts, {
      root,
      log,
      registry: this.registry,
      userSchema,
      watch: options.watch ?? false,
      middlewares: this.middlewares,
    });
    const running: Running = { runtime, admin: undefined };
    const { transport, users, disposers } = runtime;
    this.failure = failureSignal();
    try {
      // Before updates flow: /admin knows where the admin is from the first update on.
      if (options.admin === true) {
        running.admin = await startWebAdmin(runtime, () => this.running === running);
      }
      const handle = createPipeline(runtime);
      const around = transport.around?.bind(transport);
      const queue = new ChatQueue();
      const intake = new Intake({
        store: runtime.store,
        log,
        bot: runtime.me.id,
        settings: settings.updates,
        queue,
        keyOf: chatKey,
        // Telegram serves one poller per token; webhooks may be shared by many instances.
        exclusive: runtime.defaultTransport && settings.tg.mode === "polling",
        // The transport's raw middleware (bot.use) runs around each update, in its chat's turn.
        handle:
          around === undefined
            ? handle
            : (update, raw) =>
                raw === undefined
                  ? handle(update, raw)
                  : around({ raw }, () => handle(update, raw)),
        ...(transport.contextFor === undefined
          ? {}
          : { contextFor: transport.contextFor.bind(transport) }),
      });
      // No more updates are taken; those in progress get updates.drainSeconds to finish.
      disposers.defer("receiving updates", async () => {
        intake.close();
        try {
          await runtime.stopTransport();
        } finally {
          // Drained and released even when the transport stops badly: the store closes next.
          await intake.stop(() => queue.drain());
        }
      });
      // Updates a stopped instance did not finish go first, before new ones come in.
      await intake.start();
      await transport.start(intake.accept, {
        onFatal: (error) => {
          log.fatal({ err: error }, "the bot cannot receive updates any more; it stops");
          void this.stop().finally(() => this.failure.fail(error));
        },
      });
      // Everyone sees the public commands; each user's private chat gets their own menu.
      const commands = runtime.registry.list().reduce((n, a) => n + a.commands.length, 0);
      if (commands > 99) {
        log.warn(
          { commands },
          "Telegram shows at most 100 commands; menus list the first 99 and /help",
        );
      }
      await transport.setCommands(runtime.menus.forEveryone()).catch((error: unknown) => {
        log.warn({ err: error }, "the command menu could not be published; commands still work");
      });
      const refresh = setInterval(() => {
        users.refresh().catch((error: unknown) => {
          log.warn({ err: error }, "changes to users and permissions could not be read; retrying");
        });
      }, settings.users.cacheSeconds * 1000);
      refresh.unref();
      disposers.defer("the access refresh", () => clearInterval(refresh));
    } catch (error) {
      await disposers.close(log);
      throw error;
    }
    this.running = running;
    log.info(
      {
        bot: runtime.me.username,
        actions: runtime.registry.list().map((a) => a.name),
        store: runtime.store.kind,
      },
      "Kamihi bot started",
    );
  }

  /** Stops taking updates, finishes the ones in flight, and closes what the bot opened. */
  async stop(): Promise<void> {
    // A stop during start waits for the start, then stops what it started.
    if (this.starting) await this.starting.catch(() => {});
    const running = this.running;
    if (!running) return;
    this.running = undefined;
    const { log, disposers } = running.runtime;
    await disposers.close(log);
    log.info("Kamihi bot stopped");
    // Whoever stopped the bot may print or exit next: the log is written out first.
    await flushLogger(log);
  }

  /**
   * Resolves with the error when a started bot stops by itself because it cannot go on (the
   * transport reached a fatal state, such as a revoked token). A stop you asked for does not
   * settle it. `kamihi run` exits non-zero on it, so a supervisor restarts the process.
   */
  failed(): Promise<Error> {
    return this.failure.promise;
  }

  private runtime(message: string): Runtime {
    if (!this.running) throw new KamihiError("KAMIHI_BOT_NOT_RUNNING", message);
    return this.running.runtime;
  }

  private refuseWhileRunning(what: string): void {
    if (this.running || this.starting) {
      throw new KamihiError(
        "KAMIHI_BOT_RUNNING",
        `${what} must be called before bot.start() (the bot is running or starting); stop it first.`,
      );
    }
  }
}

/**
 * Imports every module under the actions folder into `registry`, one discovery at a time in a
 * process (`bot.action()` calls land on the bot discovering); returns the project's user schema
 * (`models/user.ts`) when it has one.
 */
async function discover(registry: Registry, root: string, actionsDir: string, log: Logger) {
  const global = globalThis as GlobalWithRegistry;
  const previous = global[DISCOVERY_LOCK] ?? Promise.resolve();
  let release: () => void = () => {};
  global[DISCOVERY_LOCK] = new Promise<void>((resolve) => {
    release = resolve;
  });
  await previous;
  global[DISCOVERING] = registry;
  try {
    const load = await createLoader();
    const modules = await discoverActions(root, join(root, actionsDir), registry, load);
    log.debug({ modules }, "actions discovered");
    return await loadUserModel(root, load);
  } finally {
    delete global[DISCOVERING];
    release();
  }
}

/** Later overrides win key by key, so configure() can be called several times. */
function mergeSettings(base: SettingsInput, extra: SettingsInput): SettingsInput {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(extra)) {
    const current = out[key];
    const nested =
      value !== null &&
      typeof value === "object" &&
      !Array.isArray(value) &&
      current !== null &&
      typeof current === "object" &&
      !Array.isArray(current);
    out[key] = nested ? mergeSettings(current as SettingsInput, value as SettingsInput) : value;
  }
  return out as SettingsInput;
}

/** A new, separate bot (tests, several bots in one process). */
export function createBot(): Kamihi {
  return new Kamihi();
}

/** Errors a handler can branch on, re-exported for convenience. */
export { isKamihiError };

/** One update's queue key: its chat, so the updates of a chat run in order. */
function chatKey(update: Update): string {
  const summary = summarizeUpdate(update);
  return String(summary.chat?.id ?? summary.from?.id ?? `update:${update.update_id}`);
}

function failureSignal(): { promise: Promise<Error>; fail: (error: Error) => void } {
  let fail: (error: Error) => void = () => {};
  const promise = new Promise<Error>((resolve) => {
    fail = resolve;
  });
  return { promise, fail };
}
