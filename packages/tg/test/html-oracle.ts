import type { MessageEntity } from "telegraf/types";
import { linkTarget, markdownParser } from "../src/markdown.js";

/**
 * What a Markdown text means, worked out without the entity builder: markdown-it's own HTML
 * renderer, then the HTML read back as text. Returns, with all whitespace removed (block
 * spacing is the builder's choice, not the meaning), the visible characters and, per entity
 * type, the characters that type covers.
 */
export function meaningOf(markdown: string): { text: string; covered: Map<string, string> } {
  const html = markdownParser().render(markdown);
  let text = "";
  const covered = new Map<string, string>();
  const open = new Map<string, number>();
  const inside = (type: string) => (open.get(type) ?? 0) > 0;
  const links: boolean[] = [];
  let cell = 0;
  const append = (value: string) => {
    for (const char of value) {
      if (/\s/.test(char)) continue;
      text += char;
      for (const type of TYPES) {
        if (!inside(type)) continue;
        // Telegram keeps bold and the like out of code, and code out of links.
        if (SPLITTABLE.has(type) && inside("code")) continue;
        if (type === "code" && (inside("pre") || inside("text_link"))) continue;
        covered.set(type, (covered.get(type) ?? "") + char);
      }
    }
  };
  for (const match of html.matchAll(/<(\/?)([a-z0-9-]+)([^>]*)>|([^<]+)/g)) {
    const [, closing, tag, attributes, content] = match;
    if (content !== undefined) {
      append(decode(content));
      continue;
    }
    const attribute = (name: string) =>
      decode(new RegExp(`${name}="([^"]*)"`).exec(attributes ?? "")?.[1] ?? "");
    if (tag === "img") {
      const alt = attribute("alt");
      if (alt === "") {
        append(attribute("src"));
      } else {
        const linked = !inside("text_link") && linkTarget(attribute("src")) !== undefined;
        if (linked) open.set("text_link", 1);
        append(alt);
        if (linked) open.set("text_link", 0);
      }
      continue;
    }
    if (tag === "tr") cell = 0;
    if ((tag === "td" || tag === "th") && closing === "" && cell++ > 0) append("|");
    let type = tag === undefined ? undefined : TAGS[tag];
    if (tag === "a") {
      if (closing === "") {
        const href = attribute("href");
        const label = html.slice((match.index ?? 0) + match[0].length).split("</a>")[0] ?? "";
        // An autolink's text is its target: Telegram links it by itself, no entity needed.
        const auto = decode(label) === href || `mailto:${decode(label)}` === href;
        links.push(!auto && linkTarget(href) !== undefined);
      }
      const real = closing === "" ? links.at(-1) : links.pop();
      type = real ? "text_link" : undefined;
    }
    if (type !== undefined) open.set(type, (open.get(type) ?? 0) + (closing === "" ? 1 : -1));
  }
  return { text, covered };
}

/** The same reading of delivered messages: visible characters and coverage, no whitespace. */
export function meaningShown(messages: Array<{ text: string; entities: MessageEntity[] }>): {
  text: string;
  covered: Map<string, string>;
} {
  let text = "";
  const covered = new Map<string, string>();
  for (const message of messages) {
    const decoration = new Uint8Array(message.text.length);
    // List markers and rules are how the text shows structure, not characters of the text.
    for (const found of message.text.matchAll(/(^|\n)( *)((?:(?:•|\d+[.)]) )+|———(?=\n|$))/g)) {
      const start = (found.index ?? 0) + (found[1] ?? "").length + (found[2] ?? "").length;
      decoration.fill(1, start, start + (found[3] ?? "").length);
    }
    const masks = new Map<string, Uint8Array>();
    for (const entity of message.entities) {
      const mask = masks.get(entity.type) ?? new Uint8Array(message.text.length);
      mask.fill(1, entity.offset, entity.offset + entity.length);
      masks.set(entity.type, mask);
    }
    for (let i = 0; i < message.text.length; i++) {
      const char = message.text[i] as string;
      if (decoration[i] === 1 || /\s/.test(char)) continue;
      text += char;
      for (const [type, mask] of masks) {
        if (mask[i] === 1) covered.set(type, (covered.get(type) ?? "") + char);
      }
    }
  }
  return { text, covered };
}

const TAGS: Record<string, string> = {
  strong: "bold",
  h1: "bold",
  h2: "bold",
  h3: "bold",
  h4: "bold",
  h5: "bold",
  h6: "bold",
  th: "bold",
  em: "italic",
  s: "strikethrough",
  u: "underline",
  "tg-spoiler": "spoiler",
  code: "code",
  pre: "pre",
  blockquote: "blockquote",
};

const TYPES = [...new Set([...Object.values(TAGS), "text_link"])];
const SPLITTABLE = new Set(["bold", "italic", "underline", "strikethrough", "spoiler"]);

function decode(html: string): string {
  return html
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, "&");
}
