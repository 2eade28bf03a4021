import type { MessageEntity } from "telegraf/types";
import type { FormattedText } from "./markdown.js";

/** Options of {@link splitFormatted}. */
export interface SplitOptions {
  /**
   * Remove spaces and newlines at each chunk's edges, as Telegram would (default); spaces
   * that indent a code line are kept. Off for texts Telegram still has to parse (MarkdownV2,
   * HTML), where a trailing space may be escaped: then only the newlines a cut falls on go.
   */
  trim?: boolean;
}

/**
 * Cuts formatted text into chunks of at most `max` UTF-16 code units: at the last paragraph
 * break of the window, else the last line break, else the last space, else between two
 * characters (never inside a surrogate pair). Every entity is clipped to each chunk it
 * touches, offsets rebased, so one crossing a cut becomes two (a code block keeps its
 * language in both). Chunks of only whitespace are dropped. Linear in the text's length.
 */
export function splitFormatted(
  input: FormattedText,
  max: number,
  options: SplitOptions = {},
): FormattedText[] {
  const { text } = input;
  const trim = options.trim ?? true;
  const entities = [...input.entities].sort((a, b) => a.offset - b.offset || b.length - a.length);
  const code = new CodeCoverage(entities);
  const chunks: FormattedText[] = [];
  /** Entities that started before the current chunk and may reach into it. */
  let carried: MessageEntity[] = [];
  let next = 0;
  let start = skipLeading(text, 0, trim ? code : undefined);
  while (start < text.length) {
    const cut = start + max >= text.length ? text.length : cutPoint(text, start, max);
    let end = cut;
    if (trim) {
      while (end > start && isTrimmed(text.charCodeAt(end - 1))) end--;
    }
    // Entities that start before the end of this chunk: the carried ones and the new ones.
    const touching = carried;
    while (next < entities.length && (entities[next] as MessageEntity).offset < end) {
      touching.push(entities[next] as MessageEntity);
      next++;
    }
    if (text.slice(start, end).trim() !== "") {
      chunks.push({ text: text.slice(start, end), entities: clip(touching, start, end) });
    }
    const following = skipLeading(text, cut, trim ? code : undefined);
    // Entities in the trimmed gap may still reach past it.
    while (next < entities.length && (entities[next] as MessageEntity).offset < following) {
      touching.push(entities[next] as MessageEntity);
      next++;
    }
    carried = touching.filter((entity) => entity.offset + entity.length > following);
    start = following;
  }
  return chunks;
}

/** The entities over `[start, end)`, clipped to it and counted from `start`. */
function clip(entities: MessageEntity[], start: number, end: number): MessageEntity[] {
  const clipped: MessageEntity[] = [];
  for (const entity of entities) {
    const from = Math.max(entity.offset, start);
    const to = Math.min(entity.offset + entity.length, end);
    if (to > from) clipped.push({ ...entity, offset: from - start, length: to - from });
  }
  return clipped;
}

/** Where to end a chunk that starts at `start` and may hold `max` units (`start + max` < length). */
function cutPoint(text: string, start: number, max: number): number {
  const limit = start + max;
  const half = start + Math.floor(max / 2);
  let paragraph = -1;
  let line = -1;
  let space = -1;
  // One backward pass over the window: the latest break of each kind.
  for (let i = limit; i > start; i--) {
    const code = text.charCodeAt(i);
    if (code === NEWLINE) {
      if (line === -1) line = i;
      if (paragraph === -1 && text.charCodeAt(i - 1) === NEWLINE) {
        paragraph = i - 1;
        if (paragraph >= half) break;
      }
    } else if (code === SPACE && space === -1) {
      space = i;
    }
  }
  if (paragraph >= half) return paragraph;
  if (line >= half) return line;
  if (paragraph > start) return paragraph;
  if (line > start) return line;
  if (space > start) return space;
  // No break at all: between characters, but never between the halves of a surrogate pair.
  const high = text.charCodeAt(limit - 1);
  return high >= 0xd800 && high <= 0xdbff && limit - 1 > start ? limit - 1 : limit;
}

const NEWLINE = 10;
const SPACE = 32;

/** What Telegram trims at a message's edges. */
const isTrimmed = (code: number) => code === NEWLINE || code === SPACE;

/**
 * Skips the spaces and newlines a chunk would start with; inside code only the newlines,
 * since a code line's leading spaces are its indentation. Without `code`, only newlines.
 */
function skipLeading(text: string, from: number, code: CodeCoverage | undefined): number {
  let i = from;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c === NEWLINE || (c === SPACE && code !== undefined && !code.covers(i))) i++;
    else break;
  }
  return i;
}

/** Answers "is this position inside code?" for positions asked in increasing order. */
class CodeCoverage {
  private readonly spans: Array<[number, number]>;
  private index = 0;

  constructor(entities: MessageEntity[]) {
    this.spans = entities
      .filter((entity) => entity.type === "pre" || entity.type === "code")
      .map((entity) => [entity.offset, entity.offset + entity.length]);
  }

  covers(position: number): boolean {
    while (
      this.index < this.spans.length &&
      (this.spans[this.index] as [number, number])[1] <= position
    )
      this.index++;
    const span = this.spans[this.index];
    return span !== undefined && span[0] <= position;
  }
}
