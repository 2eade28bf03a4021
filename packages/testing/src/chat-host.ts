import type { EventEmitter } from "node:events";
import type { BotCommand, Chat, Message, ReplyKeyboardMarkup, User } from "@telegraf/types";

/** A file the emulator holds: uploaded by the bot or by a test user. */
export interface StoredFile {
  fileId: string;
  fileUniqueId: string;
  filePath: string;
  data: Buffer;
  fileName?: string;
  mimeType?: string;
}

/** Something the bot did in a chat, for tests and the playground. */
export type ChatEvent =
  | { type: "message"; message: Message }
  | { type: "edit"; message: Message }
  | { type: "delete"; messageId: number }
  | { type: "callbackAnswer"; callbackQueryId: string; text?: string; showAlert: boolean }
  /** The bot set this chat's own command menu (`setMyCommands` scoped to the chat). */
  | { type: "menu"; commands: BotCommand[] }
  /** The bot showed a reply keyboard under the input field, or removed it (`keyboard` absent). */
  | { type: "keyboard"; keyboard?: ReplyKeyboardMarkup };

/**
 * What a {@link TestChat} needs from the emulator it talks to: the emulator implements it, and
 * test chats depend on this, not on the emulator, so the two modules do not import each other.
 */
export interface ChatHost {
  readonly replyTimeoutMs: number;
  /** Emits `event` (chatId, ChatEvent) whenever the bot changes a chat. */
  readonly events: EventEmitter;
  ensureChat(chat: Chat): unknown;
  userMessage(chat: Chat, from: User, fields: Partial<Message> & Record<string, unknown>): Message;
  userPress(
    chat: Chat,
    from: User,
    message: Message,
    data: string,
  ): Promise<{ text?: string; showAlert: boolean }>;
  storeFile(data: Buffer, kind: string, fileName?: string, mimeType?: string): StoredFile;
  message(chatId: number, messageId: number): Message | undefined;
  chatEvents(chatId: number): readonly ChatEvent[];
  menu(chatId: number, userId?: number, languageCode?: string): BotCommand[];
  replyKeyboard(chatId: number): ReplyKeyboardMarkup | undefined;
  setBlocked(chatId: number, blocked: boolean): void;
}
