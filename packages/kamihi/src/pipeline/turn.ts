import type {
  BotInfo,
  Chat,
  Logger,
  MessageRef,
  Resolution,
  Settings,
  Store,
  TelegramUser,
  TemplateEngine,
  Transport,
  Update,
  User,
  UserService,
} from "@kamihi/core";
import type { ActionResult, RegisteredAction, Registry } from "../actions.js";
import type { Approvals } from "../approvals.js";
import type { Conversation, Conversations } from "../conversations.js";
import type { Menus } from "../menus.js";
import type { Reply } from "../questions.js";
import type { ActionStats } from "../stats.js";
import type { ParsedCommand } from "./parse-command.js";

/** What the steps work with: the bot's settings and the pieces `compose()` opened. */
export interface Kit {
  root: string;
  settings: Settings;
  log: Logger;
  store: Store;
  transport: Transport;
  templates: TemplateEngine;
  users: UserService;
  registry: Registry;
  conversations: Conversations;
  stats: ActionStats;
  menus: Menus;
  approvals: Approvals;
  /** The bot itself, from `getMe` before the first update. */
  me: BotInfo;
  /** Issues admin sign-in links, when the web admin runs (or `web.publicUrl` names one). */
  adminLink: ((telegramId: number) => Promise<string>) | undefined;
  /** Whether any action asks questions: without, no message costs a conversation lookup. */
  asks: boolean;
  /** Renders a response and sends it to a chat (`action` names the action in errors). */
  say(chatId: number, response: unknown, action?: string): Promise<MessageRef[]>;
}

/** A pressed inline button: its message, and a way to answer it (the first answer counts). */
export interface PressedButton {
  /** The message the button is under. */
  ref: MessageRef;
  /** Stops the client's spinner, with a toast (or an alert) when `text` is given. */
  answer(text?: string, alert?: boolean): Promise<void>;
}

/** A conversation waiting for this user here, and whether it has expired. */
export interface Pending {
  conversation: Conversation;
  expired: boolean;
}

/**
 * One update on its way through the pipeline: what it asks (read once), who sent it (after
 * `resolveUser`), which action it runs (after `conversation` or `route`) and what that returned.
 */
export interface Turn {
  readonly update: Update;
  /** The transport's own context of this update (Telegraf's `Context`): the `tg` escape hatch. */
  readonly raw: unknown;
  readonly chat: Chat;
  readonly from: TelegramUser;
  /** Set for a pressed button; `undefined` for a message. */
  readonly button: PressedButton | undefined;
  /** The command sent, or carried by a command button (`bot.button("Buy", "/buy 3")`). */
  command: ParsedCommand | undefined;
  /** An admin's decision on an access request (a button's data). */
  decision: string | undefined;
  /** The question this update may answer, and the answer it carries. */
  pending: Pending | undefined;
  reply: Reply | undefined;
  /** What the user service said of the sender (`unknown` until `resolveUser`). */
  resolution: Resolution;
  /** The stored user; `null` for someone the bot does not know. */
  user: User | null;
  /** The sender was just registered and told they await approval: no refusal follows. */
  told: boolean;
  action: RegisteredAction | undefined;
  args: string;
  /** The checked answers to the action's questions; `undefined` until they are all in. */
  answers: Record<string, unknown> | undefined;
  /** What the action returned. */
  result: ActionResult;
}

/**
 * A turn as `read` starts it: what the update asks (`asks`), nobody resolved yet, no action.
 */
export function createTurn(
  update: Update,
  raw: unknown,
  chat: Chat,
  from: TelegramUser,
  button: PressedButton | undefined,
  asks: Partial<Pick<Turn, "command" | "decision" | "pending" | "reply">> = {},
): Turn {
  return {
    update,
    raw,
    chat,
    from,
    button,
    command: asks.command,
    decision: asks.decision,
    pending: asks.pending,
    reply: asks.reply,
    resolution: { outcome: "unknown" },
    user: null,
    told: false,
    action: undefined,
    args: "",
    answers: undefined,
    result: undefined,
  };
}

/** Goes on to the next step. */
export type Next = () => Promise<void>;

/** One step of the pipeline: does its part, then calls `next` — or does not, and the turn ends. */
export type Step = (turn: Turn, next: Next) => Promise<void>;

/** Runs `steps` in order as one step (the shape of grammY's `Composer`). */
export function sequence(steps: readonly Step[]): Step {
  const run = (index: number, turn: Turn, last: Next): Promise<void> => {
    const step = steps[index];
    if (step === undefined) return last();
    return step(turn, () => run(index + 1, turn, last));
  };
  return (turn, next) => run(0, turn, next);
}

/** The end of the line. */
export const done: Next = () => Promise.resolve();
