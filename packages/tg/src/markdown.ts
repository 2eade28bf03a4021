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
  // The converter leaves a literal backslash unescaped in ordinary text (so it would escape
  // whatever follows it, or end the message on a bare "\\"). Hand it literal backslashes as a
  // private-use character instead, and escape them afterwards. In CommonMark a backslash is
  // literal unless it escapes ASCII punctuation; inside code spans it is always literal.
  const protectedInput = markdown
    .split(/(```[\s\S]*?```|`[^`\n]*`)/)
    .map((part, index) =>
      index % 2 === 1
        ? part
        : part.replace(/\\\\/g, BACKSLASH).replace(/\\(?![!-/:-@[-`{-~])/g, BACKSLASH),
    )
    .join("");
  return telegramify(protectedInput, "escape").replace(/\n+$/, "").replaceAll(BACKSLASH, "\\\\");
}

/** Stands for a literal backslash while the converter runs (a private-use character). */
const BACKSLASH = "\uE000";

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
