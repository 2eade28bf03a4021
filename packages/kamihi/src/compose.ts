import type { SettingsInput } from "@kamihi/config";
import {
  type BotInfo,
  type Clock,
  KamihiError,
  type Logger,
  type MessageRef,
  type Settings,
  type StandardSchemaV1,
  type Store,
  systemClock,
  type TemplateEngine,
  type Transport,
  type UserService,
} from "@kamihi/core";
import { createStore } from "@kamihi/db";
import { createTemplateEngine } from "@kamihi/templates";
import { createTelegrafTransport } from "@kamihi/tg";
import { createUserService } from "@kamihi/users";
import type { Context, Middleware } from "telegraf";
import type { Registry } from "./actions.js";
import { Approvals } from "./approvals.js";
import { Conversations } from "./conversations.js";
import { Disposers } from "./disposers.js";
import { createLogger } from "./logger.js";
import { Menus } from "./menus.js";
import type { Kit } from "./pipeline/index.js";
import { renderResponse } from "./responses.js";
import { ActionStats } from "./stats.js";

/** The project's custom user fields: any Standard Schema (valibot, zod, arktype…). */
export type UserSchema = StandardSchemaV1<Record<string, unknown>, Record<string, unknown>>;

/** What every port factory is given: the project, its settings, its logger and its clock. */
export interface PortDeps {
  root: string;
  settings: Settings;
  log: Logger;
  clock: Clock;
}

/** What the users factory is given besides {@link PortDeps}. */
export interface UsersDeps extends PortDeps {
  store: Store;
  /** The names of the bot's actions (grants naming anything else are refused). */
  actions: () => readonly string[];
  /** The project's user schema (`models/user.ts` or `userSchema`), when it has one. */
  schema: UserSchema | undefined;
}

/** What the template engine factory is given besides {@link PortDeps}. */
export interface TemplatesDeps extends PortDeps {
  /** Reload templates when their files change (`kamihi dev`). */
  watch: boolean;
}

/**
 * A piece of the bot: a ready instance (yours to close), or a factory the bot calls once per
 * start with the settings mapped for it (the bot closes what it makes). Like grammY's
 * `session({ storage })`, the factory form keeps every setting that configures the piece.
 */
export type Part<Port, Deps = PortDeps> = Port | ((deps: Deps) => Port);

/** Pieces of the bot that can be swapped before it starts (the escape hatch, and tests). */
export interface BotParts {
  /** Setting overrides, the highest-priority source. */
  settings?: SettingsInput;
  /** The store; default: `@kamihi/db` for `db.url` (MongoDB, or the embedded store). */
  store?: Part<Store>;
  /**
   * Telegram I/O; default: `@kamihi/tg` (Telegraf) for `token`, `tg.*` and `limits.*`. With
   * `bot.use()` middleware it must take it (`use()`) and run it (`around()`).
   */
  transport?: Part<Transport>;
  /** Templates; default: `@kamihi/templates` (Eta). */
  templates?: Part<TemplateEngine, TemplatesDeps>;
  /** The logger, or a factory from the settings; default: pino (`log.*`). */
  logger?: Logger | ((settings: Settings) => Logger);
  /**
   * Users, roles and permissions; default: `@kamihi/users` over the store with `users.*`.
   * `users.admins` are made admins whichever service it is.
   */
  users?: Part<UserService, UsersDeps>;
  /** The project's custom user fields (instead of `models/user.ts`): any Standard Schema. */
  userSchema?: UserSchema;
  /** Where expiries read the time (conversations, caches, sessions); default: the wall clock. */
  clock?: Clock;
}

