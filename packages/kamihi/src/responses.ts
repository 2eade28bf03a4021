import {
  type InputFile,
  KamihiError,
  type MediaMessage,
  type MediaType,
  type OutgoingMessage,
} from "@kamihi/core";

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
export function renderResponse(value: unknown, action: string): OutgoingMessage[] {
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
