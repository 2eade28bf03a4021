import type {
  AccessChange,
  BotCommand,
  Logger,
  MessageRef,
  Settings,
  TelegramUser,
  Transport,
  User,
  UserService,
} from "@kamihi/core";
import { escapeMarkdown } from "@kamihi/templates";
import type { Registry } from "./actions.js";

/** Callback data of the approve/deny buttons sent to admins: `kamihi:reg:<yes|no>:<id>`. */
const DECISION = /^kamihi:reg:(yes|no):(\d{1,16})$/;

/** The most commands Telegram shows in one menu. */
const MENU_LIMIT = 100;

interface AccessOptions {
  users: UserService;
  transport: Transport;
  registry: Registry;
  settings: Settings;
  log: Logger;
}

/**
 * What the runtime does around access that needs Telegram: per-user command menus, the
 * approval requests sent to admins, and the admins' decisions.
 */
export class Access {
  private readonly users: UserService;
  private readonly transport: Transport;
  private readonly registry: Registry;
  private readonly settings: Settings;
  private readonly log: Logger;
  /** The menu last published for each user's private chat (by its content). */
  private readonly published = new Map<number, string>();
  /**
   * User records whose menu is known to be published as it should be: a contact by the same
   * record (the user service hands out one per user until something changes) costs nothing.
   */
  private current = new WeakSet<User>();
  /** Users whose menu must be recomputed; processed one at a time, in the background. */
  private readonly pending = new Set<number>();
  private everyone = false;
  private working: Promise<void> | undefined;
  private stopped = false;

  constructor(options: AccessOptions) {
    this.users = options.users;
    this.transport = options.transport;
    this.registry = options.registry;
    this.settings = options.settings;
    this.log = options.log;
  }

  /** Commands anyone may run (public actions), and /help: the menu of every private chat. */
  publicMenu(): BotCommand[] {
    return this.menuOf(this.registry.list().filter((action) => action.public));
  }

  /** The commands this user may run, then /help. */
  async menuFor(user: User | null): Promise<BotCommand[]> {
    if (user === null || user.status !== "active") return this.publicMenu();
    const allowed = new Set(await this.users.allowedActions(user));
    return this.menuOf(
      this.registry.list().filter((action) => action.public || allowed.has(action.name)),
    );
  }

  /**
   * Publishes the user's menu in their private chat when it differs from what was published
   * last (by this process): a contact costs no Telegram call in the steady state.
   */
  async syncMenu(user: User): Promise<void> {
    if (this.current.has(user)) return;
    const generation = this.current;
    const menu = await this.menuFor(user);
    const key = JSON.stringify(menu);
    if (this.published.get(user.telegramId) !== key) await this.publish(user.telegramId, menu, key);
    if (this.published.get(user.telegramId) === key) generation.add(user);
  }

  /** Queues the menus of the users a change touched; see {@link syncMenu}. */
  changed(change: AccessChange): void {
    if (this.stopped) return;
    // Permissions or roles changed: every menu is checked again on its user's next contact.
    this.current = new WeakSet();
    if ("all" in change) this.everyone = true;
    else for (const id of change.users) this.pending.add(id);
    this.working ??= this.work().finally(() => {
      this.working = undefined;
    });
  }

