import type { ParseMode, TextFormat } from "@kamihi/core";
import telegramify from "telegramify-markdown";

/** Telegram's limit for one message's text. */
export const MAX_MESSAGE_LENGTH = 4096;
/** Telegram's limit for a caption. */
export const MAX_CAPTION_LENGTH = 1024;

/** Text ready for the Bot API: what to send and with which parse mode. */
export interface PreparedText {
  text: string;
  parseMode?: ParseMode;
  /** What the text was before preparing: sent as plain text if Telegram refuses the formatting. */
  source: string;
}

/**
 * Converts ordinary Markdown to Telegram MarkdownV2. Every character Telegram reserves is
 * escaped unless it is part of real formatting, so user text can never break the message.
 */
export function toMarkdownV2(markdown: string): string {
  // Escaped characters (CommonMark's `\*`, which templates produce for every interpolated
  // value) and literal backslashes are hidden from the converter as private-use characters
  // and written back as MarkdownV2 escapes: the converter mishandles some of them (it drops
  // a backslash, or breaks on an escaped backtick inside emphasis). Code spans are left as
  // they are, since escapes do not apply inside them.
  const hidden = markdown
    // A backtick after an odd number of backslashes is escaped: it opens no code span.
    .split(/((?<=(?:^|[^\\])(?:\\\\)*)(?:```[\s\S]*?```|`[^`\n]*`))/)
    .map((part, index) =>
      index % 2 === 1
        ? part
        : part
            .replace(/\\([!-/:-@[-`{-~])/g, (_, char: string) => hide(char))
            .replace(/\\/g, hide("\\")),
    )
    .join("");
  return telegramify(hidden, "escape")
    .replace(/\n+$/, "")
    .replace(HIDDEN, (char) => `\\${String.fromCharCode(char.charCodeAt(0) - PRIVATE_USE)}`);
}

/** Escaped ASCII characters travel through the converter as U+E000 + their code. */
const PRIVATE_USE = 0xe000;
const HIDDEN = /[\uE000-\uE07F]/g;
const hide = (char: string) => String.fromCharCode(PRIVATE_USE + char.charCodeAt(0));

/** Prepares one chunk of text in the given format. */
export function prepare(text: string, format: TextFormat = "markdown"): PreparedText {
  switch (format) {
    case "markdown":
      return { text: toMarkdownV2(text), parseMode: "MarkdownV2", source: text };
    case "plain":
      return { text, source: text };
    default:
      return { text, parseMode: format, source: text };
  }
}

/**
 * Splits a long text into messages that each fit `max` once prepared: on paragraph breaks
 * first, then on line breaks, then (for a single huge line) between characters. Each chunk
 * is prepared on its own, so formatting is valid in every message.
 */
export function splitText(
  text: string,
  format: TextFormat = "markdown",
  max = MAX_MESSAGE_LENGTH,
): PreparedText[] {
  const fits = (chunk: string) => prepare(chunk, format).text.length <= max;
  if (fits(text)) return [prepare(text, format)];
  const chunks: string[] = [];
  pack(text, ["\n\n", "\n"], fits, chunks);
  return chunks.filter((chunk) => chunk.trim() !== "").map((chunk) => prepare(chunk, format));
}

function pack(text: string, separators: string[], fits: (chunk: string) => boolean, out: string[]) {
  const [separator, ...rest] = separators;
  if (separator === undefined) {
    hardSplit(text, fits, out);
    return;
  }
  let current = "";
  for (const part of text.split(separator)) {
    const candidate = current === "" ? part : `${current}${separator}${part}`;
    if (fits(candidate)) {
      current = candidate;
      continue;
    }
    if (current !== "") out.push(current);
    if (fits(part)) {
      current = part;
    } else {
      pack(part, rest, fits, out);
      current = "";
    }
  }
  if (current !== "") out.push(current);
}

/** Splits between characters (never inside a surrogate pair), as large as still fits. */
function hardSplit(text: string, fits: (chunk: string) => boolean, out: string[]) {
  const chars = [...text];
  let start = 0;
  while (start < chars.length) {
    let low = start + 1;
    let high = chars.length;
    while (low < high) {
      const mid = Math.ceil((low + high) / 2);
      if (fits(chars.slice(start, mid).join(""))) low = mid;
      else high = mid - 1;
    }
    out.push(chars.slice(start, low).join(""));
    start = low;
  }
}
