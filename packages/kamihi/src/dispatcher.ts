import { dirname, join, resolve as resolvePath } from "node:path";
import type {
  CallbackQuery,
  Chat,
  Logger,
  Message,
  MessageRef,
  Resolution,
  Settings,
  Store,
  TelegramUser,
  TemplateEngine,
  TemplateSet,
  Transport,
  Update,
  UpdateSummary,
  User,
  UserService,
} from "@kamihi/core";
import { escapeMarkdown } from "@kamihi/templates";
import type { Access } from "./access.js";
import type { RegisteredAction, Registry } from "./actions.js";
import { type ActionContext, actionUser } from "./context.js";
import { StoreOutage, storeIsDown } from "./outage.js";
import {
  answerButton,
  askMessage,
  type Conversation,
  type Conversations,
  type Question,
  replyOf,
  withDownloads,
} from "./questions.js";
import { renderResponse } from "./responses.js";
import type { ActionStats } from "./stats.js";

/** What a started bot hands the handler: its settings and the pieces it opened. */
export interface HandlerParts {
  root: string;
  settings: Settings;
  log: Logger;
  store: Store;
  transport: Transport;
  templates: TemplateEngine;
  users: UserService;
  access: Access;
  conversations: Conversations;
  registry: Registry;
  stats: ActionStats;
}

/** One update being handled: who sent it, where, and what the user service said of them. */
interface Turn {
  update: Update;
  from: TelegramUser;
  chat: Chat;
  /** The raw Telegraf context. */
  raw: unknown;
  resolution: Resolution;
  /** The stored user; `null` for someone the bot does not know. */
  user: User | null;
}

type Reply = Parameters<Question<unknown>["parse"]>[0];
type Found = { conversation: Conversation; expired: boolean };

/**
 * Handles one update of a started bot (the flow of docs/architecture §3): resolve the sender,
 * feed a waiting question or route the command or button, authorize, run, send the response.
 */
export class Dispatcher {
  /** The bot's username, known once the transport has started. */
  username = "";
  /** Issues admin sign-in links, when the web admin runs (or `web.publicUrl` names one). */
  adminLink: ((telegramId: number) => Promise<string>) | undefined;
  private readonly parts: HandlerParts;
  /** Whether any action asks questions: without, no message costs a conversation lookup. */
  private readonly asks: boolean;

  constructor(parts: HandlerParts) {
    this.parts = parts;
    this.asks = parts.registry.list().some((action) => action.questions.length > 0);
  }

  async handle(update: Update, summary: UpdateSummary, raw: unknown): Promise<void> {
    if (summary.kind === "callback_query") {
      await this.button(update, raw);
      return;
    }
    if (summary.kind !== "message" || summary.chat === undefined || summary.from === undefined)
      return;
    const { settings, conversations, registry } = this.parts;
    const { chat, from } = summary;
    const command = parseCommand(summary.text);
    const addressed =
      command !== undefined &&
      (command.bot === undefined || command.bot.toLowerCase() === this.username.toLowerCase());
    if (command !== undefined && !addressed) return;
    const private_ = chat.type === "private";
    // A plain message may answer a question; otherwise, in groups, plain chatter is ignored.
    const pending =
      command === undefined && this.asks ? await conversations.find(chat.id, from.id) : undefined;
    if (command === undefined && pending === undefined && !private_) return;
    const turn = await this.turn(update, from, chat, raw);
    if (turn === undefined) return;
    const { resolution, user } = turn;
    const told = resolution.outcome === "registered" && resolution.user.status === "pending";
    const action =
      command === undefined || command.name === "help"
        ? undefined
        : registry.byCommand(command.name);
    if (resolution.outcome === "blocked") {
      // Blocked users get nothing at all; the refusal is only logged.
      await this.refuse(turn, action?.name);
      return;
    }
    if (pending !== undefined) {
      const message = (update as { message?: Message }).message;
      await this.continueConversation(turn, pending, replyOf(summary.text, message));
      return;
    }
    if (command?.name === "help") {
      await this.send(chat.id, await this.helpText(user));
      return;
    }
    if (command?.name === "admin" && action === undefined && this.adminLink !== undefined) {
      await this.sendAdminLink(turn, this.adminLink);
      return;
    }
    if (command?.name === settings.responses.cancelCommand && action === undefined && this.asks) {
      const had = await conversations.drop(chat.id, from.id);
      await this.send(chat.id, had ? "Cancelled." : "There is nothing to cancel.");
      return;
    }
    if (action === undefined) {
      if (told) return;
      if (user?.status !== "active") {
        await this.refuse(turn, undefined);
      } else if (settings.responses.defaultEnabled && (private_ || command?.bot !== undefined)) {
        await this.send(chat.id, settings.responses.defaultMessage);
      }
      return;
    }
    if (!(await this.allowed(action, user))) {
      if (!told) await this.refuse(turn, action.name);
      return;
    }
    await this.startAction(turn, action, command?.args ?? "");
  }

