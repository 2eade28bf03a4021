import { createRequire } from "node:module";
import { join, resolve } from "node:path";
import type { AdminServer } from "@kamihi/admin";
import { loadSettings, type SettingsInput } from "@kamihi/config";
import {
  type ActionRegistry,
  flushLogger,
  type InlineButton,
  isKamihiError,
  KamihiError,
  type Logger,
  type OutgoingMessage,
  type Settings,
  type StandardSchemaV1,
  type Store,
  summarizeUpdate,
  type TemplateEngine,
  type Transport,
  type Update,
  type UserService,
} from "@kamihi/core";
import { createStore } from "@kamihi/db";
import { createTemplateEngine } from "@kamihi/templates";
import { createTelegrafTransport } from "@kamihi/tg";
import { createUserService } from "@kamihi/users";
import { pino } from "pino";
import { Composer, type Context, type Middleware } from "telegraf";
import { Access } from "./access.js";
import { type ActionHandler, type ActionOptions, Registry } from "./actions.js";
import { ChatQueue } from "./chat-queue.js";
import { createLoader, discoverActions, loadUserModel } from "./discover.js";
import { Dispatcher, type HandlerParts, parseCommand } from "./dispatcher.js";
import { Intake } from "./intake.js";
import { type Answers, Conversations, type Questions } from "./questions.js";
import { media } from "./responses.js";
import { ActionStats } from "./stats.js";

/** Pieces of the bot that can be swapped before it starts (the escape hatch, and tests). */
export interface BotParts {
  /** Setting overrides, the highest-priority source. */
  settings?: SettingsInput;
  store?: Store;
  transport?: Transport;
  templates?: TemplateEngine;
  logger?: Logger;
  /** Users, roles and permissions; the default is `@kamihi/users` over the store. */
  users?: UserService;
  /** The project's custom user fields (instead of `models/user.ts`): any Standard Schema. */
  userSchema?: StandardSchemaV1<Record<string, unknown>, Record<string, unknown>>;
}

/** A project loaded by {@link Kamihi.load}: everything but Telegram. */
export interface LoadedProject {
  root: string;
  settings: Settings;
  actions: ActionRegistry;
  store: Store;
  users: UserService;
  log: Logger;
  /** Closes the store (when the bot opened it). */
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

/** A started bot: the pieces its dispatcher works with, and what start() set up around them. */
interface Running extends HandlerParts {
  dispatcher: Dispatcher;
  /** The web admin, when it runs beside the bot. */
  admin: AdminServer | undefined;
  /** Reads the change log of users/roles/permissions every `users.cacheSeconds`. */
  refreshTimer: NodeJS.Timeout | undefined;
  unsubscribe: () => void;
  queue: ChatQueue;
  /** Takes updates in from the transport: stored, de-duplicated, bounded, handled in order. */
  intake: Intake;
  ownsStore: boolean;
  /** `bot.use()` middleware, run inside each chat's turn so it cannot reorder a chat. */
  middleware: ReturnType<typeof Composer.compose<Context>> | undefined;
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

  /** Swaps pieces before start: store, transport, templates, logger, setting overrides. */
  configure(parts: BotParts): this {
    if (this.running) {
      throw new KamihiError(
        "KAMIHI_BOT_RUNNING",
        "bot.configure() must be called before bot.start(); stop the bot first.",
      );
    }
    const settings =
      parts.settings === undefined
        ? this.parts.settings
        : mergeSettings(this.parts.settings ?? {}, parts.settings);
    this.parts = { ...this.parts, ...parts, ...(settings === undefined ? {} : { settings }) };
    return this;
  }

  /** Adds raw Telegraf middleware, run before Kamihi handles each update. */
  use(middleware: Middleware<Context>): this {
    if (this.running) {
      throw new KamihiError("KAMIHI_BOT_RUNNING", "bot.use() must be called before bot.start().");
    }
    this.middlewares.push(middleware);
    return this;
  }

  /** The registered actions, read-only. */
  get actions(): ActionRegistry {
    return this.registry;
  }

  /** The running bot's settings (after start). */
  get settings(): Settings {
    if (!this.running)
      throw new KamihiError("KAMIHI_BOT_NOT_RUNNING", "The settings are loaded by bot.start().");
    return this.running.settings;
  }

  /** The bot's Telegram username, without `@` (after start). */
  get username(): string {
    if (!this.running)
      throw new KamihiError(
        "KAMIHI_BOT_NOT_RUNNING",
        "The bot's username is known after bot.start().",
      );
    return this.running.dispatcher.username;
  }

