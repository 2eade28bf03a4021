import type { MessageEntity } from "@telegraf/types";

/** Text and entities, as Telegram stores a formatted message. */
export interface ParsedText {
  text: string;
  entities: MessageEntity[];
}

/** A parse_mode error, worded as Telegram words it after "Bad Request: can't parse entities: ". */
export class EntityParseError extends Error {}

const RESERVED = new Set([..."_*[]()~`>#+-=|{}.!"]);

type Toggle = "bold" | "italic" | "underline" | "strikethrough" | "spoiler";

const toggleNames: Record<Toggle, string> = {
  bold: "Bold",
  italic: "Italic",
  underline: "Underline",
  strikethrough: "Strikethrough",
  spoiler: "Spoiler",
};

function byteOffset(source: string, index: number): number {
  return Buffer.byteLength(source.slice(0, index), "utf8");
}

/**
 * Parses MarkdownV2 the way the Bot API does: every reserved character outside an entity
 * must be escaped, entities must be closed and properly nested. Offsets are UTF-16 units.
 */
export function parseMarkdownV2(source: string): ParsedText {
  let out = "";
  const entities: MessageEntity[] = [];
  const stack: Array<{ kind: Toggle | "text_link"; start: number; at: number }> = [];
  let i = 0;
  let lineStart = true;
  let quoteStart: number | undefined;

  const closeQuote = () => {
    if (quoteStart !== undefined) {
      const end = out.endsWith("\n") ? out.length - 1 : out.length;
      if (end > quoteStart)
        entities.push({ type: "blockquote", offset: quoteStart, length: end - quoteStart });
      quoteStart = undefined;
    }
  };

  const toggle = (kind: Toggle, width: number) => {
    const top = stack.at(-1);
    if (top?.kind === kind) {
      stack.pop();
      if (out.length > top.start) {
        entities.push({
          type: kind,
          offset: top.start,
          length: out.length - top.start,
        } as MessageEntity);
      }
    } else if (stack.some((entry) => entry.kind === kind)) {
      const inner = stack.at(-1) as { kind: Toggle | "text_link"; at: number };
      throw new EntityParseError(
        `Can't find end of ${inner.kind === "text_link" ? "TextUrl" : toggleNames[inner.kind]} entity at byte offset ${byteOffset(source, inner.at)}`,
      );
    } else {
      stack.push({ kind, start: out.length, at: i });
    }
    i += width;
  };

  while (i < source.length) {
    const c = source[i] as string;
    if (c === "\r") {
      // Telegram drops carriage returns; its own docs use one to part `_` from `__`.
      i++;
      continue;
    }
    if (lineStart) {
      lineStart = false;
      if (c === ">") {
        if (quoteStart === undefined) quoteStart = out.length;
        i++;
        continue;
      }
      closeQuote();
    }
    if (c === "\\") {
      const next = source[i + 1];
      if (next === undefined || next.charCodeAt(0) > 126) {
        throw new EntityParseError(
          `Character '\\' is reserved and must be escaped with the preceding '\\'`,
        );
      }
      out += next;
      i += 2;
      continue;
    }
    if (c === "\n") {
      out += c;
      i++;
      lineStart = true;
      continue;
    }
    if (c === "`") {
      const fence = source.startsWith("```", i);
      const width = fence ? 3 : 1;
      const startAt = i;
      i += width;
      let language: string | undefined;
      if (fence) {
        const newline = source.indexOf("\n", i);
        const firstLine = newline === -1 ? "" : source.slice(i, newline);
        if (newline !== -1 && /^[A-Za-z0-9_+-]*$/.test(firstLine)) {
          if (firstLine !== "") language = firstLine;
          i = newline + 1;
        }
      }
      const start = out.length;
      let closed = false;
      while (i < source.length) {
        const d = source[i] as string;
        if (d === "\\") {
          const next = source[i + 1];
          if (next === undefined) break;
          out += next;
          i += 2;
          continue;
        }
        if (fence ? source.startsWith("```", i) : d === "`") {
          i += width;
          closed = true;
          break;
        }
        out += d;
        i++;
      }
      if (!closed) {
        throw new EntityParseError(
          `Can't find end of ${fence ? "PreCode" : "Code"} entity at byte offset ${byteOffset(source, startAt)}`,
        );
      }
      if (out.length > start) {
        entities.push(
          fence
            ? ({
                type: "pre",
                offset: start,
                length: out.length - start,
                ...(language ? { language } : {}),
              } as MessageEntity)
            : { type: "code", offset: start, length: out.length - start },
        );
      }
      continue;
    }
    if (c === "*") {
      toggle("bold", 1);
      continue;
    }
    if (c === "_") {
      if (source[i + 1] === "_") toggle("underline", 2);
      else toggle("italic", 1);
      continue;
    }
    if (c === "~") {
      toggle("strikethrough", 1);
      continue;
    }
    if (c === "|" && source[i + 1] === "|") {
      toggle("spoiler", 2);
      continue;
    }
    if (c === "[") {
      stack.push({ kind: "text_link", start: out.length, at: i });
      i++;
      continue;
    }
    if (c === "]") {
      const top = stack.at(-1);
      if (top?.kind !== "text_link") {
        throw new EntityParseError(
          `Character ']' is reserved and must be escaped with the preceding '\\'`,
        );
      }
      if (source[i + 1] !== "(") {
        throw new EntityParseError(
          `Can't find end of TextUrl entity at byte offset ${byteOffset(source, top.at)}`,
        );
      }
      let url = "";
      let j = i + 2;
      let closed = false;
      while (j < source.length) {
        const d = source[j] as string;
        if (d === "\\" && j + 1 < source.length) {
          url += source[j + 1];
          j += 2;
          continue;
        }
        if (d === ")") {
          closed = true;
          break;
        }
        url += d;
        j++;
      }
      if (!closed) {
        throw new EntityParseError(
          `Can't find end of a URL at byte offset ${byteOffset(source, i + 2)}`,
        );
      }
      stack.pop();
      if (out.length > top.start) {
        entities.push({
          type: "text_link",
          offset: top.start,
          length: out.length - top.start,
          url,
        });
      }
      i = j + 1;
      continue;
    }
    if (RESERVED.has(c)) {
      throw new EntityParseError(
        `Character '${c}' is reserved and must be escaped with the preceding '\\'`,
      );
    }
    out += c;
    i++;
  }
  const open = stack.at(-1);
  if (open !== undefined) {
    throw new EntityParseError(
      `Can't find end of ${open.kind === "text_link" ? "TextUrl" : toggleNames[open.kind]} entity at byte offset ${byteOffset(source, open.at)}`,
    );
  }
  closeQuote();
  return {
    text: out,
    entities: entities.sort((a, b) => a.offset - b.offset || b.length - a.length),
  };
}

