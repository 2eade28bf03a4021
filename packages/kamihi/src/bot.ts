import { dirname, join, resolve } from "node:path";
import { loadSettings, type SettingsInput } from "@kamihi/config";
import {
  type ActionRegistry,
  type CallbackQuery,
  type Chat,
  type InlineButton,
  isKamihiError,
  KamihiError,
  type Logger,
  type Message,
  type MessageRef,
  type OutgoingMessage,
  type Resolution,
  type Settings,
  type StandardSchemaV1,
  type Store,
  summarizeUpdate,
  type TelegramUser,
  type TemplateEngine,
  type TemplateSet,
  type Transport,
  type Update,
  type UpdateSummary,
  type User,
  type UserService,
} from "@kamihi/core";
import { createStore } from "@kamihi/db";
import { createTemplateEngine, escapeMarkdown } from "@kamihi/templates";
import { createTelegrafTransport } from "@kamihi/tg";
import { createUserService } from "@kamihi/users";
import { pino } from "pino";
import { Composer, type Context, type Middleware } from "telegraf";
import { Access } from "./access.js";
import {
  type ActionHandler,
  type ActionOptions,
  type RegisteredAction,
  Registry,
} from "./actions.js";
import { type ActionContext, actionUser } from "./context.js";
import { createLoader, discoverActions, loadUserModel } from "./discover.js";
import { ChatQueue } from "./dispatch.js";
import {
  type Answers,
  answerButton,
  askMessage,
  type Conversation,
  Conversations,
  type Question,
  type Questions,
  replyOf,
  withDownloads,
} from "./questions.js";
import { media, renderResponse } from "./responses.js";

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
}

interface Running {
  root: string;
  settings: Settings;
  log: Logger;
  store: Store;
  transport: Transport;
  templates: TemplateEngine;
  users: UserService;
  access: Access;
  conversations: Conversations;
  /** Whether any action asks questions: without, no message costs a conversation lookup. */
  asks: boolean;
  /** Reads the change log of users/roles/permissions every `users.cacheSeconds`. */
  refreshTimer: NodeJS.Timeout | undefined;
  unsubscribe: () => void;
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
    const log =
      this.parts.logger ??
      (pino({ level: settings.log.level, base: { app: "kamihi" } }) as unknown as Logger);
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
    try {
      await conversations.init();
    } catch (error) {
      if (ownsStore) await store.close().catch(() => {});
      throw error;
    }
    const running: Running = {
      root,
      settings,
      log,
      store,
      transport,
      templates,
      users,
      access,
      conversations,
      asks: registry.list().some((action) => action.questions.length > 0),
      refreshTimer: undefined,
      unsubscribe: users.onChange((change) => access.changed(change)),
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
    } catch (error) {
      running.unsubscribe();
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
    clearInterval(running.refreshTimer);
    running.unsubscribe();
    await running.transport.stop();
    await running.queue.drain();
    running.access.stop();
    await running.access.idle();
    closeTemplates(running.templates);
    if (running.ownsStore) await running.store.close();
    running.log.info("Kamihi bot stopped");
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
    if (summary.kind === "callback_query") {
      await this.handleButton(running, update, raw);
      return;
    }
    if (summary.kind !== "message" || summary.chat === undefined || summary.from === undefined)
      return;
    const { settings } = running;
    const chat = summary.chat;
    const from = summary.from;
    const command = parseCommand(summary.text);
    const addressed =
      command !== undefined &&
      (command.bot === undefined || command.bot.toLowerCase() === running.username.toLowerCase());
    if (command !== undefined && !addressed) return;
    const private_ = chat.type === "private";
    // A plain message may answer a question; otherwise, in groups, plain chatter is ignored.
    const pending =
      command === undefined && running.asks
        ? await running.conversations.find(chat.id, from.id)
        : undefined;
    if (command === undefined && pending === undefined && !private_) return;
    const resolution = await this.resolve(running, from, chat.id);
    if (resolution === undefined) return;
    const user = resolution.outcome === "unknown" ? null : resolution.user;
    const told = resolution.outcome === "registered" && resolution.user.status === "pending";
    const action =
      command === undefined || command.name === "help"
        ? undefined
        : this.registry.byCommand(command.name);
    if (resolution.outcome === "blocked") {
      // Blocked users get nothing at all; the refusal is only logged.
      await this.refuse(running, resolution, from, chat.id, action?.name);
      return;
    }
    if (pending !== undefined) {
      const message = (update as { message?: Message }).message;
      await this.continueConversation(
        running,
        pending,
        update,
        from,
        resolution,
        chat,
        replyOf(summary.text, message),
        raw,
      );
      return;
    }
    if (command?.name === "help") {
      await this.send(running, chat.id, await this.helpText(running, user));
      return;
    }
    if (
      command?.name === settings.responses.cancelCommand &&
      action === undefined &&
      running.asks
    ) {
      const had = await running.conversations.drop(chat.id, from.id);
      await this.send(running, chat.id, had ? "Cancelled." : "There is nothing to cancel.");
      return;
    }
    if (action === undefined) {
      if (told) return;
      if (user?.status === "active") {
        if (settings.responses.defaultEnabled && (private_ || command?.bot !== undefined)) {
          await this.send(running, chat.id, settings.responses.defaultMessage);
        }
      } else {
        await this.refuse(running, resolution, from, chat.id, undefined);
      }
      return;
    }
    if (!(await this.allowed(running, action, user))) {
      if (!told) await this.refuse(running, resolution, from, chat.id, action.name);
      return;
    }
    await this.startAction(running, action, update, from, user, chat, command?.args ?? "", raw);
  }

