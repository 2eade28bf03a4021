import { dirname, join, resolve } from "node:path";
import { loadSettings, type SettingsInput } from "@kamihi/config";
import {
  type ActionRegistry,
  type Chat,
  isKamihiError,
  KamihiError,
  type Logger,
  type MessageRef,
  type OutgoingMessage,
  type Settings,
  type Store,
  summarizeUpdate,
  type TemplateEngine,
  type TemplateSet,
  type Transport,
  type Update,
  type UpdateSummary,
} from "@kamihi/core";
import { createStore } from "@kamihi/db";
import { createTemplateEngine, escapeMarkdown } from "@kamihi/templates";
import { createTelegrafTransport } from "@kamihi/tg";
import { pino } from "pino";
import { Composer, type Context, type Middleware } from "telegraf";
import {
  type ActionHandler,
  type ActionOptions,
  type RegisteredAction,
  Registry,
} from "./actions.js";
import { type ActionContext, actionUser } from "./context.js";
import { discoverActions } from "./discover.js";
import { ChatQueue } from "./dispatch.js";
import { media, renderResponse } from "./responses.js";

/** Pieces of the bot that can be swapped before it starts (the escape hatch, and tests). */
export interface BotParts {
  /** Setting overrides, the highest-priority source. */
  settings?: SettingsInput;
  store?: Store;
  transport?: Transport;
  templates?: TemplateEngine;
  logger?: Logger;
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
}

interface Running {
  root: string;
  settings: Settings;
  log: Logger;
  store: Store;
  transport: Transport;
  templates: TemplateEngine;
  queue: ChatQueue;
  username: string;
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

  /** Registers an action; returns the handler so `export default bot.action(...)` works. */
  action<H extends ActionHandler>(handler: H, options?: ActionOptions): H {
    const target = (globalThis as GlobalWithRegistry)[DISCOVERING] ?? this.declared;
    target.add(handler, options);
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

  /** A photo response: `return bot.photo("chart.png", { caption: "Today" })`. */
  readonly photo = media("photo");
  readonly document = media("document");
  readonly video = media("video");
  readonly audio = media("audio");
  readonly voice = media("voice");
  readonly animation = media("animation");
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

  private async startNow(options: StartOptions): Promise<void> {
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
    const log =
      this.parts.logger ??
      (pino({ level: settings.log.level, base: { app: "kamihi" } }) as unknown as Logger);
    for (const warning of loaded.warnings) log.warn(warning);

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
        const modules = await discoverActions(
          root,
          join(root, options.actionsDir ?? "actions"),
          registry,
        );
        log.debug({ modules }, "actions discovered");
      } finally {
        delete global[DISCOVERING];
        release();
      }
    }

