import type {
  Chat,
  Logger,
  MessageRef,
  Settings,
  Store,
  TelegramUser,
  TemplateSet,
  Update,
} from "@kamihi/core";

/** The person behind an update, as the action sees them. */
export interface ActionUser {
  /** Telegram user id. */
  telegramId: number;
  firstName: string;
  lastName?: string;
  username?: string;
  languageCode?: string;
  /** The raw Telegram user. */
  telegram: TelegramUser;
}

/** Everything an action's handler receives. Parameter types are inferred: no annotations needed. */
export interface ActionContext {
  /** Who sent the command. */
  user: ActionUser;
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
  reply: (response: unknown) => Promise<MessageRef[]>;
  /** The update as Telegram sent it. */
  update: Update;
  /** The escape hatch: the raw Telegraf context. */
  tg: unknown;
}

/** Turns a Telegram user into the action's user. */
export function actionUser(from: TelegramUser): ActionUser {
  return {
    telegramId: from.id,
    firstName: from.first_name,
    ...(from.last_name === undefined ? {} : { lastName: from.last_name }),
    ...(from.username === undefined ? {} : { username: from.username }),
    ...(from.language_code === undefined ? {} : { languageCode: from.language_code }),
    telegram: from,
  };
}
