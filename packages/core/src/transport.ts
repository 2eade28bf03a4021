import type { ChatId, Update } from "./update.js";

/** How Telegram should parse a text or caption, when it is sent as is. */
export type ParseMode = "MarkdownV2" | "HTML";

/**
 * How a text or caption is written. `markdown` (the default) is ordinary Markdown, converted
 * safely to Telegram's MarkdownV2 so user-provided text can never break the message;
 * `plain` is sent without formatting; `MarkdownV2` and `HTML` are sent as they are, and the
 * author is responsible for escaping.
 */
export type TextFormat = "markdown" | "plain" | ParseMode;

/** One inline button: it sends callback data back to the bot, or opens a URL. */
export type InlineButton = { text: string; callbackData: string } | { text: string; url: string };

/** Buttons shown under a message, row by row. */
export interface InlineKeyboardMarkup {
  inlineKeyboard: InlineButton[][];
}

/** A custom keyboard that replaces the user's keyboard, row by row. */
export interface ReplyKeyboardMarkup {
  keyboard: string[][];
  oneTime?: boolean;
  resize?: boolean;
  placeholder?: string;
}

/** Removes a custom keyboard shown earlier. */
export interface RemoveKeyboardMarkup {
  removeKeyboard: true;
}

/** Any keyboard a message may carry. */
export type ReplyMarkup = InlineKeyboardMarkup | ReplyKeyboardMarkup | RemoveKeyboardMarkup;

/**
 * A file to send: one Telegram already has (`fileId`), a URL Telegram fetches, a local path,
 * or bytes in memory.
 */
export type InputFile =
  | { fileId: string }
  | { url: string }
  | { path: string; fileName?: string }
  | { data: Uint8Array; fileName: string; mimeType?: string };

/** Options every outgoing message may have. */
export interface MessageOptions {
  replyMarkup?: ReplyMarkup;
  /** The message this one replies to. */
  replyToMessageId?: number;
  /** Deliver without sound. */
  silent?: boolean;
}

/** A text message. Text longer than Telegram's 4096 characters is split by the sender. */
export interface TextMessage extends MessageOptions {
  type: "text";
  text: string;
  /** Default: `markdown`. */
  format?: TextFormat;
  disableLinkPreview?: boolean;
}

/** The media kinds Telegram accepts as one message. */
export type MediaType = "photo" | "document" | "video" | "audio" | "voice" | "animation";

/** A photo, document, video, audio, voice note or animation, with an optional caption. */
export interface MediaMessage extends MessageOptions {
  type: MediaType;
  file: InputFile;
  caption?: string;
  /** Format of the caption. Default: `markdown`. */
  format?: TextFormat;
}

/** A point on the map. */
export interface LocationMessage extends MessageOptions {
  type: "location";
  latitude: number;
  longitude: number;
}

/** Two to ten photos/videos (or documents, or audios) shown as one album. */
export interface MediaGroupMessage {
  type: "mediaGroup";
  items: Array<
    Omit<MediaMessage, keyof MessageOptions> & { type: "photo" | "video" | "document" | "audio" }
  >;
  replyToMessageId?: number;
  silent?: boolean;
}

/** Everything the runtime can ask a transport to send. */
export type OutgoingMessage = TextMessage | MediaMessage | LocationMessage | MediaGroupMessage;

/** The address of a message that was sent, for edits and deletions. */
export interface MessageRef {
  chatId: ChatId;
  messageId: number;
}

/** A command shown in the bot's menu. */
export interface BotCommand {
  command: string;
  description: string;
}

/** Who sees a command menu, as the Bot API's `BotCommandScope`. */
export type CommandScope =
  | { type: "default" }
  | { type: "all_private_chats" }
  | { type: "all_group_chats" }
  | { type: "all_chat_administrators" }
  | { type: "chat"; chatId: ChatId }
  | { type: "chat_administrators"; chatId: ChatId }
  | { type: "chat_member"; chatId: ChatId; userId: number };