    const ownsStore = this.parts.store === undefined;
    const store =
      this.parts.store ??
      createStore({ url: settings.db.url, name: settings.db.name, cwd: root, logger: log });
    await store.connect();
    const templates =
      this.parts.templates ??
      createTemplateEngine({ root, watch: options.watch ?? false, logger: log });
    let transport = this.parts.transport;
    if (transport === undefined) {
      if (settings.token === undefined) {
        await store.close();
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
    const running: Running = {
      root,
      settings,
      log,
      store,
      transport,
      templates,
      queue: new ChatQueue(),
      middleware: this.middlewares.length === 0 ? undefined : Composer.compose(this.middlewares),
      username: "",
      ownsStore,
    };
    try {
      // The handler returns once the update is queued: a slow action never delays the next
      // getUpdates, nor the webhook's answer to Telegram (which would send the update again).
      await transport.start(async (update, context) => {
        void this.enqueue(running, update, context.raw);
      });
      running.username = (await transport.getMe()).username;
      await transport.setCommands(this.menu(registry, log)).catch((error: unknown) => {
        log.warn({ err: error }, "the command menu could not be published; commands still work");
      });
    } catch (error) {
      await transport.stop().catch(() => {});
      if (ownsStore) await store.close().catch(() => {});
      closeTemplates(templates);
      throw error;
    }
    this.running = running;
    log.info(
      {
        bot: running.username,
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
    await running.transport.stop();
    await running.queue.drain();
    closeTemplates(running.templates);
    if (running.ownsStore) await running.store.close();
    running.log.info("Kamihi bot stopped");
  }

  /**
   * The command menu: every action's commands, then /help, within Telegram's limits (100
   * commands, descriptions of 1 to 256 characters).
   */
  private menu(registry: Registry, log: Logger) {
    const entries = registry.list().flatMap((action) =>
      action.commands.map((command) => ({
        command,
        description: menuDescription(action.description, action.name),
      })),
    );
    if (entries.length > 99) {
      log.warn(
        { commands: entries.length },
        "Telegram shows at most 100 commands; the menu lists the first 99 and /help",
      );
    }
    return [...entries.slice(0, 99), { command: "help", description: "List what I can do" }];
  }

  private enqueue(running: Running, update: Update, raw: unknown): Promise<void> {
    const summary = summarizeUpdate(update);
    const key = String(summary.chat?.id ?? summary.from?.id ?? `update:${update.update_id}`);
    return running.queue.run(key, async () => {
      try {
        const handle = () => this.handle(running, update, summary, raw);
        if (running.middleware !== undefined && raw !== undefined) {
          await running.middleware(raw as Context, handle);
        } else {
          await handle();
        }
      } catch (error) {
        running.log.error(
          { err: error, updateId: update.update_id },
          "update could not be handled",
        );
      }
    });
  }

  private async handle(running: Running, update: Update, summary: UpdateSummary, raw: unknown) {
    const { settings, transport } = running;
    if (summary.kind === "callback_query") {
      // Nothing claims this button (yet): stop the client's spinner.
      const id = (update as { callback_query: { id: string } }).callback_query.id;
      await transport.answerCallback(id).catch(() => {});
      return;
    }
    if (summary.kind !== "message" || summary.chat === undefined || summary.from === undefined)
      return;
    const chat = summary.chat;
    const command = parseCommand(summary.text);
    const addressed =
      command !== undefined &&
      (command.bot === undefined || command.bot.toLowerCase() === running.username.toLowerCase());
    if (command !== undefined && !addressed) return;
    if (command?.name === "help") {
      await this.send(running, chat.id, this.helpText());
      return;
    }
    const action = command === undefined ? undefined : this.registry.byCommand(command.name);
    if (action === undefined) {
      // In groups, only commands meant for this bot get an answer; plain chatter does not.
      const private_ = chat.type === "private";
      if (settings.responses.defaultEnabled && (private_ || command?.bot !== undefined)) {
        await this.send(running, chat.id, settings.responses.defaultMessage);
      }
      return;
    }
    await this.runAction(running, action, update, summary, chat, command?.args ?? "", raw);
  }

  private async runAction(
    running: Running,
    action: RegisteredAction,
    update: Update,
    summary: UpdateSummary,
    chat: Chat,
    args: string,
    raw: unknown,
  ) {
    const from = summary.from;
    if (from === undefined) return;
    const log = running.log.child({
      action: action.name,
      userId: from.id,
      chatId: chat.id,
      updateId: update.update_id,
    });
    const templates = this.templatesFor(running, action);
    const context: ActionContext = {
      user: actionUser(from),
      chat,
      args,
      settings: running.settings,
      store: running.store,
      log,
      template: (data = {}) => templates.render(`${action.name}.md`, data),
      templates,
      reply: (response) => this.send(running, chat.id, response, action.name),
      update,
      tg: raw,
    };
    try {
      const result = await action.handler(context);
      await this.send(running, chat.id, result, action.name);
    } catch (error) {
      log.error({ err: error }, `action ${action.name} failed`);
      await this.send(running, chat.id, running.settings.responses.errorMessage).catch(
        (sendError: unknown) => {
          log.error({ err: sendError }, "the error message could not be sent");
        },
      );
    }
  }

  private templatesFor(running: Running, action: RegisteredAction): TemplateSet {
    const folder =
      action.source === undefined
        ? join(running.root, "actions", action.name)
        : dirname(resolve(running.root, action.source));
    return running.templates.forAction(folder);
  }

  private helpText(): string {
    const lines = this.registry
      .list()
      .flatMap((action) =>
        action.commands.map(
          (command) =>
            `/${escapeMarkdown(command)} — ${escapeMarkdown(action.description ?? action.name)}`,
        ),
      );
    return lines.length === 0
      ? "I have no commands yet."
      : ["Here is what I can do:", "", ...lines].join("\n");
  }

  private async send(
    running: Running,
    chatId: number,
    response: unknown,
    action = "help",
  ): Promise<MessageRef[]> {
    const refs: MessageRef[] = [];
    for (const message of renderResponse(response, action)) {
      refs.push(...(await running.transport.send(chatId, message)));
    }
    return refs;
  }
}

/** `/name@bot args` → its parts; `undefined` when the text is not a command. */
export function parseCommand(
  text: string | undefined,
): { name: string; bot?: string; args: string } | undefined {
  if (text === undefined) return undefined;
  const match = /^\/([A-Za-z0-9_]{1,32})(?:@([A-Za-z0-9_]+))?(?:\s+([\s\S]*))?$/.exec(text.trim());
  if (match === null) return undefined;
  return {
    name: (match[1] as string).toLowerCase(),
    ...(match[2] === undefined ? {} : { bot: match[2] }),
    args: (match[3] ?? "").trim(),
  };
}

/** A menu description Telegram accepts: 1 to 256 characters, never a cut emoji. */
function menuDescription(description: string | undefined, name: string): string {
  const text = (description ?? "").trim() || name;
  const chars = [...text];
  return chars.length <= 256 ? text : `${chars.slice(0, 255).join("")}…`;
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
