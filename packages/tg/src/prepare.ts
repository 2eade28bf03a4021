import type { ParseMode, TextFormat } from "@kamihi/core";
import type { MessageEntity } from "telegraf/types";
import { markdownToEntities } from "./markdown.js";
import { splitFormatted } from "./split.js";

/** Telegram's limit for one message's text, in UTF-16 code units. */
export const MAX_MESSAGE_LENGTH = 4096;
/** Telegram's limit for a caption, in UTF-16 code units. */
export const MAX_CAPTION_LENGTH = 1024;

/** Text ready for the Bot API: what to send, with its entities or the parse mode to use. */
export interface PreparedText {
  /** The text to send: the visible text for `markdown` and `plain`, the source otherwise. */
  text: string;
  /** The formatting of `text` (`markdown` only); sent as `entities` or `caption_entities`. */
  entities?: MessageEntity[];
  /** Telegram parses `text` itself (`MarkdownV2` and `HTML` only). */
  parseMode?: ParseMode;
  /** What to send as plain text if Telegram refuses the formatting. */
  source: string;
}

/** Prepares a whole text in the given format, edges trimmed (one message; see {@link splitText}). */
export function prepare(text: string, format: TextFormat = "markdown"): PreparedText {
  return splitText(text, format, Number.POSITIVE_INFINITY)[0] ?? { text: "", source: "" };
}

/**
 * Prepares a text and cuts it into messages of at most `max` UTF-16 code units: Markdown is
 * converted once into text and entities, then sliced at a paragraph break, a line break or a
 * space; every chunk carries the entities over it. `plain` text is sliced the same way;
 * `MarkdownV2` and `HTML` are sliced as written and parsed by Telegram. Linear in the length.
 */
export function splitText(
  text: string,
  format: TextFormat = "markdown",
  max = MAX_MESSAGE_LENGTH,
): PreparedText[] {
  switch (format) {
    case "markdown":
      return splitFormatted(markdownToEntities(text), max).map((chunk) => ({
        text: chunk.text,
        entities: chunk.entities,
        source: chunk.text,
      }));
    case "plain":
      return splitFormatted({ text, entities: [] }, max).map((chunk) => ({
        text: chunk.text,
        source: chunk.text,
      }));
    default:
      return splitFormatted({ text, entities: [] }, max, { trim: false }).map((chunk) => ({
        text: chunk.text,
        parseMode: format,
        source: chunk.text,
      }));
  }
}