  /** The running bot's users, roles and permissions (after start). */
  get users(): UserService {
    if (!this.running)
      throw new KamihiError("KAMIHI_BOT_NOT_RUNNING", "The user service is opened by bot.start().");
    return this.running.users;
  }

  /** A photo response: `return bot.photo("chart.png", { caption: "Today" })`. */
  readonly photo = media("photo");
  readonly document = media("document");
  readonly video = media("video");
  readonly audio = media("audio");
  readonly voice = media("voice");
  readonly animation = media("animation");
  /**
   * An inline button that runs a command when pressed, as if the presser had sent it — and
   * only when they may: `bot.button("Buy 3", "/buy 3")`.
   */
  button(text: string, command: string): InlineButton {
    const parsed = parseCommand(command);
    if (parsed === undefined || parsed.bot !== undefined) {
      throw new KamihiError(
        "KAMIHI_ACTION_BAD_RESPONSE",
        `bot.button(${JSON.stringify(text)}, ${JSON.stringify(command)}): the second argument must be a command such as "/buy 3".`,
      );
    }
    const data = `/${parsed.name}${parsed.args ? ` ${parsed.args}` : ""}`;
    if (new TextEncoder().encode(data).length > 64) {
      throw new KamihiError(
        "KAMIHI_ACTION_BAD_RESPONSE",
        `bot.button(${JSON.stringify(text)}, …): Telegram keeps at most 64 bytes of a button's data; "${data.slice(0, 70)}" is longer. Shorten the command's arguments.`,
      );
    }
    return { text, callbackData: data };
  }

  /** A Markdown message with inline buttons under it, row by row. */
  message(text: string, options: { buttons?: InlineButton[][] } = {}): OutgoingMessage {
    return {
      type: "text",
      text,
      ...(options.buttons === undefined
        ? {}
        : { replyMarkup: { inlineKeyboard: options.buttons } }),
    };
  }

  /** A location response. */
  location(latitude: number, longitude: number): OutgoingMessage {
    return { type: "location", latitude, longitude };
  }

  /**
   * Loads the settings, connects the store, discovers actions, publishes the command menu and
   * starts receiving updates.
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
    const project = await this.open(options);
    return {
      root: project.root,
      settings: project.settings,
      actions: project.registry,
      store: project.store,
      users: project.users,
      log: project.log,
      close: async () => {
        if (project.ownsStore) await project.store.close();
      },
    };
  }

  /** Settings, discovery, store and users: what both start() and load() need. */
  private async open(options: Omit<StartOptions, "watch">) {
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
    const log = this.parts.logger ?? createLogger(settings);
    for (const warning of loaded.warnings) log.warn(warning);

    let userSchema = this.parts.userSchema;
    if (options.discover !== false) {
      // One discovery at a time in a process: bot.action() calls land on the bot discovering.
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
        const modules = await discoverActions(
          root,
          join(root, options.actionsDir ?? "actions"),
          registry,
          load,
        );
        log.debug({ modules }, "actions discovered");
        userSchema ??= await loadUserModel(root, load);
      } finally {
        delete global[DISCOVERING];
        release();
      }
    }

    const ownsStore = this.parts.store === undefined;
    const store =
      this.parts.store ??
      createStore({ url: settings.db.url, name: settings.db.name, cwd: root, logger: log });
    log.info({ store: store.kind }, "connecting to the store");
    await store.connect();
    let users = this.parts.users;
    if (users === undefined) {
      const service = createUserService({
        store,
        registration: settings.users.registration,
        defaultRoles: settings.users.defaultRoles,
        cacheSeconds: settings.users.cacheSeconds,
        actions: () => registry.list().map((action) => action.name),
        logger: log,
        ...(userSchema === undefined ? {} : { schema: userSchema }),
      });
      try {
        await service.init();
        await service.ensureAdmins(settings.users.admins);
      } catch (error) {
        if (ownsStore) await store.close().catch(() => {});
        throw error;
      }
      users = service;
    }
    return { root, settings, log, registry, store, ownsStore, users };
  }

