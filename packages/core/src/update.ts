import type { CallbackQuery, Chat, Message, User as TelegramUser, Update } from "@telegraf/types";

export type { CallbackQuery, Chat, Message, TelegramUser, Update };

/** A chat id as the Bot API accepts it: a number, or `@channelusername`. */
export type ChatId = number | string;

/** What kind of update arrived, for routing and logs. */
export type UpdateKind =
  | "message"
  | "edited_message"
  | "callback_query"
  | "channel_post"
  | "edited_channel_post"
  | "inline_query"
  | "my_chat_member"
  | "chat_member"
  | "other";

/** The parts of an update that routing, ordering and user resolution need. */
export interface UpdateSummary {
  /** The Bot API `update_id`. */
  updateId: number;
  kind: UpdateKind;
  /** The chat the update belongs to, when it belongs to one. */
  chat?: Chat;
  /** The Telegram user who caused the update, when there is one. */
  from?: TelegramUser;
  /** Message text or caption, when the update carries one. */
  text?: string;
  /** The callback data of a pressed inline button. */
  callbackData?: string;
  /** The message the update is about (the new message, or the one whose button was pressed). */
  message?: Message;
}

const messageKinds = ["message", "edited_message", "channel_post", "edited_channel_post"] as const;

/**
 * Extracts chat, sender, text and callback data from any update, whatever its kind. The
 * dispatcher keys per-chat ordering on `chat.id`; user resolution reads `from`.
 */
export function summarizeUpdate(update: Update): UpdateSummary {
  const summary: UpdateSummary = { updateId: update.update_id, kind: "other" };
  const u = update as Update & Record<string, unknown>;
  for (const kind of messageKinds) {
    const message = u[kind] as Message | undefined;
    if (message === undefined) continue;
    summary.kind = kind;
    summary.message = message;
    summary.chat = message.chat;
    if (message.from !== undefined) summary.from = message.from;
    const text = textOf(message);
    if (text !== undefined) summary.text = text;
    return summary;
  }
  if ("callback_query" in update) {
    const query: CallbackQuery = update.callback_query;
    summary.kind = "callback_query";
    summary.from = query.from;
    if ("data" in query && typeof query.data === "string") summary.callbackData = query.data;
    if (query.message !== undefined) {
      summary.chat = query.message.chat;
      if ("date" in query.message && query.message.date !== 0) {
        summary.message = query.message as Message;
      }
    }
    return summary;
  }
  if ("inline_query" in update) {
    summary.kind = "inline_query";
    summary.from = update.inline_query.from;
    summary.text = update.inline_query.query;
    return summary;
  }
  if ("my_chat_member" in update) {
    summary.kind = "my_chat_member";
    summary.chat = update.my_chat_member.chat;
    summary.from = update.my_chat_member.from;
    return summary;
  }
  if ("chat_member" in update) {
    summary.kind = "chat_member";
    summary.chat = update.chat_member.chat;
    summary.from = update.chat_member.from;
    return summary;
  }
  return summary;
}

function textOf(message: Message): string | undefined {
  if ("text" in message && typeof message.text === "string") return message.text;
  if ("caption" in message && typeof message.caption === "string") return message.caption;
  return undefined;
}
