import type { BotCommand, Chat, InlineKeyboardButton, Message, User } from "@telegraf/types";
import type { ChatEvent, ChatHost } from "./chat-host.js";

/** Who is chatting, and where. */
export interface ChatOptions {
  /** The user's Telegram id. Default: a new id per chat. */
  userId?: number;
  firstName?: string;
  lastName?: string;
  username?: string;
  languageCode?: string;
  /** `private` (default), `group` or `supergroup`. */
  type?: "private" | "group" | "supergroup";
  /** A group's id (negative). Default: a new id. */
  chatId?: number;
  /** A group's title. */
  title?: string;
  /**
   * How long this chat waits for the bot when a call gives no `timeout`. Default: the
   * emulator's `replyTimeoutMs` (5 s).
   */
  replyTimeoutMs?: number;
}

/** What a reply must look like: its text (or caption) equal to a string, matching a RegExp, or passing a check. */
export type ReplyMatcher = string | RegExp | ((message: Message) => boolean);

let nextUserId = 100_000;
let nextGroupId = 1_000;

/** Text or caption of a message, for matching and error messages. */
export function messageText(message: Message): string {
  if ("text" in message) return message.text;
  if ("caption" in message && typeof message.caption === "string") return message.caption;
  return "";
}

/**
 * A test user in a chat with the bot: sends messages and commands, presses buttons, uploads
 * files and waits for replies — no sleeps, every method resolves on the event it waits for.
 */
export class TestChat {
  /** How long a call waits for the bot when it gives no `timeout`. */
  private readonly waitMs: number;
  readonly chat: Chat;
  readonly user: User;
  private readonly emulator: ChatHost;
  /** How many of the bot's messages in this chat `nextReply` has consumed. */
  private cursor: number;

  constructor(emulator: ChatHost, options: ChatOptions = {}, shared?: Chat) {
    this.emulator = emulator;
    this.waitMs = options.replyTimeoutMs ?? emulator.replyTimeoutMs;
    const userId = options.userId ?? nextUserId++;
    this.user = {
      id: userId,
      is_bot: false,
      first_name: options.firstName ?? `User ${userId}`,
      ...(options.lastName === undefined ? {} : { last_name: options.lastName }),
      ...(options.username === undefined ? {} : { username: options.username }),
      ...(options.languageCode === undefined ? {} : { language_code: options.languageCode }),
    };
    const type = options.type ?? "private";
    this.chat =
      shared ??
      (type === "private"
        ? {
            id: userId,
            type: "private",
            first_name: this.user.first_name,
            ...(this.user.username === undefined ? {} : { username: this.user.username }),
          }
        : ({
            id: options.chatId ?? -(type === "supergroup" ? 1_000_000_000_000 : 0) - nextGroupId++,
            type,
            title: options.title ?? "Test group",
          } as Chat));
    emulator.ensureChat(this.chat);
    this.cursor = this.botMessages().length;
  }

  /** Another member of this group chat, sharing its messages. */
  member(options: Omit<ChatOptions, "type" | "chatId" | "title"> = {}): TestChat {
    if (this.chat.type === "private")
      throw new Error("member() is for group chats; use emulator.chat() for another private chat");
    return new TestChat(this.emulator, options, this.chat);
  }

  /** Sends a text message as this user. */
  async send(text: string): Promise<Message> {
    return this.emulator.userMessage(this.chat, this.user, { text });
  }

  /** Sends `/name args` with Telegram's `bot_command` entity. */
  async command(name: string, args = ""): Promise<Message> {
    const command = `/${name.replace(/^\//, "")}`;
    const text = args === "" ? command : `${command} ${args}`;
    return this.emulator.userMessage(this.chat, this.user, {
      text,
      entities: [{ type: "bot_command", offset: 0, length: command.length }],
    });
  }

  /** Sends a file as this user, as a document (default) or a photo. */
  async upload(file: {
    data: Buffer | Uint8Array | string;
    fileName?: string;
    mimeType?: string;
    caption?: string;
    as?: "document" | "photo";
  }): Promise<Message> {
    const kind = file.as ?? "document";
    const stored = this.emulator.storeFile(
      Buffer.from(file.data),
      kind,
      file.fileName,
      file.mimeType,
    );
    const base = {
      file_id: stored.fileId,
      file_unique_id: stored.fileUniqueId,
      file_size: stored.data.length,
    };
    const media =
      kind === "photo"
        ? { photo: [{ ...base, width: 0, height: 0 }] }
        : {
            document: {
              ...base,
              ...(file.fileName === undefined ? {} : { file_name: file.fileName }),
              ...(file.mimeType === undefined ? {} : { mime_type: file.mimeType }),
            },
          };
    return this.emulator.userMessage(this.chat, this.user, {
      ...media,
      ...(file.caption === undefined ? {} : { caption: file.caption }),
    });
  }