  /**
   * Finds the sender (registering them as `users.registration` says) and keeps their command
   * menu current. A new user awaiting approval is told so, and the admins are asked.
   */
  private async turn(
    update: Update,
    from: TelegramUser,
    chat: Chat,
    raw: unknown,
  ): Promise<Turn | undefined> {
    const { users, access, log, settings } = this.parts;
    let resolution: Resolution;
    try {
      resolution = await users.resolve(from);
    } catch (error) {
      // The store is down: the update waits for it rather than failing.
      if (await storeIsDown(this.parts.store, error)) throw new StoreOutage(error);
      log.error({ err: error, userId: from.id }, "the user could not be looked up");
      await this.send(chat.id, settings.responses.errorMessage).catch(() => {});
      return undefined;
    }
    const user = resolution.outcome === "unknown" ? null : resolution.user;
    if (resolution.outcome === "registered" && resolution.user.status === "pending") {
      await this.send(chat.id, settings.users.pendingMessage);
      await access.requestApproval(resolution.user, (id, message) => this.send(id, message));
    }
    if (user?.status === "active") {
      access.syncMenu(user).catch((error: unknown) => {
        log.warn({ err: error, userId: user.telegramId }, "the command menu could not be updated");
      });
    }
    return { update, from, chat, raw, resolution, user };
  }

  /**
   * `/admin`: a single-use sign-in link for the web admin, for admins only and only in their
   * private chat (a link is personal: whoever opens it is signed in).
   */
  private async sendAdminLink(
    turn: Turn,
    adminLink: (telegramId: number) => Promise<string>,
  ): Promise<void> {
    const { user, chat } = turn;
    if (user === null || user.status !== "active" || !user.isAdmin) {
      await this.refuse(turn, "admin");
      return;
    }
    if (chat.type !== "private") {
      await this.send(chat.id, "Send /admin to me in a private chat: sign-in links are personal.");
      return;
    }
    const link = await adminLink(user.telegramId);
    this.parts.log.info({ userId: user.telegramId }, "an admin sign-in link was sent");
    await this.send(chat.id, {
      type: "text",
      format: "plain",
      text: `Your sign-in link for the admin (it works once, for 10 minutes; do not share it):\n${link}`,
      // A link preview would fetch the link; the admin asks to confirm, but there is no need.
      disableLinkPreview: true,
    });
  }

  /**
   * Public actions run for anyone but blocked users; others for admins and for users a
   * permission names. Every path to action code asks this.
   */
  private async allowed(action: RegisteredAction, user: User | null): Promise<boolean> {
    if (user?.status === "blocked") return false;
    if (action.public) return true;
    if (user === null) return false;
    return this.parts.users.can(user, action.name);
  }

  /** What a refused user is told: nothing (blocked), "awaiting approval", or the refusal. */
  private refusal(resolution: Resolution): string {
    const { settings } = this.parts;
    if (resolution.outcome === "blocked") return "";
    if (resolution.outcome !== "unknown" && resolution.user.status === "pending") {
      return settings.users.pendingMessage;
    }
    return settings.responses.unauthorizedMessage;
  }

  /** Logs a refusal and tells the user, unless the answer is silence. */
  private async refuse(turn: Turn, action: string | undefined): Promise<void> {
    this.parts.log.info(
      {
        userId: turn.from.id,
        outcome: turn.resolution.outcome,
        chatId: turn.chat.id,
        ...(action === undefined ? {} : { action }),
      },
      action === undefined
        ? "a message from a user without access was refused"
        : `the action ${action} was refused`,
    );
    const text = this.refusal(turn.resolution);
    if (text.trim() !== "") await this.send(turn.chat.id, { type: "text", text, format: "plain" });
  }