/** The default factory of each port: what the settings mean for it. */
export const defaultPorts = {
  logger: createLogger,
  store: ({ root, settings, log }: PortDeps): Store =>
    createStore({ url: settings.db.url, name: settings.db.name, cwd: root, logger: log }),
  users: ({ settings, store, actions, schema, log, clock }: UsersDeps): UserService =>
    createUserService({
      store,
      registration: settings.users.registration,
      defaultRoles: settings.users.defaultRoles,
      cacheSeconds: settings.users.cacheSeconds,
      actions,
      logger: log,
      clock,
      ...(schema === undefined ? {} : { schema }),
    }),
  templates: ({ root, watch, log }: TemplatesDeps): TemplateEngine =>
    createTemplateEngine({ root, watch, logger: log }),
  transport: ({ settings, log }: PortDeps): Transport => {
    const { token, tg, limits } = settings;
    if (token === undefined) {
      throw new KamihiError(
        "KAMIHI_CONFIG_TOKEN_MISSING",
        "token: the bot token is not set; get one from @BotFather and set KAMIHI_TOKEN (or token in kamihi.yaml).",
      );
    }
    const { url, secretToken } = tg.webhook;
    return createTelegrafTransport({
      token,
      apiRoot: tg.apiRoot,
      mode: tg.mode,
      webhook: {
        path: tg.webhook.path,
        host: tg.webhook.host,
        port: tg.webhook.port,
        ...(url === undefined ? {} : { url }),
        ...(secretToken === undefined ? {} : { secretToken }),
      },
      limits,
      logger: log,
    }) as Transport;
  },
};

/** The logger a start uses: the given one, the given factory's, or the default. */
export function composeLogger(settings: Settings, logger: BotParts["logger"]): Logger {
  if (logger === undefined) return defaultPorts.logger(settings);
  return typeof logger === "function" ? logger(settings) : logger;
}

/** What `compose()` is told besides the settings and the parts. */
export interface ComposeOptions {
  root: string;
  log: Logger;
  registry: Registry;
  userSchema: UserSchema | undefined;
}

/** A loaded project: the store and the users, opened, and the stack that closes them. */
export interface Project extends PortDeps {
  registry: Registry;
  store: Store;
  users: UserService;
  /** Everything opened so far, closed newest first. */
  disposers: Disposers;
}

/** A composed bot: every port opened, the bot's own identity known, ready to take updates. */
export interface Runtime extends Project, Kit {
  /** True when the transport is Kamihi's own (not swapped): polling is then exclusive. */
  defaultTransport: boolean;
  /** Stops the transport receiving (once: later calls wait for the first). */
  stopTransport(): Promise<void>;
}

/**
 * Opens the store and the user service (what the CLI's tools need): each from its part or its
 * default factory, each pushing its close onto one stack. A failure closes what was opened.
 */
export async function composeProject(
  settings: Settings,
  parts: BotParts,
  options: ComposeOptions,
): Promise<Project> {
  const { root, log, registry } = options;
  const clock = parts.clock ?? systemClock;
  const deps: PortDeps = { root, settings, log, clock };
  const disposers = new Disposers();
  try {
    const store = build(
      parts.store,
      "collection",
      defaultPorts.store,
      deps,
      disposers,
      "the store",
    );
    log.info({ store: store.kind }, "connecting to the store");
    await store.connect();
    const users = build(
      parts.users,
      "resolve",
      defaultPorts.users,
      {
        ...deps,
        store,
        actions: () => registry.list().map((action) => action.name),
        schema: options.userSchema,
      },
      disposers,
      "the user service",
    );
    await users.init?.();
    await ensureAdmins(users, settings.users.admins);
    return { ...deps, registry, store, users, disposers };
  } catch (error) {
    await disposers.close(log);
    throw error;
  }
}

/**
 * Builds the whole runtime once (docs/architecture.md §3): the project, then templates and
 * the transport, the bot's identity (`getMe`, before any update flows), conversations,
 * statistics, menus and approvals. Everything opened goes onto the project's one disposer
 * stack, which a failed start and `stop()` both close.
 */
