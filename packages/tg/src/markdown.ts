import createMarkdownIt, {
  type MarkdownIt,
  type StateBlock,
  type StateInline,
  type Token,
} from "markdown-it";
import type { MessageEntity } from "telegraf/types";

/**
 * Text as Telegram shows it: the visible characters, and the formatting over them as
 * `MessageEntity` objects whose offsets and lengths count UTF-16 code units (as JavaScript
 * strings do, and as the Bot API expects).
 */
export interface FormattedText {
  text: string;
  entities: MessageEntity[];
}

/**
 * Converts Markdown (CommonMark, with GFM tables and `~strike~`, plus Telegram's `||spoiler||`
 * and `++underline++`) into the text a Telegram user reads and its entities. Nothing is ever
 * escaped or re-parsed by Telegram: the text goes out as it is, so no input can make a message
 * Telegram refuses. The work is one parse and one walk over the tokens, linear in the length.
 *
 * Backslash escapes (`\*`) give the literal character; HTML is shown as written; only
 * `http(s)`, `tg` and `mailto` links become links; bare URLs and `<autolinks>` stay text that
 * Telegram links by itself.
 */
export function markdownToEntities(markdown: string): FormattedText {
  // Most replies are a plain sentence: no parser at all for them.
  if (!MARKDOWN_SYNTAX.test(markdown)) return { text: markdown, entities: [] };
  return renderMarkdown(markdown);
}

/**
 * Anything that can make Markdown differ from its plain reading: markup characters, and
 * line starts, blank lines and edge spaces that blocks or hard breaks would consume.
 */