  /** Runs an action, or starts its questions (replacing any question left unanswered here). */
  private async startAction(turn: Turn, action: RegisteredAction, args: string): Promise<void> {
    const { conversations } = this.parts;
    const first = action.questions[0];
    if (first === undefined) {
      if (this.asks) await conversations.drop(turn.chat.id, turn.from.id);
      await this.runAction(turn, action, args, {});
      return;
    }
    const conversation = await conversations.begin(turn.chat.id, turn.from.id, action.name, args);
    await this.send(
      turn.chat.id,
      askMessage(conversation, action.ask[first.name] as Question<unknown>),
    );
  }

  /**
   * Feeds a reply to the question waiting for this user here: checked again for access, parsed
   * and validated; a wrong answer is explained and the question asked again; after the last
   * answer the action runs.
   */
  private async continueConversation(turn: Turn, found: Found, reply: Reply): Promise<void> {
    const { conversations, registry, settings, transport } = this.parts;
    const { conversation, expired } = found;
    const chatId = turn.chat.id;
    const action = registry.get(conversation.action);
    if (expired || action === undefined) {
      await conversations.end(conversation);
      const command = action?.commands[0];
      await this.send(
        chatId,
        command === undefined
          ? "That conversation is over."
          : `That question expired. Send /${escapeMarkdown(command)} to start again.`,
      );
      return;
    }
    if (!(await this.allowed(action, turn.user))) {
      // Access can be taken away mid-conversation: the answers never reach the action.
      await conversations.end(conversation);
      await this.refuse(turn, action.name);
      return;
    }
    const current = action.questions[conversation.step];
    const item = current === undefined ? undefined : action.ask[current.name];
    if (current === undefined || item === undefined) {
      await conversations.end(conversation);
      return;
    }
    const parsed = await item.parse(reply, settings.timezone);
    if ("error" in parsed) {
      await this.send(chatId, { type: "text", text: parsed.error, format: "plain" });
      await this.send(chatId, askMessage(conversation, item));
      return;
    }
    // Another handler (a second instance, a double press) advanced it first: nothing to do.
    if (!(await conversations.answer(conversation, current.name, parsed.value))) return;
    const next = action.questions[conversation.step];
    if (next !== undefined) {
      await this.send(chatId, askMessage(conversation, action.ask[next.name] as Question<unknown>));
      return;
    }
    if (!(await conversations.end(conversation))) return;
    const answers = withDownloads(conversation.answers, transport);
    await this.runAction(turn, action, conversation.args, answers);
  }

  /**
   * A pressed inline button: an answer to a question, an admin's decision on an access request,
   * or a command button (`bot.button("Buy", "/buy 3")`), authorized like the command itself.
   */
  private async button(update: Update, raw: unknown): Promise<void> {
    const { transport, log, access, registry } = this.parts;
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
    const pressed = answerButton(data);
    if (pressed !== undefined) {
      // Only the user who was asked can answer, and only the question being asked.
      const found = await this.parts.conversations.find(chat.id, query.from.id);
      const conversation = found?.conversation;
      const action = conversation === undefined ? undefined : registry.get(conversation.action);
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
      const turn = await this.turn(update, query.from, chat, raw);
      await answer();
      // Access is checked again by continueConversation, like a typed reply.
      if (turn !== undefined) await this.continueConversation(turn, found, { text: option });
      return;
    }
    if (access.isDecision(data)) {
      const turn = await this.turn(update, query.from, chat, raw);
      const ref = { chatId: chat.id, messageId: message.message_id };
      const send = (id: number, response: unknown) => this.send(id, response);
      await answer(await access.decide(data, turn?.user ?? null, query.from, ref, send));
      return;
    }
    const command = data.startsWith("/") ? parseCommand(data) : undefined;
    if (command === undefined) {
      // Not Kamihi's: raw middleware may have handled it; stop the client's spinner anyway.
      await answer();
      return;
    }
    const turn = await this.turn(update, query.from, chat, raw);
    if (turn === undefined) {
      await answer();
      return;
    }
    if (command.name === "help") {
      await answer();
      await this.send(chat.id, await this.helpText(turn.user));
      return;
    }
    const action = registry.byCommand(command.name);
    if (action === undefined) {
      await answer("This button no longer does anything.");
      return;
    }
    if (!(await this.allowed(action, turn.user))) {
      log.info(
        { userId: query.from.id, action: action.name, outcome: turn.resolution.outcome },
        `the button of action ${action.name} was refused`,
      );
      const text = this.refusal(turn.resolution);
      await answer(text, text !== "");
      return;
    }
    await answer();
    await this.startAction(turn, action, command.args);
  }

