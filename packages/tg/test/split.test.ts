import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  type FormattedText,
  MAX_CAPTION_LENGTH,
  MAX_MESSAGE_LENGTH,
  markdownToEntities,
  prepare,
  splitFormatted,
  splitText,
} from "../src/index.js";
import { assertTelegramValid } from "./telegram-rules.js";

/** Splits, checking every chunk's size and entities. */
function split(input: FormattedText, max: number): FormattedText[] {
  const chunks = splitFormatted(input, max);
  for (const chunk of chunks) {
    assert.ok(chunk.text.length <= max, `${chunk.text.length} > ${max}`);
    assert.notEqual(chunk.text.trim(), "");
    assert.ok(!/[ \n]$/.test(chunk.text), "end trimmed");
    // A chunk may start with spaces only where they indent a line of code.
    const inCode = chunk.entities.some(
      (e) => (e.type === "pre" || e.type === "code") && e.offset === 0,
    );
    assert.ok(!/^\n/.test(chunk.text) && (inCode || !/^ /.test(chunk.text)), "start trimmed");
    assertTelegramValid(chunk);
  }
  return chunks;
}

const covered = (chunk: FormattedText) =>
  chunk.entities.map((e) => [e.type, chunk.text.slice(e.offset, e.offset + e.length)]);

describe("splitText", () => {
  it("keeps short texts whole", () => {
    assert.deepEqual(splitText("short"), [{ text: "short", entities: [], source: "short" }]);
  });

  it("splits on paragraph breaks first, each part within the limit", () => {
    const paragraph = `${"word ".repeat(150).trim()}.`;
    const text = Array.from({ length: 12 }, (_, i) => `${i}: ${paragraph}`).join("\n\n");
    const parts = splitText(text);
    assert.ok(parts.length > 1);
    for (const part of parts) {
      assert.ok(part.text.length <= MAX_MESSAGE_LENGTH);
      assert.match(part.text, /^\d+: word/);
      assert.match(part.text, /word\.$/);
    }
    assert.equal(parts.map((p) => p.text).join("\n\n"), text);
  });

  it("falls back to lines, then spaces, then characters, never inside a surrogate pair", () => {
    const lines = splitText(
      Array.from({ length: 400 }, (_, i) => `line ${i} ${"x".repeat(20)}`).join("\n"),
      "plain",
    );
    assert.ok(lines.length > 1);
    assert.ok(
      lines.every((p) => p.text.length <= MAX_MESSAGE_LENGTH && /^line \d+ x+$/m.test(p.text)),
    );
    assert.ok(lines.every((p) => !p.text.startsWith("\n") && !p.text.endsWith("\n")));
    const words = splitText("lorem ".repeat(2000), "plain");
    assert.ok(words.every((p) => /^(lorem )*lorem$/.test(p.text)));
    assert.equal(words.map((p) => p.text).join(" "), "lorem ".repeat(2000).trim());
    const huge = splitText("😀".repeat(5000), "plain");
    assert.equal(huge.length, 3);
    assert.equal(huge.map((p) => p.text).join(""), "😀".repeat(5000));
    for (const part of huge) {
      assert.ok(part.text.length <= MAX_MESSAGE_LENGTH);
      assert.ok(
        !/^[\udc00-\udfff]|[\ud800-\udbff]$/.test(part.text),
        "no half of a pair at an edge",
      );
    }
  });

  it("prefers a break in the second half of the window to a cut near its start", () => {
    const text = `Intro\n\n${"a".repeat(60)}\n${"b".repeat(60)}`;
    const parts = split({ text, entities: [] }, 100);
    assert.deepEqual(
      parts.map((p) => p.text),
      [`Intro\n\n${"a".repeat(60)}`, "b".repeat(60)],
    );
  });

  it("sends plain text as it is, and MarkdownV2 and HTML untouched apart from the cuts", () => {
    assert.deepEqual(splitText("**not bold** ", "plain"), [
      { text: "**not bold**", source: "**not bold**" },
    ]);
    const v2 = splitText("*bold*\\ \n\nnext", "MarkdownV2", 9);
    assert.deepEqual(
      v2.map((p) => [p.text, p.parseMode]),
      [
        ["*bold*\\ ", "MarkdownV2"],
        ["next", "MarkdownV2"],
      ],
    );
    assert.deepEqual(splitText("<b>x</b>", "HTML"), [
      { text: "<b>x</b>", parseMode: "HTML", source: "<b>x</b>" },
    ]);
  });

  it("prepares one trimmed text, captions counted on what is shown", () => {
    assert.deepEqual(prepare("\n\n**Hi**  \n"), {
      text: "Hi",
      entities: [{ type: "bold", offset: 0, length: 2 }],
      source: "Hi",
    });
    // 1,500 characters of Markdown that show as 1,000: a caption, not a follow-up text.
    const caption = `[${"x".repeat(1000)}](https://example.com/${"p".repeat(480)})`;
    assert.equal(caption.length > MAX_CAPTION_LENGTH, true);
    assert.equal(prepare(caption).text.length, 1000);
  });
});

