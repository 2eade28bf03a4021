import {
  type InlineButton,
  type InputFile,
  KamihiError,
  type MediaMessage,
  type MediaType,
  type OutgoingMessage,
} from "@kamihi/core";
import { parseCommand } from "./pipeline/parse-command.js";

/**
 * What a handler may return (and `reply()` takes): a string (Markdown, split over Telegram's
 * limit), a message built by `bot.message()`, `bot.photo()` and friends, several of these in an
 * array, or nothing. Anything else is a compile error (and `KAMIHI_ACTION_BAD_RESPONSE` for
 * plain JavaScript).
 */
export type ActionResult =
  | string
  | OutgoingMessage
  | readonly ActionResult[]
  | null
  | undefined
  // A handler that returns nothing is typed `void`; `undefined` alone would refuse it.
  // biome-ignore lint/suspicious/noConfusingVoidType: the return type of a handler without return
  | void;

const MESSAGE_TYPES = new Set([
  "text",
  "photo",
  "document",
  "video",
  "audio",
  "voice",
  "animation",
  "location",
  "mediaGroup",
]);

/** Whether a value is already an outgoing message (from `bot.photo()` and friends). */
function isOutgoing(value: unknown): value is OutgoingMessage {
  return (
    value !== null &&
    typeof value === "object" &&
    MESSAGE_TYPES.has(String((value as { type?: unknown }).type))
  );
}

/**
 * Turns what a handler returned into messages: a string is a Markdown message, an array is
 * several messages in order, `null`/`undefined` is nothing, `bot.photo(...)` and friends are
 * media. Anything else is a mistake in the action, reported with what was returned.
 */
export function renderResponse(value: unknown, action = "help"): OutgoingMessage[] {
  if (value === undefined || value === null) return [];
  if (typeof value === "string") return value.trim() === "" ? [] : [{ type: "text", text: value }];
  if (Array.isArray(value)) return value.flatMap((item) => renderResponse(item, action));
  if (isOutgoing(value)) return [value];
  throw new KamihiError(
    "KAMIHI_ACTION_BAD_RESPONSE",
    `The action "${action}" returned ${describe(value)}; return a string (Markdown), an array of responses, bot.photo(...) and the like, or nothing.`,
    { details: { action } },
  );
}

function describe(value: unknown): string {
  if (typeof value === "object")
    return `an object with keys ${
      Object.keys(value as object)
        .slice(0, 5)
        .join(", ") || "(none)"
    }`;
  return `a ${typeof value} (${String(value).slice(0, 40)})`;
}

/** A file for a media response: a path, a URL, a Telegram file id, or bytes. */
export type FileSource =
  | string
  | URL
  | Uint8Array
  | { fileId: string }
  | { path: string; fileName?: string };

function inputFile(source: FileSource, fileName?: string): InputFile {
  if (source instanceof URL) return { url: source.href };
  if (source instanceof Uint8Array) return { data: source, fileName: fileName ?? "file" };
  if (typeof source === "string") {
    if (/^https?:\/\//.test(source)) return { url: source };
    return { path: source, ...(fileName === undefined ? {} : { fileName }) };
  }
  return source;
}

/** Options of a media response. */
export interface MediaOptions {
  /** Markdown caption. */
  caption?: string;
  /** File name shown for bytes or paths. */
  fileName?: string;
}

/** Builds a media response of one kind. */
export function media(type: MediaType) {
  return (source: FileSource, options: MediaOptions = {}): MediaMessage => ({
    type,
    file: inputFile(source, options.fileName),
    ...(options.caption === undefined ? {} : { caption: options.caption }),
  });
}

/**
 * An inline button that runs a command when pressed, as if the presser had sent it — and
 * only when they may: `bot.button("Buy 3", "/buy 3")`.
 */
export function button(text: string, command: string): InlineButton {
  const parsed = parseCommand(command);
  if (parsed === undefined || parsed.bot !== undefined) {
    throw new KamihiError(
      "KAMIHI_ACTION_BAD_RESPONSE",
      `bot.button(${JSON.stringify(text)}, ${JSON.stringify(command)}): the second argument must be a command such as "/buy 3".`,
    );
  }
  const data = `/${parsed.name}${parsed.args ? ` ${parsed.args}` : ""}`;
  if (new TextEncoder().encode(data).length > 64) {
    throw new KamihiError(
      "KAMIHI_ACTION_BAD_RESPONSE",
      `bot.button(${JSON.stringify(text)}, …): Telegram keeps at most 64 bytes of a button's data; "${data.slice(0, 70)}" is longer. Shorten the command's arguments.`,
    );
  }
  return { text, callbackData: data };
}

/** A Markdown message with inline buttons under it, row by row. */
export function message(
  text: string,
  options: { buttons?: InlineButton[][] } = {},
): OutgoingMessage {
  return {
    type: "text",
    text,
    ...(options.buttons === undefined ? {} : { replyMarkup: { inlineKeyboard: options.buttons } }),
  };
}

/** A location response. */
export function location(latitude: number, longitude: number): OutgoingMessage {
  return { type: "location", latitude, longitude };
}