  /**
   * Presses the inline button with this text or callback data on the newest bot message
   * that has it; resolves with the bot's answer to the callback query.
   */
  async press(
    button: string,
    options: { timeout?: number } = {},
  ): Promise<{ text?: string; showAlert: boolean }> {
    const timeout = options.timeout ?? this.waitMs;
    const messages = this.replies().reverse();
    for (const message of messages) {
      const rows =
        (message as { reply_markup?: { inline_keyboard?: InlineKeyboardButton[][] } }).reply_markup
          ?.inline_keyboard ?? [];
      for (const candidate of rows.flat()) {
        const data = "callback_data" in candidate ? candidate.callback_data : undefined;
        if (data !== undefined && (candidate.text === button || data === button)) {
          const answer = this.emulator.userPress(this.chat, this.user, message, data);
          let timer: NodeJS.Timeout | undefined;
          const late = new Promise<never>((_, reject) => {
            timer = setTimeout(
              () =>
                reject(
                  new Error(
                    `The bot did not answer the press of ${JSON.stringify(button)} in chat ${this.chat.id} within ${timeout} ms (every callback query needs answerCallbackQuery)`,
                  ),
                ),
              timeout,
            );
          });
          return Promise.race([answer, late]).finally(() => clearTimeout(timer));
        }
      }
    }
    const available = messages.flatMap((m) =>
      (
        (m as { reply_markup?: { inline_keyboard?: InlineKeyboardButton[][] } }).reply_markup
          ?.inline_keyboard ?? []
      )
        .flat()
        .map((b) => JSON.stringify(b.text)),
    );
    throw new Error(
      `No inline button ${JSON.stringify(button)} in chat ${this.chat.id}; buttons shown: ${available.length === 0 ? "none" : available.join(", ")}`,
    );
  }

  /** The bot's messages in this chat as they are now (edits applied, deletions gone). */
  replies(): Message[] {
    return this.botMessages()
      .map((m) => this.emulator.message(this.chat.id, m.message_id))
      .filter((m): m is Message => m !== undefined);
  }

  /** Everything the bot did in this chat: messages, edits, deletions, callback answers. */
  events(): readonly ChatEvent[] {
    return this.emulator.chatEvents(this.chat.id);
  }

  /** Waits for the bot's next new message in this chat (after the last one returned). */
  async nextReply(options: { timeout?: number } = {}): Promise<Message> {
    const timeout = options.timeout ?? this.waitMs;
    const reply = await this.until(
      () => this.botMessages()[this.cursor],
      timeout,
      () => {
        const seen = this.replies().map((m) => JSON.stringify(messageText(m)));
        return `No reply from the bot in chat ${this.chat.id} within ${timeout} ms${seen.length > 0 ? `; earlier replies: ${seen.join(", ")}` : ""}`;
      },
    );
    this.cursor++;
    return reply;
  }

  /**
   * Waits until the bot has done something in this chat that passes `check` (an edit, a
   * deletion, a callback answer…), looking at what already happened first.
   */
  waitFor(
    check: (event: ChatEvent) => boolean,
    options: { timeout?: number } = {},
  ): Promise<ChatEvent> {
    const timeout = options.timeout ?? this.waitMs;
    return this.until(
      () => this.events().find(check),
      timeout,
      () => `The bot did not do the expected thing in chat ${this.chat.id} within ${timeout} ms`,
    );
  }

  /** Resolves with `probe()` as soon as it is defined: now, or after one of the bot's actions. */
  private until<T>(
    probe: () => T | undefined,
    timeout: number,
    timeoutMessage: () => string,
  ): Promise<T> {
    const ready = probe();
    if (ready !== undefined) return Promise.resolve(ready);
    return new Promise((resolve, reject) => {
      const onEvent = (chatId: number) => {
        if (chatId !== this.chat.id) return;
        const found = probe();
        if (found === undefined) return;
        cleanup();
        resolve(found);
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(timeoutMessage()));
      }, timeout);
      const cleanup = () => {
        clearTimeout(timer);
        this.emulator.events.off("event", onEvent);
      };
      this.emulator.events.on("event", onEvent);
    });
  }

  /** Waits for the next reply and checks it; the error shows what arrived instead. */
  async expectReply(matcher: ReplyMatcher, options: { timeout?: number } = {}): Promise<Message> {
    const reply = await this.nextReply(options);
    const text = messageText(reply);
    const ok =
      typeof matcher === "string"
        ? text === matcher
        : matcher instanceof RegExp
          ? matcher.test(text)
          : matcher(reply);
    if (!ok) {
      throw new Error(
        `The bot replied ${JSON.stringify(text)} in chat ${this.chat.id}, expected ${typeof matcher === "function" ? "a reply passing the check" : String(typeof matcher === "string" ? JSON.stringify(matcher) : matcher)}`,
      );
    }
    return reply;
  }

  /** The bot's command menu as this user sees it in this chat. */
  menu(): BotCommand[] {
    return this.emulator.menu(this.chat.id, this.user.id, this.user.language_code);
  }

  /**
   * Waits until the menu this user sees here lists exactly these commands (in order); the
   * error shows the menu as it is.
   */
  async expectMenu(commands: readonly string[], options: { timeout?: number } = {}): Promise<void> {
    const timeout = options.timeout ?? this.waitMs;
    const want = JSON.stringify(commands);
    const current = () => this.menu().map((entry) => entry.command);
    await this.until(
      () => (JSON.stringify(current()) === want ? true : undefined),
      timeout,
      () =>
        `The menu in chat ${this.chat.id} is ${JSON.stringify(current())} after ${timeout} ms, expected ${want}`,
    );
  }

  /**
   * The reply keyboard the bot shows under this chat's input field now, as rows of button
   * texts (pressing one is sending its text), or undefined when there is none.
   */
  keyboard(): string[][] | undefined {
    return this.emulator
      .replyKeyboard(this.chat.id)
      ?.keyboard.map((row) =>
        row.map((button) => (typeof button === "string" ? button : button.text)),
      );
  }

  /** Blocks (or unblocks) the bot, as the user can in a private chat. */
  block(blocked = true): void {
    this.emulator.setBlocked(this.chat.id, blocked);
  }

  private botMessages(): Message[] {
    return this.emulator
      .chatEvents(this.chat.id)
      .filter((e): e is Extract<ChatEvent, { type: "message" }> => e.type === "message")
      .map((e) => e.message);
  }
}
