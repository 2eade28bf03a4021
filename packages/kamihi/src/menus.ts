import type { AccessChange, BotCommand, Logger, Transport, User, UserService } from "@kamihi/core";
import type { Registry } from "./actions.js";

/** The most commands Telegram shows in one menu. */
const MENU_LIMIT = 100;

/** What {@link Menus} works with. */
export interface MenusOptions {
  users: UserService;
  transport: Transport;
  registry: Registry;
  log: Logger;
}

/**
 * The command menus: one for everyone (public actions and /help), and one per user in their
 * private chat with what they may run, kept current as access changes.
 */
export class Menus {
  private readonly users: UserService;
  private readonly transport: Transport;
  private readonly registry: Registry;
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

  constructor(options: MenusOptions) {
    this.users = options.users;
    this.transport = options.transport;
    this.registry = options.registry;
    this.log = options.log;
  }

  /** Commands anyone may run (public actions), and /help: the menu of every private chat. */
  forEveryone(): BotCommand[] {
    return this.menuOf(this.registry.list().filter((action) => action.public));
  }

  /** The commands this user may run, then /help. */
  async of(user: User | null): Promise<BotCommand[]> {
    if (user === null || user.status !== "active") return this.forEveryone();
    const allowed = new Set(await this.users.allowedActions(user));
    return this.menuOf(
      this.registry.list().filter((action) => action.public || allowed.has(action.name)),
    );
  }

  /**
   * Publishes the user's menu in their private chat when it differs from what was published
   * last (by this process): a contact costs no Telegram call in the steady state.
   */
  async sync(user: User): Promise<void> {
    if (this.current.has(user)) return;
    const generation = this.current;
    const menu = await this.of(user);
    const key = JSON.stringify(menu);
    if (this.published.get(user.telegramId) !== key) await this.publish(user.telegramId, menu, key);
    if (this.published.get(user.telegramId) === key) generation.add(user);
  }

  /** Queues the menus of the users a change touched; see {@link sync}. */
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
        const menu = await this.of(user);
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
        await this.sync(user).catch((error: unknown) => {
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
}

/** A menu description Telegram accepts: 1 to 256 characters, never a cut emoji. */
export function menuDescription(description: string | undefined, name: string): string {
  const text = (description ?? "").trim() || name;
  const chars = [...text];
  return chars.length <= 256 ? text : `${chars.slice(0, 255).join("")}…`;
}