  private async startNow(options: StartOptions): Promise<void> {
    const { root, settings, log, registry, store, ownsStore, users } = await this.open(options);
    // The web admin's modules load while the store and Telegram start (see startAdmin).
    if (options.admin === true && settings.web.enabled) loadAdmin().catch(() => {});
    const templates =
      this.parts.templates ??
      createTemplateEngine({ root, watch: options.watch ?? false, logger: log });
    let transport = this.parts.transport;
    if (transport === undefined) {
      if (settings.token === undefined) {
        if (ownsStore) await store.close();
        throw new KamihiError(
          "KAMIHI_CONFIG_INVALID",
          "token: the bot token is not set; get one from @BotFather and set KAMIHI_TOKEN (or token in kamihi.yaml).",
        );
      }
      transport = createTelegrafTransport({
        token: settings.token,
        apiRoot: settings.tg.apiRoot,
        mode: settings.tg.mode,
        webhook: {
          path: settings.tg.webhook.path,
          host: settings.tg.webhook.host,
          port: settings.tg.webhook.port,
          ...(settings.tg.webhook.url === undefined ? {} : { url: settings.tg.webhook.url }),
          ...(settings.tg.webhook.secretToken === undefined
            ? {}
            : { secretToken: settings.tg.webhook.secretToken }),
        },
        limits: settings.limits,
        logger: log,
      });
    }
    const access = new Access({ users, transport, registry, settings, log });
    const conversations = new Conversations(store, settings.questions.timeoutSeconds);
    const stats = new ActionStats(store, log);
    try {
      await conversations.init();
      await stats.init();
    } catch (error) {
      await stats.close().catch(() => {});
      if (ownsStore) await store.close().catch(() => {});
      throw error;
    }
    const parts: HandlerParts = {
      root,
      settings,
      log,
      store,
      transport,
      templates,
      users,
      access,
      conversations,
      registry,
      stats,
    };
    const dispatcher = new Dispatcher(parts);
    const queue = new ChatQueue();
    const middleware =
      this.middlewares.length === 0 ? undefined : Composer.compose(this.middlewares);
    let intake: Intake | undefined;
    const running: Running = {
      ...parts,
      dispatcher,
      admin: undefined,
      refreshTimer: undefined,
      unsubscribe: users.onChange((change) => access.changed(change)),
      queue,
      get intake(): Intake {
        if (intake === undefined) throw new KamihiError("KAMIHI_INTERNAL_BUG", "No intake yet.");
        return intake;
      },
      middleware,
      ownsStore,
    };
    this.failure = failureSignal();
    try {
      // Known before the first update flows: commands addressed to @thebot are recognised.
      const me = await transport.getMe();
      dispatcher.username = me.username;
      intake = new Intake({
        store,
        log,
        bot: me.id,
        settings: settings.updates,
        queue,
        keyOf: chatKey,
        // Telegram serves one poller per token; webhooks may be shared by many instances.
        exclusive: this.parts.transport === undefined && settings.tg.mode === "polling",
        handle: (update, raw) => this.handle(running, update, raw),
        ...(transport.contextFor === undefined
          ? {}
          : { contextFor: transport.contextFor.bind(transport) }),
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
      await transport.setCommands(this.menu(registry, log, access)).catch((error: unknown) => {
        log.warn({ err: error }, "the command menu could not be published; commands still work");
      });
      const refreshEvery = settings.users.cacheSeconds * 1000;
      const usersService = users;
      running.refreshTimer = setInterval(() => {
        usersService.refresh().catch((error: unknown) => {
          log.warn({ err: error }, "changes to users and permissions could not be read; retrying");
        });
      }, refreshEvery);
      running.refreshTimer.unref();
      if (options.admin === true) await this.startAdmin(running);
    } catch (error) {
      running.unsubscribe();
      await intake?.stop(() => queue.drain()).catch(() => {});
      await stats.close().catch(() => {});
      await transport.stop().catch(() => {});
      if (ownsStore) await store.close().catch(() => {});
      closeTemplates(templates);
      throw error;
    }
    this.running = running;
    log.info(
      {
        bot: dispatcher.username,
        actions: this.registry.list().map((a) => a.name),
        store: store.kind,
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
    clearInterval(running.refreshTimer);
    running.unsubscribe();
    await running.admin?.close().catch((error: unknown) => {
      running.log.warn({ err: error }, "the web admin did not close cleanly");
    });
    // No more updates are taken; those in progress get updates.drainSeconds to finish.
    running.intake.close();
    await running.transport.stop();
    await running.intake.stop(() => running.queue.drain());
    await running.stats.close();
    running.access.stop();
    await running.access.idle();
    closeTemplates(running.templates);
    if (running.ownsStore) await running.store.close();
    running.log.info("Kamihi bot stopped");
    // Whoever stopped the bot may print or exit next: the log is written out first.
    await flushLogger(running.log);
  }

  /**
   * Starts the web admin beside the bot (`web.enabled`), and `/admin` with it. A failure (the
   * port is taken) is logged with what to do; the bot keeps running without its admin. With
   * the admin elsewhere (`web.enabled: false` and a `web.publicUrl`), `/admin` sends links to it.
   */
  private async startAdmin(running: Running): Promise<void> {
    const { settings, log, store, users, dispatcher, stats } = running;
    if (!settings.web.enabled) {
      if (settings.web.publicUrl !== undefined) {
        const { loginLinks } = await loadAdmin();
        dispatcher.adminLink = loginLinks(store, settings.web.publicUrl);
      }
      return;
    }
    try {
      const { createAdmin } = await loadAdmin();
      const admin = await createAdmin({
        users,
        actions: running.registry,
        store,
        logger: log.child({ component: "admin" }),
        ...webOptions(settings),
        status: () => ({
          username: dispatcher.username,
          running: this.running === running,
          store: store.kind,
        }),
        stats: () => stats.read(),
        errors: () => stats.recentErrors(),
      });
      const url = await admin.listen();
      running.admin = admin;
      dispatcher.adminLink = (telegramId) => admin.loginLink(telegramId);
      log.info({ url }, "the web admin is listening; admins send /admin to the bot to sign in");
    } catch (error) {
      log.error(
        { err: error },
        isKamihiError(error)
          ? error.message
          : "the web admin could not start; the bot runs without it",
      );
    }
  }

  /** Where the web admin listens, when it runs beside the bot. */
  get adminUrl(): string | undefined {
    return this.running?.admin?.url;
  }

  /**
   * The default command menu: the public actions' commands, then /help, within Telegram's
   * limits (100 commands, descriptions of 1 to 256 characters). Users get their own menu in
   * their private chat with what they may run.
   */
  private menu(registry: Registry, log: Logger, access: Access) {
    const commands = registry.list().reduce((n, action) => n + action.commands.length, 0);
    if (commands > 99) {
      log.warn(
        { commands },
        "Telegram shows at most 100 commands; menus list the first 99 and /help",
      );
    }
    return access.publicMenu();
  }

  /** Handles one update in its chat's turn: `bot.use()` middleware, then the dispatcher. */
  private async handle(running: Running, update: Update, raw: unknown): Promise<void> {
    const summary = summarizeUpdate(update);
    const handle = () => running.dispatcher.handle(update, summary, raw);
    if (running.middleware !== undefined && raw !== undefined) {
      await running.middleware(raw as Context, handle);
    } else {
      await handle();
    }
  }

  /**
   * Resolves with the error when a started bot stops by itself because it cannot go on (the
   * transport reached a fatal state, such as a revoked token). A stop you asked for does not
   * settle it. `kamihi run` exits non-zero on it, so a supervisor restarts the process.
   */
  failed(): Promise<Error> {
    return this.failure.promise;
  }
}

/** The web admin (Fastify and its plugins), imported only when it runs: one import per process. */
let admin: Promise<typeof import("@kamihi/admin")> | undefined;
function loadAdmin(): Promise<typeof import("@kamihi/admin")> {
  admin ??= import("@kamihi/admin");
  return admin;
}

/**
 * The default logger: JSON lines, or readable lines on a terminal (`log.format: auto`, the
 * default) or when asked (`pretty`).
 */
function createLogger(settings: Settings): Logger {
  const options = { level: settings.log.level, base: { app: "kamihi" } };
  const pretty =
    settings.log.format === "pretty" ||
    (settings.log.format === "auto" && process.stdout.isTTY === true);
  // Written at once: a line is never lost when the process exits or dies, and never lands
  // after what the CLI prints next ("Stopped."). A bot logs little enough for that.
  if (!pretty) return pino(options, pino.destination({ dest: 1, sync: true })) as unknown as Logger;
  // Loaded only for readable logs: JSON lines do without it.
  const { build: pinoPretty } = createRequire(import.meta.url)(
    "pino-pretty",
  ) as typeof import("pino-pretty");
  const stream = pinoPretty({
    colorize: process.stdout.isTTY === true,
    ignore: "pid,hostname,app",
    translateTime: "HH:MM:ss.l",
    sync: true,
  });
  return pino(options, stream) as unknown as Logger;
}

/** The `web` settings as the admin's options (absent values left to its defaults). */
export function webOptions(settings: Settings) {
  const { host, port, publicUrl, sessionSecret, passwordHash, trustProxy } = settings.web;
  return {
    host,
    port,
    trustProxy,
    ...(publicUrl === undefined ? {} : { publicUrl }),
    ...(sessionSecret === undefined ? {} : { sessionSecret }),
    ...(passwordHash === undefined ? {} : { passwordHash }),
  };
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

/** Stops a template engine's file watching, when it has any. */
function closeTemplates(engine: TemplateEngine) {
  const closable = engine as TemplateEngine & { close?: () => void };
  closable.close?.();
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
