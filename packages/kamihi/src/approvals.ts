import type {
  Logger,
  MessageRef,
  Settings,
  TelegramUser,
  Transport,
  User,
  UserService,
} from "@kamihi/core";
import { escapeMarkdown } from "@kamihi/core";

/** Callback data of the approve/deny buttons sent to admins: `kamihi:reg:<yes|no>:<id>`. */
const DECISION = /^kamihi:reg:(yes|no):(\d{1,16})$/;

/** What {@link Approvals} works with. */
export interface ApprovalsOptions {
  users: UserService;
  transport: Transport;
  settings: Settings;
  log: Logger;
}

/**
 * Access requests (`users.registration: approval`): every admin is asked with approve/deny
 * buttons, and the first decision applies.
 */
export class Approvals {
  private readonly users: UserService;
  private readonly transport: Transport;
  private readonly settings: Settings;
  private readonly log: Logger;

  constructor(options: ApprovalsOptions) {
    this.users = options.users;
    this.transport = options.transport;
    this.settings = options.settings;
    this.log = options.log;
  }

  /** Asks every admin to approve or deny a user who registered (`users.registration: approval`). */
  async request(user: User, send: (chatId: number, message: unknown) => Promise<unknown>) {
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