  /** Runs an action, or starts its questions (replacing any question left unanswered here). */
  private async startAction(
    running: Running,
    action: RegisteredAction,
    update: Update,
    from: TelegramUser,
    user: User | null,
    chat: Chat,
    args: string,
    raw: unknown,
  ) {
    const first = action.questions[0];
    if (first === undefined) {
      if (running.asks) await running.conversations.drop(chat.id, from.id);
      await this.runAction(running, action, update, from, user, chat, args, raw, {});
      return;
    }
    const conversation = await running.conversations.begin(chat.id, from.id, action.name, args);
    await this.send(
      running,
      chat.id,
      askMessage(conversation, action.ask[first.name] as Question<unknown>),
    );
  }

  /**
   * Feeds a reply to the question waiting for this user here: checked again for access, parsed
   * and validated; a wrong answer is explained and the question asked again; after the last
   * answer the action runs.
   */
  private async continueConversation(
    running: Running,
    found: { conversation: Conversation; expired: boolean },
    update: Update,
    from: TelegramUser,
    resolution: Resolution,
    chat: Chat,
    reply: Parameters<Question<unknown>["parse"]>[0],
    raw: unknown,
  ) {
    const { conversation, expired } = found;
    const action = this.registry.get(conversation.action);
    if (expired || action === undefined) {
      await running.conversations.end(conversation);
      const command = action?.commands[0];
      await this.send(
        running,
        chat.id,
        command === undefined
          ? "That conversation is over."
          : `That question expired. Send /${escapeMarkdown(command)} to start again.`,
      );
      return;
    }
    const user = resolution.outcome === "unknown" ? null : resolution.user;
    if (!(await this.allowed(running, action, user))) {
      // Access can be taken away mid-conversation: the answers never reach the action.
      await running.conversations.end(conversation);
      await this.refuse(running, resolution, from, chat.id, action.name);
      return;
    }
    const current = action.questions[conversation.step];
    const item = current === undefined ? undefined : action.ask[current.name];
    if (current === undefined || item === undefined) {
      await running.conversations.end(conversation);
      return;
    }
    const parsed = await item.parse(reply, running.settings.timezone);
    if ("error" in parsed) {
      await this.send(running, chat.id, { type: "text", text: parsed.error, format: "plain" });
      await this.send(running, chat.id, askMessage(conversation, item));
      return;
    }
    // Another handler (a second instance, a double press) advanced it first: nothing to do.
    if (!(await running.conversations.answer(conversation, current.name, parsed.value))) return;
    const next = action.questions[conversation.step];
    if (next !== undefined) {
      await this.send(
        running,
        chat.id,
        askMessage(conversation, action.ask[next.name] as Question<unknown>),
      );
      return;
    }
    if (!(await running.conversations.end(conversation))) return;
    const answers = withDownloads(conversation.answers, running.transport);
    await this.runAction(
      running,
      action,
      update,
      from,
      user,
      chat,
      conversation.args,
      raw,
      answers,
    );
  }