/** The bot's own identity, from `getMe`. */
export interface BotInfo {
  id: number;
  username: string;
  firstName: string;
}

/** A file downloaded from Telegram. */
export interface DownloadedFile {
  data: Uint8Array;
  /** Telegram's path of the file, e.g. `photos/file_3.jpg`. */
  filePath?: string;
  size: number;
}

/** What a transport hands over with each update besides the update itself. */
export interface UpdateContext<Raw = unknown> {
  /** The escape hatch: the Telegraf context for the default transport. */
  raw: Raw;
}

/**
 * Takes one update in. The transport confirms an update to Telegram (the polling offset, the
 * webhook's 200) only once the returned promise resolves, so resolve when the update is safe
 * (stored, or handled) and reject to leave it with Telegram, which delivers it again. A
 * transport waits for these promises before taking more (polling fetches no further), which
 * is how a receiver bounds the work in flight.
 */
export type UpdateHandler<Raw = unknown> = (
  update: Update,
  context: UpdateContext<Raw>,
) => Promise<void>;

/** Options of {@link Transport.start}. */
export interface TransportStartOptions {
  /**
   * Called once when the transport reaches a state it cannot recover from (the token was
   * revoked); it has stopped receiving by then. Without it, the error is only logged.
   */
  onFatal?(error: Error): void;
}

/**
 * Telegram I/O. The default is Telegraf (polling or webhook); tests point it at the Bot API
 * emulator of `@kamihi/testing`. `Raw` is the client's own per-update context (Telegraf's
 * `Context` for the default), handed to actions as `tg`.
 *
 * Lifecycle: {@link Transport.getMe} works before anything else; {@link Transport.start}
 * begins receiving; {@link Transport.stop} ends receiving and releases what the transport
 * holds (servers, timers). Sending works between getMe and stop.
 */
export interface Transport<Raw = unknown> {
  /** The bot's identity (`getMe`); callable before {@link Transport.start}. */
  getMe(): Promise<BotInfo>;
  /** Starts receiving updates (polling or webhook) and hands each to `onUpdate`. */
  start(onUpdate: UpdateHandler<Raw>, options?: TransportStartOptions): Promise<void>;
  /** Stops receiving updates and waits for the hand-overs in progress. */
  stop(): Promise<void>;
  /**
   * The context this transport hands over with `update`, for an update taken in earlier and
   * handled later (after a restart). Without it, such updates come with `raw: undefined`.
   */
  contextFor?(update: Update): UpdateContext<Raw>;
  /**
   * Runs the transport's own raw middleware (Telegraf's, for the default; `bot.use()` adds to
   * it) around Kamihi's handling of one update, inside that chat's turn. `next` is Kamihi's
   * handling: middleware that does not call it stops the update there. Without this method
   * (or without middleware) Kamihi handles every update directly.
   */
  around?(context: UpdateContext<Raw>, next: () => Promise<void>): Promise<void>;
  /** Sends a message (several Telegram messages when text must be split) through the rate limiter. */
  send(chatId: ChatId, message: OutgoingMessage): Promise<MessageRef[]>;
  /** Replaces the text (or caption) and keyboard of a sent message. */
  edit(ref: MessageRef, message: TextMessage): Promise<void>;
  /** Deletes a sent message. */
  delete(ref: MessageRef): Promise<void>;
  /** Answers a pressed inline button, optionally with a toast or an alert. */
  answerCallback(
    callbackQueryId: string,
    options?: { text?: string; showAlert?: boolean },
  ): Promise<void>;
  /** Publishes the command menu for a scope (the default scope when omitted). */
  setCommands(commands: readonly BotCommand[], scope?: CommandScope): Promise<void>;
  /** Downloads a file a user sent, by its `file_id`. */
  downloadFile(fileId: string): Promise<DownloadedFile>;
  /** The escape hatch: the Telegraf instance for the default transport. */
  raw(): unknown;
}
