import type {
  Chat,
  Logger,
  MessageRef,
  Settings,
  Store,
  TelegramUser,
  TemplateSet,
  Update,
  User,
  UserService,
} from "@kamihi/core";
import type { Context } from "telegraf";
import type { ActionResult } from "./responses.js";

/**
 * The project's custom user fields, typed on `ctx.user.data`. Declare them once, next to the
 * schema in `models/user.ts`:
 *
 * ```ts
 * import * as v from "valibot";
 * const schema = v.object({ plan: v.optional(v.picklist(["free", "pro"]), "free") });
 * export default schema;
 * declare module "kamihi" {
 *   interface UserData extends v.InferOutput<typeof schema> {}
 * }
 * ```
 */
// biome-ignore lint/suspicious/noEmptyInterface: filled by the project through declaration merging
export interface UserData {}

/** The person behind an update, as the action sees them: the stored user, kept up to date. */
export interface ActionUser extends User<UserData & Record<string, unknown>> {
  /** False for someone the store does not know, running a public action. */
  known: boolean;
  /** The raw Telegram user. */
  telegram: TelegramUser;
}

/** Everything an action's handler receives. Parameter types are inferred: no annotations needed. */
export interface ActionContext<A = Record<string, never>> {
  /** The replies to the action's questions, checked and typed (`{}` without questions). */
  answers: A;
  /** Who sent the command (or pressed the button). */
  user: ActionUser;
  /** Users, roles and permissions: look users up, grant, register… */
  users: UserService;
  /** Where it was sent. */
  chat: Chat;
  /** The text after the command (`/echo hello there` → `"hello there"`), trimmed. */
  args: string;
  /** The validated settings. */
  settings: Settings;
  /** The store (MongoDB or embedded). */
  store: Store;
  /** A logger bound to this action, user, chat and update. */
  log: Logger;
  /** Renders the action's default template (`<action>.md.eta`) with `data`. */
  template: (data?: Record<string, unknown>) => Promise<string>;
  /** Every template of the action's folder, by name (`"details.md"`). */
  templates: TemplateSet;
  /** Sends a response right away, before the handler returns (same forms as a return value). */
  reply: (response: ActionResult) => Promise<MessageRef[]>;
  /** The update as Telegram sent it. */
  update: Update;
  /**
   * The escape hatch: the transport's own context of this update — Telegraf's `Context` with
   * the default transport (a custom transport hands over its own, or `undefined`).
   */
  tg: Context;
  /**
   * Aborted when the action runs past `actions.timeoutSeconds` (the user has been told it
   * failed): pass it to `fetch` and other cancellable work, or check `signal.aborted`.
   */
  signal: AbortSignal;
}

/** The action's user: the stored user, or (for a public action) the Telegram profile. */
export function actionUser(from: TelegramUser, stored: User | undefined): ActionUser {
  if (stored !== undefined) {
    return { ...stored, data: stored.data as ActionUser["data"], known: true, telegram: from };
  }
  return {
    telegramId: from.id,
    firstName: from.first_name,
    ...(from.last_name === undefined ? {} : { lastName: from.last_name }),
    ...(from.username === undefined ? {} : { username: from.username }),
    ...(from.language_code === undefined ? {} : { languageCode: from.language_code }),
    isAdmin: false,
    roles: [],
    status: "active",
    data: {} as ActionUser["data"],
    createdAt: new Date(),
    known: false,
    telegram: from,
  };
}