  /**
   * Finds the sender (registering them as `users.registration` says) and keeps their command
   * menu current. A new user awaiting approval is told so, and the admins are asked.
   */
  private async resolve(
    running: Running,
    from: TelegramUser,
    chatId: number,
  ): Promise<Resolution | undefined> {
    let resolution: Resolution;
    try {
      resolution = await running.users.resolve(from);
    } catch (error) {
      running.log.error({ err: error, userId: from.id }, "the user could not be looked up");
      await this.send(running, chatId, running.settings.responses.errorMessage).catch(() => {});
      return undefined;
    }
    if (resolution.outcome === "unknown") return resolution;
    const user = resolution.user;
    if (resolution.outcome === "registered" && user.status === "pending") {
      await this.send(running, chatId, running.settings.users.pendingMessage);
      await running.access.requestApproval(user, (id, message) => this.send(running, id, message));
    }
    if (user.status === "active") {
      running.access.syncMenu(user).catch((error: unknown) => {
        running.log.warn(
          { err: error, userId: user.telegramId },
          "the command menu could not be updated",
        );
      });
    }
    return resolution;
  }

  /**
   * Public actions run for anyone but blocked users; others for admins and for users a
   * permission names.
   */
  private async allowed(running: Running, action: RegisteredAction, user: User | null) {
    if (user?.status === "blocked") return false;
    if (action.public) return true;
    if (user === null) return false;
    return running.users.can(user, action.name);
  }

  /** What a refused user is told: nothing (blocked), "awaiting approval", or the refusal. */
  private refusal(running: Running, resolution: Resolution): string {
    if (resolution.outcome === "blocked") return "";
    if (resolution.outcome === "pending" || resolution.outcome === "registered") {
      return resolution.user.status === "pending"
        ? running.settings.users.pendingMessage
        : running.settings.responses.unauthorizedMessage;
    }
    return running.settings.responses.unauthorizedMessage;
  }

  private async refuse(
    running: Running,
    resolution: Resolution,
    from: TelegramUser,
    chatId: number,
    action: string | undefined,
  ): Promise<void> {
    running.log.info(
      {
        userId: from.id,
        outcome: resolution.outcome,
        chatId,
        ...(action === undefined ? {} : { action }),
      },
      action === undefined
        ? "a message from a user without access was refused"
        : `the action ${action} was refused`,
    );
    const text = this.refusal(running, resolution);
    if (text.trim() !== "")
      await this.send(running, chatId, { type: "text", text, format: "plain" });
  }

