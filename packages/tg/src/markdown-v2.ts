import type { MessageEntity } from "telegraf/types";
import { type FormattedText, markdownToEntities } from "./markdown.js";
import { prepare } from "./prepare.js";

/**
 * Converts ordinary Markdown to Telegram MarkdownV2, for code that must send `parse_mode`
 * itself. The transport does not use it: it sends text and entities, which Telegram cannot
 * refuse for a misplaced character. Same conversion as {@link markdownToEntities}.
 */
export function toMarkdownV2(markdown: string): string {
  const prepared = prepare(markdown, "markdown");
  return formattedToMarkdownV2({ text: prepared.text, entities: prepared.entities ?? [] });
}

const MARKERS: Partial<Record<MessageEntity["type"], string>> = {
  bold: "*",
  italic: "_",
  underline: "__",
  strikethrough: "~",
  spoiler: "||",
  code: "`",
};

/**
 * Writes text and properly nested entities as MarkdownV2: every reserved character escaped,
 * entities as their markers. Blockquotes that start inside a line cannot be written and are
 * left out; Telegram's own rule for `_` next to `__` is kept with its ignored `\r`.
 */
export function formattedToMarkdownV2({ text, entities }: FormattedText): string {
  const sorted = [...entities].sort((a, b) => a.offset - b.offset || b.length - a.length);
  let out = "";
  const open: Array<{ entity: MessageEntity; end: number }> = [];
  let position = 0;
  let next = 0;
  let literal = 0;
  let quoteEnd = -1;
  // After a marker ending in `_`, another `_` marker would read as `__`: Telegram's advice is
  // a carriage return between them, which it drops.
  let underscore = false;
  const marker = (value: string) => {
    if (underscore && value.startsWith("_")) out += "\r";
    out += value;
    underscore = value.endsWith("_");
  };
  const closeUntil = (at: number) => {
    while (open.length > 0 && (open.at(-1) as { end: number }).end <= at) {
      const { entity } = open.pop() as { entity: MessageEntity };
      if (entity.type === "pre" || entity.type === "code") literal--;
      if (entity.type === "pre") marker("```");
      else if (entity.type === "text_link") marker(`](${entity.url.replace(/[)\\]/g, "\\$&")})`);
      else if (entity.type === "blockquote") quoteEnd = -1;
      else marker(MARKERS[entity.type] ?? "");
    }
  };
  while (position <= text.length) {
    closeUntil(position);
    while (next < sorted.length && (sorted[next] as MessageEntity).offset === position) {
      const entity = sorted[next++] as MessageEntity;
      const end = entity.offset + entity.length;
      if (entity.type === "blockquote") {
        if (position !== 0 && text[position - 1] !== "\n") continue;
        marker(">");
        quoteEnd = end;
      } else if (entity.type === "pre") {
        marker(`\`\`\`${entity.language ?? ""}\n`);
        literal++;
      } else if (entity.type === "text_link") {
        marker("[");
      } else if (MARKERS[entity.type] !== undefined) {
        marker(MARKERS[entity.type] as string);
        if (entity.type === "code") literal++;
      } else {
        continue;
      }
      open.push({ entity, end });
    }
    if (position === text.length) break;
    const char = text[position] as string;
    const reserved = literal > 0 ? /[`\\]/ : /[_*[\]()~`>#+\-=|{}.!\\]/;
    out += reserved.test(char) ? `\\${char}` : char;
    underscore = false;
    if (char === "\n" && position + 1 < quoteEnd) out += ">";
    position++;
  }
  return out;
}
