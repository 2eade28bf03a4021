import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { EntityParseError, parseHtml, parseMarkdownV2 } from "../src/index.js";

describe("MarkdownV2 as Telegram parses it", () => {
  it("turns entities into text and UTF-16 offsets", () => {
    const parsed = parseMarkdownV2(
      "*Hi* _there_ __u__ ~s~ ||x|| `c\\`d` [link](https://e.x/a\\)b) 1\\.5\\!",
    );
    assert.equal(parsed.text, "Hi there u s x c`d link 1.5!");
    assert.deepEqual(
      parsed.entities.map((e) => [e.type, e.offset, e.length]),
      [
        ["bold", 0, 2],
        ["italic", 3, 5],
        ["underline", 9, 1],
        ["strikethrough", 11, 1],
        ["spoiler", 13, 1],
        ["code", 15, 3],
        ["text_link", 19, 4],
      ],
    );
    assert.equal((parsed.entities[6] as { url: string }).url, "https://e.x/a)b");
  });

  it("handles nesting, pre blocks with a language, and quotes", () => {
    const parsed = parseMarkdownV2("*bold _both_*\n```ts\nconst a = 1;\n```\n>quoted\n>lines");
    assert.equal(parsed.text, "bold both\nconst a = 1;\n\nquoted\nlines");
    const types = parsed.entities.map((e) => e.type);
    assert.deepEqual(types, ["bold", "italic", "pre", "blockquote"]);
    assert.equal((parsed.entities[2] as { language?: string }).language, "ts");
  });

  it("counts offsets in UTF-16 units, as Telegram does", () => {
    const parsed = parseMarkdownV2("👋 *hi*");
    assert.deepEqual(parsed.entities[0], { type: "bold", offset: 3, length: 2 });
  });

  it("rejects unescaped reserved characters, unclosed and crossed entities", () => {
    const cases: Array<[string, RegExp]> = [
      ["Version 1.5", /Character '\.' is reserved and must be escaped with the preceding '\\'/],
      ["Hello!", /Character '!' is reserved/],
      ["*bold", /Can't find end of Bold entity at byte offset 0/],
      ["ok _it", /Can't find end of Italic entity at byte offset 3/],
      ["*a _b* c_", /Can't find end of Italic entity/],
      ["[text](url", /Can't find end of a URL/],
      ["`code", /Can't find end of Code entity/],
      ["a]b", /Character '\]' is reserved/],
    ];
    for (const [input, message] of cases) {
      assert.throws(
        () => parseMarkdownV2(input),
        (err: unknown) => err instanceof EntityParseError && message.test(err.message),
        input,
      );
    }
  });
});

describe("HTML as Telegram parses it", () => {
  it("supports Telegram's tags and character references", () => {
    const parsed = parseHtml(
      '<b>bold</b> <a href="https://e.x">a &amp; b</a> &lt;3 <tg-spoiler>s</tg-spoiler>',
    );
    assert.equal(parsed.text, "bold a & b <3 s");
    assert.deepEqual(
      parsed.entities.map((e) => e.type),
      ["bold", "text_link", "spoiler"],
    );
  });

  it("rejects unknown and unclosed tags", () => {
    assert.throws(() => parseHtml("<div>x</div>"), /Unsupported start tag "div"/);
    assert.throws(() => parseHtml("<b>x"), /Can't find end tag corresponding to start tag "b"/);
    assert.throws(
      () => parseHtml("<b><i>x</b></i>"),
      /Can't find end tag corresponding to start tag "i"/,
    );
    assert.throws(() => parseHtml("<a>x</a>"), /href/);
  });
});