describe("splitFormatted", () => {
  it("clips an entity that crosses a cut into two, offsets rebased", () => {
    const text = `aaa ${"b".repeat(10)} ccc`;
    const parts = split({ text, entities: [{ type: "bold", offset: 2, length: 10 }] }, 10);
    assert.deepEqual(
      parts.map((p) => [p.text, p.entities]),
      [
        ["aaa", [{ type: "bold", offset: 2, length: 1 }]],
        ["bbbbbbbbbb", [{ type: "bold", offset: 0, length: 8 }]],
        ["ccc", []],
      ],
    );
  });

  it("keeps a code block's language on both sides of a cut, and its indentation", () => {
    const code = Array.from({ length: 40 }, (_, i) => `  line(${i});`).join("\n");
    const markdown = `Intro **bold**\n\n\`\`\`ts\n${code}\n\`\`\`\n\nOutro _it_`;
    const parts = split(markdownToEntities(markdown), 200);
    assert.ok(parts.length > 2);
    const pre = parts.flatMap((p) => p.entities.filter((e) => e.type === "pre"));
    assert.ok(pre.length >= 2);
    assert.ok(pre.every((e) => "language" in e && e.language === "ts"));
    for (const part of parts.slice(1, -1)) {
      assert.match(part.text, /^ {2}line\(\d+\);/, "a continued code block keeps its indent");
      assert.deepEqual(part.entities, [
        { type: "pre", offset: 0, length: part.text.length, language: "ts" },
      ]);
    }
    const lines = parts.flatMap((p) => p.text.split("\n")).filter((line) => line.includes("line("));
    assert.deepEqual(lines, code.split("\n"));
    assert.deepEqual(covered(parts[0] as FormattedText).slice(0, 1), [["bold", "bold"]]);
    assert.deepEqual(covered(parts.at(-1) as FormattedText).slice(-1), [["italic", "it"]]);
  });

  it("keeps nested entities nested in every chunk", () => {
    const markdown = `> ${Array.from({ length: 30 }, (_, i) => `**quoted ${i} _with ${i}_**`).join(" ")}`;
    const whole = markdownToEntities(markdown);
    const parts = split(whole, 120);
    assert.ok(parts.length > 3);
    for (const part of parts) assert.equal(part.entities[0]?.type, "blockquote");
    // Every character keeps its formatting: per type, the covered characters are the same.
    for (const type of ["blockquote", "bold", "italic"]) {
      const ofType = (chunk: FormattedText) =>
        chunk.entities
          .filter((e) => e.type === type)
          .map((e) => chunk.text.slice(e.offset, e.offset + e.length))
          .join("")
          .replace(/\s/g, "");
      assert.equal(parts.map(ofType).join(""), ofType(whole), type);
    }
  });

  it("drops chunks of whitespace and entities over trimmed whitespace", () => {
    const text = `first${" ".repeat(30)}\n\n${" ".repeat(30)}second`;
    const parts = split({ text, entities: [{ type: "italic", offset: 5, length: 40 }] }, 20);
    assert.deepEqual(
      parts.map((p) => [p.text, p.entities]),
      [
        ["first", []],
        ["second", []],
      ],
    );
    assert.deepEqual(splitFormatted({ text: " \n \n ", entities: [] }, 2), []);
  });

  it("never cuts a surrogate pair, even inside an entity", () => {
    const text = `x${"😀".repeat(20)}`;
    const parts = split({ text, entities: [{ type: "bold", offset: 1, length: 40 }] }, 10);
    assert.equal(parts.map((p) => p.text).join(""), text);
    assert.deepEqual(
      parts.map((p) => p.text.length),
      [9, 10, 10, 10, 2],
    );
  });
});