export async function compose(
  settings: Settings,
  parts: BotParts,
  options: ComposeOptions & {
    watch: boolean;
    middlewares: ReadonlyArray<Middleware<Context>>;
  },
): Promise<Runtime> {
  const project = await composeProject(settings, parts, options);
  const { store, users, log, registry, disposers, clock } = project;
  try {
    const templates = build(
      parts.templates,
      "forAction",
      defaultPorts.templates,
      { ...project, watch: options.watch },
      disposers,
      "the template engine",
    );
    const transport = build(
      parts.transport,
      "getMe",
      defaultPorts.transport,
      project,
      disposers,
      "the transport",
    );
    // Stopped once, whoever asks first: start's update intake (before it drains), or this
    // stack when a later piece fails to open.
    let stopping: Promise<void> | undefined;
    const stopTransport = () => {
      stopping ??= transport.stop();
      return stopping;
    };
    disposers.defer("the transport", stopTransport);
    if (options.middlewares.length > 0) useMiddleware(transport, options.middlewares);
    const me: BotInfo = await transport.getMe();
    const conversations = new Conversations(store, settings.questions.timeoutSeconds, clock);
    const stats = new ActionStats(store, log);
    disposers.defer("the action statistics", () => stats.close());
    // Both settle before anything closes the store under them.
    const inits = await Promise.allSettled([conversations.init(), stats.init()]);
    for (const init of inits) if (init.status === "rejected") throw init.reason;
    const menus = new Menus({ users, transport, registry, log });
    disposers.defer("the command menus", async () => {
      menus.stop();
      await menus.idle();
    });
    const unsubscribe = users.onChange((change) => menus.changed(change));
    disposers.defer("the access listener", unsubscribe);
    const approvals = new Approvals({ users, transport, settings, log });
    const say = async (chatId: number, response: unknown, action?: string) => {
      const refs: MessageRef[] = [];
      for (const message of renderResponse(response, action)) {
        refs.push(...(await transport.send(chatId, message)));
      }
      return refs;
    };
    return {
      ...project,
      templates,
      transport,
      me,
      conversations,
      stats,
      menus,
      approvals,
      adminLink: undefined,
      asks: registry.list().some((action) => action.questions.length > 0),
      say,
      stopTransport,
      defaultTransport: parts.transport === undefined,
    };
  } catch (error) {
    await disposers.close(log);
    throw error;
  }
}

/**
 * One port from its part: a given instance as it is (its owner closes it), or what the given
 * factory (or the default) makes, closed by the bot with the rest of the stack. An instance is
 * told from a factory by one of the port's own methods (`method`), so a port that happens to be
 * callable is not mistaken for a factory.
 */
function build<Port extends object, Deps>(
  part: Part<Port, Deps> | undefined,
  method: keyof Port,
  fallback: (deps: Deps) => Port,
  deps: Deps,
  disposers: Disposers,
  name: string,
): Port {
  if (part !== undefined && typeof (part as Port)[method] === "function") return part as Port;
  const port = ((part as ((deps: Deps) => Port) | undefined) ?? fallback)(deps);
  const closable = port as { close?: () => unknown; stop?: () => unknown };
  if (typeof closable.close === "function") {
    disposers.defer(name, () => closable.close?.());
  }
  return port;
}

/**
 * Hands `bot.use()` middleware to the transport, which runs it around each update: only a
 * transport that takes middleware (`use()`) and runs it (`around()`), as Telegraf's does.
 */
function useMiddleware(transport: Transport, middlewares: ReadonlyArray<Middleware<Context>>) {
  const taker = transport as Transport & { use?: (...middleware: Middleware<Context>[]) => void };
  if (typeof taker.use !== "function" || typeof taker.around !== "function") {
    throw new KamihiError(
      "KAMIHI_BOT_MIDDLEWARE_UNSUPPORTED",
      "bot.use() added Telegraf middleware, but the transport given to bot.configure() cannot run it (it needs use() and around()). Give it the middleware yourself, or use createTelegrafTransport().",
    );
  }
  // A transport kept across restarts is given each middleware once.
  const given = usedBy.get(transport) ?? new Set();
  usedBy.set(transport, given);
  const added = middlewares.filter((middleware) => !given.has(middleware));
  for (const middleware of added) given.add(middleware);
  if (added.length > 0) taker.use(...added);
}

const usedBy = new WeakMap<Transport, Set<Middleware<Context>>>();

/**
 * Makes `users.admins` active admins: through the service's own `ensureAdmins()`, or, for a
 * service without it, through its CRUD (created, or promoted and unblocked), as the default does.
 */
async function ensureAdmins(users: UserService, telegramIds: readonly number[]): Promise<void> {
  if (typeof users.ensureAdmins === "function") return users.ensureAdmins(telegramIds);
  for (const telegramId of telegramIds) {
    const user = await users.getUser(telegramId);
    if (user === null) {
      await users.createUser({
        telegramId,
        firstName: `Admin ${telegramId}`,
        isAdmin: true,
        status: "active",
      });
    } else if (!user.isAdmin || user.status !== "active") {
      await users.updateUser(telegramId, { isAdmin: true, status: "active" });
    }
  }
}