  private async runAction(
    turn: Turn,
    action: RegisteredAction,
    args: string,
    answers: Record<string, unknown>,
  ): Promise<void> {
    const { users, settings, store } = this.parts;
    const { update, from, chat, user } = turn;
    const log = this.parts.log.child({
      action: action.name,
      userId: from.id,
      chatId: chat.id,
      updateId: update.update_id,
    });
    const templates = this.templatesFor(action);
    const abort = new AbortController();
    const context: ActionContext<Record<string, unknown>> = {
      answers,
      user: actionUser(from, user ?? undefined),
      users,
      chat,
      args,
      settings,
      store,
      log,
      template: (data = {}) => templates.render(`${action.name}.md`, data),
      templates,
      reply: (response) => this.send(chat.id, response, action.name),
      update,
      tg: turn.raw,
      signal: abort.signal,
    };
    this.parts.stats.ran(action.name);
    const limit = settings.actions.timeoutSeconds;
    try {
      const result = await withTimeLimit(
        Promise.resolve(action.handler(context)),
        limit * 1000,
        abort,
      );
      await this.send(chat.id, result, action.name);
    } catch (error) {
      if (error instanceof ActionTimeout) {
        log.error(
          { timeoutSeconds: limit },
          `action ${action.name} did not finish within ${limit}s (actions.timeoutSeconds); its chat moves on`,
        );
      } else if (await storeIsDown(store, error)) {
        // Handled again once the store is back (the update waits for it).
        throw new StoreOutage(error);
      } else {
        log.error({ err: error }, `action ${action.name} failed`);
      }
      this.parts.stats.failed(action.name, error);
      await this.send(chat.id, settings.responses.errorMessage).catch((sendError: unknown) => {
        log.error({ err: sendError }, "the error message could not be sent");
      });
    }
  }

  private templatesFor(action: RegisteredAction): TemplateSet {
    const { root, templates } = this.parts;
    const folder =
      action.source === undefined
        ? join(root, "actions", action.name)
        : dirname(resolvePath(root, action.source));
    return templates.forAction(folder);
  }

  /** The commands this user may run, with their descriptions. */
  private async helpText(user: User | null): Promise<string> {
    const lines = (await this.parts.access.menuFor(user))
      .filter((entry) => entry.command !== "help")
      .map((entry) => `/${escapeMarkdown(entry.command)} — ${escapeMarkdown(entry.description)}`);
    return lines.length === 0
      ? "I have no commands for you yet."
      : ["Here is what I can do:", "", ...lines].join("\n");
  }

  private async send(chatId: number, response: unknown, action = "help"): Promise<MessageRef[]> {
    const refs: MessageRef[] = [];
    for (const message of renderResponse(response, action)) {
      refs.push(...(await this.parts.transport.send(chatId, message)));
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

/** An action ran past `actions.timeoutSeconds`. */
class ActionTimeout extends Error {
  override name = "ActionTimeout";
}

/**
 * The action's result, or an {@link ActionTimeout} once `ms` have passed; then `abort` is
 * aborted so an action that watches `signal` can stop its work (JavaScript cannot stop it).
 */
function withTimeLimit<T>(work: Promise<T>, ms: number, abort: AbortController): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const error = new ActionTimeout(`The action did not finish within ${ms / 1000}s.`);
      abort.abort(error);
      reject(error);
    }, ms);
    // A hung action must not keep a stopping process alive.
    timer.unref();
  });
  return Promise.race([work, limit]).finally(() => clearTimeout(timer));
}