  /** Resolves once the queued menu updates are done (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.working !== undefined) await this.working;
  }

  stop(): void {
    this.stopped = true;
    this.pending.clear();
    this.everyone = false;
  }

  private async work(): Promise<void> {
    while (!this.stopped && (this.everyone || this.pending.size > 0)) {
      if (this.everyone) {
        this.everyone = false;
        this.pending.clear();
        await this.syncEveryone();
        continue;
      }
      const [id] = this.pending;
      if (id === undefined) break;
      this.pending.delete(id);
      try {
        const user = await this.users.getUser(id);
        const menu = await this.menuFor(user);
        const key = JSON.stringify(menu);
        // A user never seen here with no access gets nothing: the default menu already fits.
        if (user === null && !this.published.has(id)) continue;
        if (this.published.get(id) !== key) await this.publish(id, menu, key);
      } catch (error) {
        this.log.warn({ err: error, userId: id }, "a user's command menu could not be updated");
      }
    }
  }

  private async syncEveryone(): Promise<void> {
    let after: string | undefined;
    do {
      // Only the pages are needed: no count of everyone on every page.
      const page = await this.users.listUsers({
        limit: 500,
        countUpTo: 1,
        ...(after ? { after } : {}),
      });
      for (const user of page.users) {
        if (this.stopped) return;
        await this.syncMenu(user).catch((error: unknown) => {
          this.log.warn(
            { err: error, userId: user.telegramId },
            "a command menu could not be updated",
          );
        });
      }
      after = page.next;
    } while (after !== undefined);
  }

  private async publish(chatId: number, menu: BotCommand[], key: string): Promise<void> {
    try {
      await this.transport.setCommands(menu, { type: "chat", chatId });
      this.published.set(chatId, key);
    } catch (error) {
      // A user who never opened a private chat with the bot has no chat to scope a menu to.
      this.log.debug({ err: error, userId: chatId }, "the user's command menu was not published");
    }
  }

  private menuOf(actions: ReturnType<Registry["list"]>): BotCommand[] {
    const entries = actions.flatMap((action) =>
      action.commands.map((command) => ({
        command,
        description: menuDescription(action.description, action.name),
      })),
    );
    return [
      ...entries.slice(0, MENU_LIMIT - 1),
      { command: "help", description: "List what I can do" },
    ];
  }

  // ---- approval ------------------------------------------------------------------------------

  /** Asks every admin to approve or deny a user who registered (`users.registration: approval`). */
  async requestApproval(user: User, send: (chatId: number, message: unknown) => Promise<unknown>) {
    const who = [
      `**${escapeMarkdown([user.firstName, user.lastName].filter(Boolean).join(" "))}**`,
      user.username === undefined ? "" : ` \\(@${escapeMarkdown(user.username)}\\)`,
      `, Telegram id \`${user.telegramId}\``,
    ].join("");
    const message = {
      type: "text",
      text: `New access request: ${who} wants to use the bot.`,
      replyMarkup: {
        inlineKeyboard: [
          [
            { text: "✅ Approve", callbackData: `kamihi:reg:yes:${user.telegramId}` },
            { text: "❌ Deny", callbackData: `kamihi:reg:no:${user.telegramId}` },
          ],
        ],
      },
    };
    let admins = 0;
    let after: string | undefined;
    do {
      const page = await this.users.listUsers({
        isAdmin: true,
        status: "active",
        limit: 500,
        ...(after ? { after } : {}),
      });
      for (const admin of page.users) {
        admins++;
        await send(admin.telegramId, message).catch((error: unknown) => {
          this.log.warn({ err: error, adminId: admin.telegramId }, "an admin could not be asked");
        });
      }
      after = page.next;
    } while (after !== undefined);
    if (admins === 0) {
      this.log.warn(
        { userId: user.telegramId },
        "a user asks for access but there is no admin to approve them; add one with `kamihi user add <id> --admin` or users.admins",
      );
    }
  }

  /** Whether callback data is an approval decision (handled by {@link decide}). */
  isDecision(data: string): boolean {
    return DECISION.test(data);
  }

  /**
   * Applies an admin's decision once, however many admins press at the same time; the loser is
   * told who was faster. Returns the text of the callback answer.
   */
  async decide(
    data: string,
    presser: User | null,
    from: TelegramUser,
    message: MessageRef | undefined,
    send: (chatId: number, message: unknown) => Promise<unknown>,
  ): Promise<string> {
    const match = DECISION.exec(data);
    if (match === null) return "";
    if (presser === null || presser.status !== "active" || !presser.isAdmin) {
      this.log.info({ userId: from.id }, "a non-admin pressed an approval button");
      return "Only admins can decide on access requests.";
    }
    const approve = match[1] === "yes";
    const telegramId = Number(match[2]);
    const decision = await this.users.decide(telegramId, approve);
    if (decision.outcome === "missing") {
      if (message) await this.edit(message, "This access request is gone: the user was deleted.");
      return "That user no longer exists.";
    }
    const user = decision.user;
    const name = escapeMarkdown(user.firstName);
    if (decision.outcome === "already") {
      const state =
        user.status === "active" ? "approved" : user.status === "blocked" ? "denied" : "pending";
      if (message) await this.edit(message, `Access request of ${name}: already ${state}.`);
      return `Already ${state}.`;
    }
    const by = escapeMarkdown(from.first_name);
    this.log.info(
      { userId: telegramId, adminId: from.id, approve },
      "an access request was decided",
    );
    if (message) {
      await this.edit(
        message,
        `${approve ? "✅" : "❌"} ${name} was ${approve ? "approved" : "denied"} by ${by}.`,
      );
    }
    const tell = approve ? this.settings.users.approvedMessage : this.settings.users.deniedMessage;
    if (tell.trim() !== "") {
      await send(telegramId, tell).catch((error: unknown) => {
        this.log.warn(
          { err: error, userId: telegramId },
          "the user could not be told the decision",
        );
      });
    }
    return approve ? "Approved." : "Denied.";
  }

  private async edit(ref: MessageRef, text: string): Promise<void> {
    await this.transport.edit(ref, { type: "text", text }).catch((error: unknown) => {
      this.log.debug({ err: error }, "the access request message could not be edited");
    });
  }
}

/** A menu description Telegram accepts: 1 to 256 characters, never a cut emoji. */
export function menuDescription(description: string | undefined, name: string): string {
  const text = (description ?? "").trim() || name;
  const chars = [...text];
  return chars.length <= 256 ? text : `${chars.slice(0, 255).join("")}…`;
}