const MARKDOWN_SYNTAX = /[\\`*_~|+<>&[\]#\t\r\0]|(?:^|\n)(?:[ =-]|\d+[.)])|^\n|\n$|\n\n\n| \n| $/;

/** Always runs the parser (what {@link markdownToEntities} does for text with syntax). */
export function renderMarkdown(markdown: string): FormattedText {
  const builder = new EntityBuilder();
  walkBlocks(markdownParser().parse(markdown, {}), builder);
  return builder.finish();
}

// ---------------------------------------------------------------- the parser

let parser: MarkdownIt | undefined;

/** The one parser instance: building it costs far more than parsing a short reply. */
export function markdownParser(): MarkdownIt {
  if (parser !== undefined) return parser;
  const md = createMarkdownIt("default", { html: false, linkify: false, typographer: false });
  // Every link parses, so that a refused one shows its text instead of its Markdown; which
  // targets become Telegram links is decided when the entities are made.
  md.validateLink = () => true;
  md.disable("strikethrough");
  md.block.ruler.before("table", "nesting_guard", nestingGuard);
  md.inline.ruler.at("text", textRule);
  md.inline.ruler.before("emphasis", "telegram_pairs", pairsTokenize);
  md.inline.ruler2.before("emphasis", "telegram_pairs", pairsPostProcess);
  parser = md;
  return md;
}

/**
 * Past this depth of quotes and lists, the rest of a block is shown as written. markdown-it
 * silently drops whatever lies deeper than its own limit (100); text must never vanish.
 */
const NESTING_LIMIT = 64;

function nestingGuard(state: StateBlock, startLine: number, endLine: number, silent: boolean) {
  if (state.level < NESTING_LIMIT) return false;
  if (silent) return true;
  const token = state.push("raw_text", "", 0);
  token.content = state.getLines(startLine, endLine, state.blkIndent, false).replace(/\n+$/, "");
  token.map = [startLine, endLine];
  state.line = endLine;
  return true;
}

/**
 * Delimiter pairs beyond CommonMark: `~s~`/`~~s~~`, `||spoiler||`, `++underline++`. Only `~~`
 * may open or close inside a word (as in GFM); the others work like `_`, so `C++11 and C++14`
 * or `file~1 and file~2` stay as written.
 */
const PAIRS = new Map<
  number,
  { lengths: number[]; intraword: number[]; name: string; tag: string }
>([
  [0x7e, { lengths: [1, 2], intraword: [2], name: "s", tag: "s" }],
  [0x7c, { lengths: [2], intraword: [], name: "spoiler", tag: "tg-spoiler" }],
  [0x2b, { lengths: [2], intraword: [], name: "ins", tag: "u" }],
]);

/** A delimiter's marker for markdown-it's pairing: one per character and run length. */
const pairKey = (code: number, length: number) => -(code * 8 + length);

/** Characters at which markdown-it's text rule stops to let other rules look; plus `|`. */
const TERMINATORS = new Uint8Array(128);
for (const char of "\n!#$%&*+-:<=>@[\\]^_`{}~|") TERMINATORS[char.charCodeAt(0)] = 1;

function textRule(state: StateInline, silent: boolean): boolean {
  let pos = state.pos;
  const max = state.posMax;
  while (pos < max) {
    const code = state.src.charCodeAt(pos);
    if (code < 128 && TERMINATORS[code] === 1) break;
    pos++;
  }
  if (pos === state.pos) return false;
  if (!silent) state.pending += state.src.slice(state.pos, pos);
  state.pos = pos;
  return true;
}

function pairsTokenize(state: StateInline, silent: boolean): boolean {
  if (silent) return false;
  const code = state.src.charCodeAt(state.pos);
  const syntax = PAIRS.get(code);
  if (syntax === undefined) return false;
  let end = state.pos;
  while (end < state.posMax && state.src.charCodeAt(end) === code) end++;
  const scanned = state.scanDelims(state.pos, syntax.intraword.includes(end - state.pos));
  const run = state.src.slice(state.pos, state.pos + scanned.length);
  if (syntax.lengths.includes(scanned.length) && (scanned.can_open || scanned.can_close)) {
    const token = state.push("text", "", 0);
    token.content = run;
    state.delimiters.push({
      marker: pairKey(code, scanned.length),
      length: 0,
      token: state.tokens.length - 1,
      end: -1,
      open: scanned.can_open,
      close: scanned.can_close,
    });
  } else {
    // A run of another length is text, whole: `~~~` is no strike and no `~` pair inside.
    state.pending += run;
  }
  state.pos += scanned.length;
  return true;
}

function pairsPostProcess(state: StateInline): void {
  pairUp(state, state.delimiters);
  for (const meta of state.tokens_meta) {
    if (meta?.delimiters !== undefined) pairUp(state, meta.delimiters);
  }
}

function pairUp(state: StateInline, delimiters: StateInline["delimiters"]) {
  for (const opener of delimiters) {
    if (opener.marker >= 0 || opener.end === -1) continue;
    const closer = delimiters[opener.end];
    const code = Math.floor(-opener.marker / 8);
    const syntax = PAIRS.get(code);
    const open = state.tokens[opener.token];
    const close = closer === undefined ? undefined : state.tokens[closer.token];
    if (syntax === undefined || open === undefined || close === undefined) continue;
    for (const [token, nesting] of [
      [open, 1],
      [close, -1],
    ] as const) {
      token.type = `${syntax.name}_${nesting === 1 ? "open" : "close"}`;
      token.tag = syntax.tag;
      token.nesting = nesting;
      token.markup = token.content;
      token.content = "";
    }
  }
}

// ---------------------------------------------------------------- the walk

type EntityType = MessageEntity["type"];

/** Entities Telegram splits around code rather than letting them contain it. */
const SPLITTABLE = new Set<EntityType>(["bold", "italic", "underline", "strikethrough", "spoiler"]);

const INDENT = "    ";
const RULE = "———";

/**
 * Builds the visible text and its entities in one pass. Block separation is owed, not
 * written, until the next visible character, so no entity covers the newlines after it and
 * the text never ends in them; an entity takes its offset at its first visible character.
 */
class EntityBuilder {
  private readonly parts: string[] = [];
  private length = 0;
  private readonly entities: MessageEntity[] = [];
  /** Newlines owed before the next visible character. */
  private breaks = 0;
  /** Entities opened that have no character yet. */
  private waiting: MessageEntity[] = [];
  /** Waiting entities before this index were opened before the pending list marker. */
  private barrier = 0;
  /** A list item's marker, written before its first character. */
  private marker: string | undefined;
  /** Continuation lines inside list items are indented to the item. */
  private indent = "";
  /** Open entities, innermost last; `null` for one that made no entity. */
  private readonly stack: Array<MessageEntity | null> = [];
  /** Splittable entities closed before a code span, to reopen after it. */
  private suspended: MessageEntity[] = [];
  private readonly open = new Map<EntityType, number>();
  private items = 0;
  private readonly lists: Array<{ ordered: boolean; next: number; level: number; loose: boolean }> =
    [];

  write(text: string) {
    if (text.length === 0) return;
    if (this.breaks > 0 && this.length > 0) {
      this.emit("\n".repeat(this.breaks));
      if (this.marker === undefined) this.emit(this.indent);
    }
    this.breaks = 0;
    if (this.marker !== undefined) {
      this.place(this.barrier);
      this.emit(this.marker);
      this.marker = undefined;
    }
    this.place(this.waiting.length);
    this.emit(text);
  }

  /** Owes `count` newlines before whatever comes next (the larger of what blocks ask). */
  separate(count: number) {
    this.breaks = Math.max(this.breaks, count);
  }

  /** A line break inside a paragraph. */
  lineBreak() {
    this.breaks += 1;
  }

  openEntity(type: EntityType, fields: Record<string, string> = {}) {
    if (this.refuses(type)) {
      this.stack.push(null);
      return;
    }
    if (type === "code") this.suspendSplittable();
    const entity = { type, offset: -1, length: 0, ...fields } as MessageEntity;
    this.open.set(type, (this.open.get(type) ?? 0) + 1);
    this.waiting.push(entity);
    this.stack.push(entity);
  }

  /** Keeps the stack balanced for an opening that makes no entity (a refused link). */
  openNothing() {
    this.stack.push(null);
  }

  closeEntity() {
    const entity = this.stack.pop();
    if (entity === null || entity === undefined) return;
    this.open.set(entity.type, (this.open.get(entity.type) ?? 1) - 1);
    if (entity.offset < 0) {
      // Nothing was written inside: it is the innermost waiting entity.
      this.waiting.pop();
      this.barrier = Math.min(this.barrier, this.waiting.length);
    } else {
      entity.length = this.length - entity.offset;
    }
    if (entity.type === "code") this.resumeSplittable();
  }

  startItem(markup: string) {
    const list = this.lists.at(-1);
    const label = list?.ordered ? `${list.next++}${markup}` : "•";
    if (this.marker === undefined) {
      this.marker = `${INDENT.repeat(this.items)}${label} `;
      this.barrier = this.waiting.length;
    } else {
      // An item whose content starts with a list: both markers on one line.
      this.marker += `${label} `;
    }
    this.items++;
    this.indent = INDENT.repeat(this.items);
    this.separate(1);
  }

  endItem() {
    // An item that is still waiting for its marker had nothing in it: it shows nothing.
    this.marker = undefined;
    this.items--;
    this.indent = INDENT.repeat(this.items);
    // Items of a tight list follow each other line by line, whatever block ended the item.
    if (this.lists.at(-1)?.loose) this.separate(2);
    else this.breaks = 1;
  }

  startList(ordered: boolean, start: number, level: number) {
    this.lists.push({ ordered, next: start, level, loose: false });
  }

  /** A paragraph ended; one shown as a paragraph straight inside an item makes its list loose. */
  endParagraph(hidden: boolean, level: number) {
    this.separate(hidden ? 1 : 2);
    const list = this.lists.at(-1);
    if (!hidden && list !== undefined && level === list.level + 2) list.loose = true;
  }

  endList() {
    this.lists.pop();
    this.separate(this.items > 0 ? 1 : 2);
  }

  finish(): FormattedText {
    return {
      text: this.parts.join(""),
      entities: this.entities.filter((entity) => entity.length > 0),
    };
  }

  private emit(text: string) {
    if (text.length === 0) return;
    this.parts.push(text);
    this.length += text.length;
  }

  /** Gives the first `count` waiting entities their offset: here. */
  private place(count: number) {
    if (count === 0) return;
    for (const entity of this.waiting.slice(0, count)) {
      entity.offset = this.length;
      this.entities.push(entity);
    }
    this.waiting = this.waiting.slice(count);
    this.barrier = Math.max(0, this.barrier - count);
  }

  /** What Telegram cannot nest: the same type twice, quotes in quotes, code in a link. */
  private refuses(type: EntityType): boolean {
    if ((this.open.get(type) ?? 0) > 0) return true;
    if (type === "code" && (this.open.get("text_link") ?? 0) > 0) return true;
    return false;
  }

  /**
   * Telegram keeps bold, italic and the like out of code: they end before a code span and
   * start again after it, so the entities sent are the ones Telegram stores.
   */
  private suspendSplittable() {
    for (const [index, entity] of this.stack.entries()) {
      if (entity === null || !SPLITTABLE.has(entity.type)) continue;
      if (entity.offset >= 0) {
        entity.length = this.length - entity.offset;
      } else {
        this.waiting = this.waiting.filter((waiting) => waiting !== entity);
        this.barrier = Math.min(this.barrier, this.waiting.length);
      }
      const again = { ...entity, offset: -1, length: 0 } as MessageEntity;
      this.stack[index] = again;
      this.suspended.push(again);
    }
  }

  private resumeSplittable() {
    this.waiting.push(...this.suspended);
    this.suspended = [];
  }
}

function walkBlocks(tokens: Token[], out: EntityBuilder) {
  let cell = 0;
  for (const token of tokens) {
    switch (token.type) {
      case "inline":
        walkInline(token.children ?? [], out);
        break;
      case "paragraph_close":
        out.endParagraph(token.hidden, token.level);
        break;
      case "heading_open":
        out.openEntity("bold");
        break;
      case "heading_close":
        out.closeEntity();
        out.separate(2);
        break;
      case "blockquote_open":
        out.openEntity("blockquote");
        break;
      case "blockquote_close":
        out.closeEntity();
        out.separate(2);
        break;
      case "bullet_list_open":
        out.startList(false, 1, token.level);
        break;
      case "ordered_list_open":
        out.startList(true, Number(token.attrGet("start") ?? 1), token.level);
        break;
      case "bullet_list_close":
      case "ordered_list_close":
        out.endList();
        break;
      case "list_item_open":
        out.startItem(token.markup);
        break;
      case "list_item_close":
        out.endItem();
        break;
      case "fence":
      case "code_block": {
        const language = token.type === "fence" ? languageOf(token.info) : undefined;
        out.openEntity("pre", language === undefined ? {} : { language });
        out.write(token.content.endsWith("\n") ? token.content.slice(0, -1) : token.content);
        out.closeEntity();
        out.separate(2);
        break;
      }
      case "hr":
        out.write(RULE);
        out.separate(2);
        break;
      case "tr_open":
        out.separate(1);
        cell = 0;
        break;
      case "th_open":
      case "td_open":
        if (cell++ > 0) out.write(" | ");
        if (token.type === "th_open") out.openEntity("bold");
        break;
      case "th_close":
        out.closeEntity();
        break;
      case "table_close":
        out.separate(2);
        break;
      case "raw_text":
        out.write(token.content);
        out.separate(2);
        break;
      case "html_block":
        // Only with HTML parsing on, which it is not; shown as written if it ever appears.
        out.write(token.content.replace(/\n+$/, ""));
        out.separate(2);
        break;
      default:
        break;
    }
  }
}

function walkInline(tokens: Token[], out: EntityBuilder) {
  for (const token of tokens) {
    switch (token.type) {
      case "text":
      case "text_special":
      case "html_inline":
        out.write(token.content);
        break;
      case "softbreak":
      case "hardbreak":
        out.lineBreak();
        break;
      case "code_inline":
        out.openEntity("code");
        out.write(token.content);
        out.closeEntity();
        break;
      case "strong_open":
        out.openEntity("bold");
        break;
      case "em_open":
        out.openEntity("italic");
        break;
      case "s_open":
        out.openEntity("strikethrough");
        break;
      case "spoiler_open":
        out.openEntity("spoiler");
        break;
      case "ins_open":
        out.openEntity("underline");
        break;
      case "link_open": {
        const url = token.markup === "autolink" ? undefined : linkTarget(token.attrGet("href"));
        if (url === undefined) out.openNothing();
        else out.openEntity("text_link", { url });
        break;
      }
      case "strong_close":
      case "em_close":
      case "s_close":
      case "spoiler_close":
      case "ins_close":
      case "link_close":
        out.closeEntity();
        break;
      case "image": {
        const alt = plainText(token.children ?? []);
        const src = token.attrGet("src");
        if (alt === "") {
          out.write(String(src ?? ""));
          break;
        }
        const url = linkTarget(src);
        if (url === undefined) out.openNothing();
        else out.openEntity("text_link", { url });
        out.write(alt);
        out.closeEntity();
        break;
      }
      default:
        break;
    }
  }
}

/** An image's alt text: its words without their formatting. */
function plainText(tokens: Token[]): string {
  let text = "";
  for (const token of tokens) {
    if (token.type === "softbreak" || token.type === "hardbreak") text += " ";
    else if (token.type === "image") text += plainText(token.children ?? []);
    else if (token.nesting === 0) text += token.content;
  }
  return text;
}

/** A fence's language: the first word of its info string, if it looks like one. */
function languageOf(info: string): string | undefined {
  const word = info.trim().split(/\s+/)[0] ?? "";
  return /^[\w#+.-]{1,32}$/.test(word) ? word : undefined;
}

/**
 * The target of a Markdown link if Telegram can link it: `http(s)` with a host Telegram
 * accepts (it refuses hosts without a dot), `tg:` and `mailto:`. Anything else stays text.
 */
export function linkTarget(href: string | number | null): string | undefined {
  if (typeof href !== "string") return undefined;
  if (/^(?:tg|mailto):\S/i.test(href)) return href;
  if (!/^https?:\/\//i.test(href)) return undefined;
  try {
    const { hostname } = new URL(href);
    return hostname.includes(".") || hostname.startsWith("[") ? href : undefined;
  } catch {
    return undefined;
  }
}