const HTML_TAGS: Record<string, MessageEntity["type"]> = {
  b: "bold",
  strong: "bold",
  i: "italic",
  em: "italic",
  u: "underline",
  ins: "underline",
  s: "strikethrough",
  strike: "strikethrough",
  del: "strikethrough",
  "tg-spoiler": "spoiler",
  code: "code",
  pre: "pre",
  a: "text_link",
  blockquote: "blockquote",
  span: "spoiler",
  "tg-emoji": "custom_emoji",
};

function codePoint(value: number): string {
  if (!Number.isInteger(value) || value < 1 || value > 0x10ffff) {
    throw new EntityParseError(`Invalid character reference &#${value};`);
  }
  return String.fromCodePoint(value);
}

const NAMED: Record<string, string> = { lt: "<", gt: ">", amp: "&", quot: '"' };

/**
 * Parses Telegram's HTML subset: only its tags, properly closed, with `&lt; &gt; &amp; &quot;`
 * and numeric character references; anything else is a "can't parse entities" error.
 */
export function parseHtml(source: string): ParsedText {
  let out = "";
  const entities: MessageEntity[] = [];
  const stack: Array<{ tag: string; start: number; at: number; attrs: Record<string, string> }> =
    [];
  let i = 0;
  while (i < source.length) {
    const c = source[i] as string;
    if (c === "&") {
      const match = /^&(#x[0-9a-fA-F]+|#[0-9]+|[a-zA-Z]+);/.exec(source.slice(i, i + 12));
      if (match) {
        const name = match[1] as string;
        const decoded = name.startsWith("#x")
          ? codePoint(Number.parseInt(name.slice(2), 16))
          : name.startsWith("#")
            ? codePoint(Number.parseInt(name.slice(1), 10))
            : NAMED[name];
        if (decoded !== undefined) {
          out += decoded;
          i += match[0].length;
          continue;
        }
      }
      out += c;
      i++;
      continue;
    }
    if (c !== "<") {
      out += c;
      i++;
      continue;
    }
    const end = source.indexOf(">", i);
    if (end === -1) {
      throw new EntityParseError(`Unclosed start tag at byte offset ${byteOffset(source, i)}`);
    }
    const raw = source.slice(i + 1, end).trim();
    if (raw.startsWith("/")) {
      const name = raw.slice(1).trim().toLowerCase();
      const top = stack.pop();
      if (top === undefined || top.tag !== name) {
        throw new EntityParseError(
          top === undefined
            ? `Unexpected end tag at byte offset ${byteOffset(source, i)}`
            : `Can't find end tag corresponding to start tag "${top.tag}"`,
        );
      }
      const length = out.length - top.start;
      const type = HTML_TAGS[top.tag] as MessageEntity["type"];
      if (length > 0) {
        if (type === "text_link") {
          entities.push({ type, offset: top.start, length, url: top.attrs.href ?? "" });
        } else if (type === "pre") {
          entities.push({ type, offset: top.start, length } as MessageEntity);
        } else if (type === "custom_emoji") {
          entities.push({
            type,
            offset: top.start,
            length,
            custom_emoji_id: top.attrs["emoji-id"] ?? "",
          });
        } else {
          entities.push({ type, offset: top.start, length } as MessageEntity);
        }
      }
      i = end + 1;
      continue;
    }
    const tagMatch = /^([a-zA-Z][a-zA-Z0-9-]*)/.exec(raw);
    const name = tagMatch?.[1]?.toLowerCase();
    if (name === undefined || HTML_TAGS[name] === undefined) {
      throw new EntityParseError(
        `Unsupported start tag "${name ?? raw}" at byte offset ${byteOffset(source, i)}`,
      );
    }
    const attrs: Record<string, string> = {};
    for (const attr of raw
      .slice(name.length)
      .matchAll(/([a-zA-Z-]+)\s*=\s*("([^"]*)"|'([^']*)'|([^\s"'>]+))/g)) {
      attrs[(attr[1] as string).toLowerCase()] = attr[3] ?? attr[4] ?? attr[5] ?? "";
    }
    if (name === "a" && attrs.href === undefined) {
      throw new EntityParseError(
        `Can't find the href attribute of an "a" tag at byte offset ${byteOffset(source, i)}`,
      );
    }
    if (name === "span" && attrs.class !== "tg-spoiler") {
      throw new EntityParseError(
        `Tag "span" must have class "tg-spoiler" at byte offset ${byteOffset(source, i)}`,
      );
    }
    stack.push({ tag: name, start: out.length, at: i, attrs });
    i = end + 1;
  }
  const open = stack.at(-1);
  if (open !== undefined) {
    throw new EntityParseError(`Can't find end tag corresponding to start tag "${open.tag}"`);
  }
  return {
    text: out,
    entities: entities.sort((a, b) => a.offset - b.offset || b.length - a.length),
  };
}

/** Entity types the Bot API takes from a client. */
const ENTITY_TYPES = new Set([
  "bold",
  "italic",
  "underline",
  "strikethrough",
  "spoiler",
  "blockquote",
  "expandable_blockquote",
  "code",
  "pre",
  "text_link",
  "text_mention",
  "custom_emoji",
  "date_time",
]);

/** Entity types Telegram finds in the text itself: sent ones are ignored, as Telegram does. */
const DETECTED_TYPES = new Set([
  "mention",
  "hashtag",
  "cashtag",
  "bot_command",
  "url",
  "email",
  "phone_number",
  "bank_card_number",
]);

/**
 * Checks `entities` (or `caption_entities`) sent with `text` as the Bot API does: an array of
 * objects of known types, each inside the text (offsets and lengths in UTF-16 code units),
 * `text_link` with a URL Telegram accepts, `pre` with an optional string `language`,
 * `custom_emoji` with its id, `text_mention` with a user. Returns them normalized and sorted;
 * a bad one is an {@link EntityParseError}. Types Telegram detects itself are dropped.
 */
export function parseEntities(text: string, value: unknown): MessageEntity[] {
  if (!Array.isArray(value)) throw new EntityParseError("entities must be an Array");
  const entities: MessageEntity[] = [];
  for (const [index, item] of value.entries()) {
    const where = `entity ${index}`;
    if (item === null || typeof item !== "object" || Array.isArray(item)) {
      throw new EntityParseError(`${where} must be an Object`);
    }
    const raw = item as Record<string, unknown>;
    const type = raw.type;
    if (typeof type !== "string")
      throw new EntityParseError(`${where}: field "type" must be a String`);
    if (DETECTED_TYPES.has(type)) continue;
    if (!ENTITY_TYPES.has(type)) {
      throw new EntityParseError(`${where}: unsupported type "${type}" specified`);
    }
    const { offset, length } = raw;
    if (typeof offset !== "number" || !Number.isInteger(offset) || offset < 0) {
      throw new EntityParseError(`${where} (${type}): offset must be a non-negative Integer`);
    }
    if (typeof length !== "number" || !Number.isInteger(length) || length < 1) {
      throw new EntityParseError(`${where} (${type}): length must be a positive Integer`);
    }
    if (offset + length > text.length) {
      throw new EntityParseError(
        `${where} (${type}) at offset ${offset} with length ${length} ends past the text, which is ${text.length} UTF-16 code units long`,
      );
    }
    const entity: Record<string, unknown> = { type, offset, length };
    if (type === "text_link") entity.url = linkUrl(raw.url, where);
    if (type === "pre" && raw.language !== undefined && raw.language !== "") {
      if (typeof raw.language !== "string") {
        throw new EntityParseError(`${where} (pre): field "language" must be a String`);
      }
      entity.language = raw.language;
    }
    if (type === "custom_emoji") {
      const id = raw.custom_emoji_id;
      if ((typeof id !== "string" && typeof id !== "number") || !/^\d+$/.test(String(id))) {
        throw new EntityParseError(
          `${where} (custom_emoji): invalid custom emoji identifier specified`,
        );
      }
      entity.custom_emoji_id = String(id);
    }
    if (type === "text_mention") {
      const user = raw.user as { id?: unknown } | null | undefined;
      if (user === null || typeof user !== "object" || typeof user.id !== "number") {
        throw new EntityParseError(
          `${where} (text_mention): field "user" must be a User with an id`,
        );
      }
      entity.user = user;
    }
    if (type === "date_time") {
      if (typeof raw.unix_time !== "number") {
        throw new EntityParseError(`${where} (date_time): field "unix_time" must be an Integer`);
      }
      entity.unix_time = raw.unix_time;
      if (typeof raw.date_time_format === "string") entity.date_time_format = raw.date_time_format;
    }
    entities.push(entity as unknown as MessageEntity);
  }
  return entities.sort((a, b) => a.offset - b.offset || b.length - a.length);
}

/** A `text_link` URL as Telegram checks it: http(s) to a host with a dot, tg, ton, mailto. */
function linkUrl(value: unknown, where: string): string {
  if (typeof value !== "string" || value === "") {
    throw new EntityParseError(`${where} (text_link): field "url" must be a non-empty String`);
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new EntityParseError(`${where} (text_link): wrong URL "${value}"`);
  }
  if (url.protocol === "http:" || url.protocol === "https:") {
    if (!url.hostname.includes(".") && !url.hostname.startsWith("[")) {
      throw new EntityParseError(`${where} (text_link): wrong HTTP URL "${value}"`);
    }
  } else if (!["tg:", "ton:", "mailto:"].includes(url.protocol)) {
    throw new EntityParseError(`${where} (text_link): unsupported URL protocol "${url.protocol}"`);
  }
  return value;
}

/**
 * Parses `text` as `parse_mode` says, or takes its `entities` as given when there is no
 * parse mode (Telegram ignores `entities` when `parse_mode` is set).
 */
export function parseFormatted(text: string, parseMode: unknown, entities?: unknown): ParsedText {
  if (parseMode === undefined || parseMode === null || parseMode === "") {
    return { text, entities: entities === undefined ? [] : parseEntities(text, entities) };
  }
  if (parseMode === "MarkdownV2") return parseMarkdownV2(text);
  if (parseMode === "HTML") return parseHtml(text);
  if (parseMode === "Markdown") return parseMarkdownV2(text.replace(/([.!#+\-=|{}>()])/g, "\\$1"));
  throw new EntityParseError(`Unsupported parse_mode "${String(parseMode)}"`);
}