  /**
   * A pressed inline button: an admin's decision on an access request, or a command button
   * (`bot.button("Buy", "/buy 3")`), authorized like the command itself.
   */
  private async handleButton(running: Running, update: Update, raw: unknown) {
    const { transport, log } = running;
    const query = (update as { callback_query: CallbackQuery }).callback_query;
    const answer = (text?: string, showAlert = false) =>
      transport
        .answerCallback(query.id, {
          ...(text ? { text: text.slice(0, 200) } : {}),
          ...(showAlert ? { showAlert } : {}),
        })
        .catch((error: unknown) =>
          log.debug({ err: error }, "a button press could not be answered"),
        );
    const data = "data" in query ? query.data : undefined;
    const message = query.message;
    const chat = message?.chat;
    if (data === undefined || chat === undefined || message === undefined) {
      await answer();
      return;
    }
    const ref = { chatId: chat.id, messageId: message.message_id };
    const pressed = answerButton(data);
    if (pressed !== undefined) {
      await this.pressAnswer(running, update, query, chat, pressed, raw, answer);
      return;
    }
    if (running.access.isDecision(data)) {
      const resolution = await this.resolve(running, query.from, chat.id);
      const presser =
        resolution === undefined || resolution.outcome === "unknown" ? null : resolution.user;
      const send = (id: number, response: unknown) => this.send(running, id, response);
      await answer(await running.access.decide(data, presser, query.from, ref, send));
      return;
    }
    const command = data.startsWith("/") ? parseCommand(data) : undefined;
    if (command === undefined) {
      // Not Kamihi's: raw middleware may have handled it; stop the client's spinner anyway.
      await answer();
      return;
    }
    const resolution = await this.resolve(running, query.from, chat.id);
    if (resolution === undefined) {
      await answer();
      return;
    }
    const user = resolution.outcome === "unknown" ? null : resolution.user;
    if (command.name === "help") {
      await answer();
      await this.send(running, chat.id, await this.helpText(running, user));
      return;
    }
    const action = this.registry.byCommand(command.name);
    if (action === undefined) {
      await answer("This button no longer does anything.");
      return;
    }
    if (!(await this.allowed(running, action, user))) {
      log.info(
        { userId: query.from.id, action: action.name, outcome: resolution.outcome },
        `the button of action ${action.name} was refused`,
      );
      const text = this.refusal(running, resolution);
      await answer(text, text !== "");
      return;
    }
    await answer();
    await this.startAction(running, action, update, query.from, user, chat, command.args, raw);
  }

  /** A pressed answer button (a choice, yes/no): the presser's reply to their own question. */
  private async pressAnswer(
    running: Running,
    update: Update,
    query: CallbackQuery,
    chat: Chat,
    pressed: { id: string; step: number; option: number },
    raw: unknown,
    answer: (text?: string, showAlert?: boolean) => Promise<unknown>,
  ) {
    const found = await running.conversations.find(chat.id, query.from.id);
    const conversation = found?.conversation;
    const action = conversation === undefined ? undefined : this.registry.get(conversation.action);
    const current = action?.questions[conversation?.step ?? -1];
    const option =
      current === undefined ? undefined : action?.ask[current.name]?.options?.[pressed.option];
    if (
      found === undefined ||
      conversation?.id !== pressed.id ||
      conversation.step !== pressed.step ||
      option === undefined
    ) {
      await answer("This question is not yours, or it was already answered.");
      return;
    }
    const resolution = await this.resolve(running, query.from, chat.id);
    if (resolution === undefined) {
      await answer();
      return;
    }
    // Access is checked again by continueConversation, like a typed reply.
    await answer();
    await this.continueConversation(
      running,
      found,
      update,
      query.from,
      resolution,
      chat,
      { text: option },
      raw,
    );
  }

  private async runAction(
    running: Running,
    action: RegisteredAction,
    update: Update,
    from: TelegramUser,
    user: User | null,
    chat: Chat,
    args: string,
    raw: unknown,
    answers: Record<string, unknown>,
  ) {
    const log = running.log.child({
      action: action.name,
      userId: from.id,
      chatId: chat.id,
      updateId: update.update_id,
    });
    const templates = this.templatesFor(running, action);
    const context: ActionContext<Record<string, unknown>> = {
      answers,
      user: actionUser(from, user ?? undefined),
      users: running.users,
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

  /** The commands this user may run, with their descriptions. */
  private async helpText(running: Running, user: User | null): Promise<string> {
    const lines = (await running.access.menuFor(user))
      .filter((entry) => entry.command !== "help")
      .map((entry) => `/${escapeMarkdown(entry.command)} — ${escapeMarkdown(entry.description)}`);
    return lines.length === 0
      ? "I have no commands for you yet."
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
