import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { escapeMarkdown } from "@kamihi/core";
import { parseMarkdownV2 } from "@kamihi/testing";
import { type FormattedText, markdownToEntities, toMarkdownV2 } from "../src/index.js";
import { renderMarkdown } from "../src/markdown.js";
import { seededRandom } from "./seeded-random.js";
import { assertTelegramValid } from "./telegram-rules.js";

/** Converts, checks the entities are ones Telegram keeps, and returns the result. */
function convert(markdown: string): FormattedText {
  const result = markdownToEntities(markdown);
  assertTelegramValid(result, markdown);
  return result;
}

/** Each entity as `[type, the text it covers, url or language]`, easier to read than offsets. */
function spans({ text, entities }: FormattedText): Array<[string, string, ...string[]]> {
  return entities.map((entity) => {
    const covered = text.slice(entity.offset, entity.offset + entity.length);
    const extra =
      "url" in entity
        ? [entity.url]
        : "language" in entity && entity.language
          ? [entity.language]
          : [];
    return [entity.type, covered, ...extra];
  });
}

/** The indentation escapeMarkdown gives a line: no-break spaces, which no block takes. */
const unindent = (value: string) =>
  value.replace(/^[ \t]+/gm, (indent) => indent.replace(/\t/g, "    ").replace(/ /g, "\u00a0"));

describe("markdownToEntities: inline formatting", () => {
  it("turns Markdown into text and entities with UTF-16 offsets", () => {
    assert.deepEqual(convert("Hello **Ada**, version 1.5 is _out_! See [docs](https://e.x/a_b)."), {
      text: "Hello Ada, version 1.5 is out! See docs.",
      entities: [
        { type: "bold", offset: 6, length: 3 },
        { type: "italic", offset: 26, length: 3 },
        { type: "text_link", offset: 35, length: 4, url: "https://e.x/a_b" },
      ],
    });
  });

  it("knows both spellings of bold and italic, strikes, spoilers, underline and code", () => {
    const result = convert(
      "**b1** __b2__ *i1* _i2_ ~~s1~~ ~s2~ ||hidden|| ++under++ `a * b` ``x ` y``",
    );
    assert.equal(result.text, "b1 b2 i1 i2 s1 s2 hidden under a * b x ` y");
    assert.deepEqual(spans(result), [
      ["bold", "b1"],
      ["bold", "b2"],
      ["italic", "i1"],
      ["italic", "i2"],
      ["strikethrough", "s1"],
      ["strikethrough", "s2"],
      ["spoiler", "hidden"],
      ["underline", "under"],
      ["code", "a * b"],
      ["code", "x ` y"],
    ]);
  });

  it("nests entities, merging a type inside itself", () => {
    assert.deepEqual(spans(convert("**bold _both_ more**")), [
      ["bold", "bold both more"],
      ["italic", "both"],
    ]);
    assert.deepEqual(spans(convert("***all three***")), [
      ["italic", "all three"],
      ["bold", "all three"],
    ]);
    assert.deepEqual(spans(convert("**outer **inner** outer**")), [["bold", "outer inner outer"]]);
    assert.deepEqual(spans(convert("||a **[b](https://e.x)** c||")), [
      ["spoiler", "a b c"],
      ["bold", "b"],
      ["text_link", "b", "https://e.x"],
    ]);
  });

  it("keeps bold and italic out of code, as Telegram stores them", () => {
    assert.deepEqual(spans(convert("**a `b` c** and _`d`_")), [
      ["bold", "a "],
      ["code", "b"],
      ["bold", " c"],
      ["code", "d"],
    ]);
    // A link keeps its code as plain text: Telegram lets neither hold the other.
    assert.deepEqual(spans(convert("[`npm i`](https://npmjs.com)")), [
      ["text_link", "npm i", "https://npmjs.com"],
    ]);
  });

  it("links only what Telegram can open, and leaves bare URLs to Telegram", () => {
    const result = convert(
      [
        "[web](https://e.x/p?q=1) [tg](tg://resolve?domain=kamihi) [mail](mailto:a@e.x)",
        "[js](javascript:alert(1)) [ftp](ftp://e.x) [rel](/path) [local](http://localhost:3000)",
        "<https://auto.link/x> <me@e.x> https://bare.link",
      ].join("\n"),
    );
    assert.equal(
      result.text,
      "web tg mail\njs ftp rel local\nhttps://auto.link/x me@e.x https://bare.link",
    );
    assert.deepEqual(spans(result), [
      ["text_link", "web", "https://e.x/p?q=1"],
      ["text_link", "tg", "tg://resolve?domain=kamihi"],
      ["text_link", "mail", "mailto:a@e.x"],
    ]);
  });

  it("shows images as their alt text, linked to the image", () => {
    assert.deepEqual(spans(convert("See ![the *chart*](https://e.x/c.png) here")), [
      ["text_link", "the chart", "https://e.x/c.png"],
    ]);
    assert.equal(convert("![](https://e.x/c.png)").text, "https://e.x/c.png");
  });

  it("shows HTML exactly as written, never as formatting", () => {
    const html = "<b>not bold</b> <script>alert(1)</script> <a href='x'>y</a>";
    assert.deepEqual(convert(html), { text: html, entities: [] });
    assert.deepEqual(convert("<div>\nblock\n</div>"), {
      text: "<div>\nblock\n</div>",
      entities: [],
    });
  });

  it("decodes character references as CommonMark does", () => {
    assert.equal(convert("AT&amp;T &copy; &#x1F600;").text, "AT&T © 😀");
  });

  it("breaks lines where the Markdown does", () => {
    assert.equal(convert("soft\nbreak").text, "soft\nbreak");
    assert.equal(convert("hard  \nbreak\\\nagain").text, "hard\nbreak\nagain");
    assert.equal(convert("a\n\n\n\nb").text, "a\n\nb");
  });
});

describe("markdownToEntities: blocks", () => {
  it("makes headings bold lines and rules a line of dashes", () => {
    const result = convert("# Title\n\nText\n\nSub *it*\n---\n\n***\n\nEnd");
    assert.equal(result.text, "Title\n\nText\n\nSub it\n\n———\n\nEnd");
    assert.deepEqual(spans(result), [
      ["bold", "Title"],
      ["bold", "Sub it"],
      ["italic", "it"],
    ]);
  });

  it("keeps fenced code with its language, and indented code", () => {
    const result = convert(
      "Before\n\n```ts\nconst a = 1;\n  indented();\n```\n\n    plain code\n\nAfter",
    );
    assert.equal(result.text, "Before\n\nconst a = 1;\n  indented();\n\nplain code\n\nAfter");
    assert.deepEqual(spans(result), [
      ["pre", "const a = 1;\n  indented();", "ts"],
      ["pre", "plain code"],
    ]);
    // A fence's info string is only a language if it looks like one.
    assert.deepEqual(spans(convert("```{weird info}\nx\n```")), [["pre", "x"]]);
    assert.deepEqual(convert("```\n```"), { text: "", entities: [] });
  });

  it("turns quotes into blockquote entities, one for nested quotes", () => {
    const result = convert("> quoted **line**\n> and more\n>\n> > nested\n\nafter");
    assert.equal(result.text, "quoted line\nand more\n\nnested\n\nafter");
    assert.deepEqual(spans(result), [
      ["blockquote", "quoted line\nand more\n\nnested"],
      ["bold", "line"],
    ]);
  });

  it("keeps list markers as text, indented by nesting, numbered from the list's start", () => {
    assert.equal(
      convert("- one\n- two\n  - nested *it*\n    1. deep\n- three").text,
      "• one\n• two\n    • nested it\n        1. deep\n• three",
    );
    assert.equal(convert("3. three\n4. four\n8. five").text, "3. three\n4. four\n5. five");
    assert.equal(convert("1) a\n2) b").text, "1) a\n2) b");
    assert.equal(
      convert("- loose\n\n- list\n\n  second paragraph").text,
      "• loose\n\n• list\n\n    second paragraph",
    );
    assert.equal(convert("- a\n  > q\n- b").text, "• a\n    q\n• b");
  });

  it("puts a quote around a whole list, and a list item's formatting after its marker", () => {
    const quoted = convert("> - a\n> - **b**");
    assert.equal(quoted.text, "• a\n• b");
    assert.deepEqual(spans(quoted), [
      ["blockquote", "• a\n• b"],
      ["bold", "b"],
    ]);
    assert.deepEqual(spans(convert("- **bold item**")), [["bold", "bold item"]]);
  });

  it("shows tables as rows of cells, the header bold", () => {
    const result = convert("| Name | Qty |\n|:-----|----:|\n| Apples | 3 |\n| Pears *ripe* | |");
    assert.equal(result.text, "Name | Qty\nApples | 3\nPears ripe | ");
    assert.deepEqual(spans(result), [
      ["bold", "Name"],
      ["bold", "Qty"],
      ["italic", "ripe"],
    ]);
  });
});

describe("markdownToEntities: UTF-16 offsets", () => {
  it("counts emoji and other astral characters as two units, as Telegram does", () => {
    const result = convert("👋 **hi** 𝒳 *😀x* `🙂`");
    assert.equal(result.text, "👋 hi 𝒳 😀x 🙂");
    assert.deepEqual(result.entities, [
      { type: "bold", offset: 3, length: 2 },
      { type: "italic", offset: 9, length: 3 },
      { type: "code", offset: 13, length: 2 },
    ]);
  });

  it("keeps combining marks, ZWJ sequences and flags whole", () => {
    const family = "👨‍👩‍👧";
    const accented = "e\u0301";
    const result = convert(`**${family}** ~🇫🇷~ _${accented}_`);
    assert.equal(result.text, `${family} 🇫🇷 ${accented}`);
    assert.deepEqual(result.entities, [
      { type: "bold", offset: 0, length: family.length },
      { type: "strikethrough", offset: family.length + 1, length: 4 },
      { type: "italic", offset: family.length + 6, length: 2 },
    ]);
  });
});

describe("markdownToEntities: escapes and hostile text", () => {
  it("gives the literal character for CommonMark escapes, and keeps other backslashes", () => {
    assert.equal(convert("\\*not italic\\*").text, "*not italic*");
    assert.equal(convert("C:\\Users\\me").text, "C:\\Users\\me");
    assert.equal(convert("ends with \\").text, "ends with \\");
    assert.equal(convert("a \\\\ b \\` c \\| d \\~ e \\+ f").text, "a \\ b ` c | d ~ e + f");
    assert.deepEqual(convert("\\# not a heading\n\\- not a list\n1\\. not ordered").entities, []);
  });

  it("keeps escaped user values inert, whatever they spell", () => {
    const hostile = [
      "*_[]()~` \\ # + - = | { } . ! > <b>x</b> [link](http://evil.example) __u__ ||s|| ++u++",
      "[x](javascript:alert(1))",
      "# heading\n- list\n1. item\n> quote\n```\ncode\n```",
      "&amp; &#42; ~~gone~~ **bold**",
      "    indented\n\ttabbed",
      "https://bare.example/path_(x)",
    ];
    for (const value of hostile) {
      const result = convert(`Hello **there** ${escapeMarkdown(value)} **friend**!`);
      // Line breaks inside a paragraph stay line breaks; everything else shows as typed.
      assert.equal(result.text, `Hello there ${unindent(value)} friend!`, value);
      assert.deepEqual(spans(result), [
        ["bold", "there"],
        ["bold", "friend"],
      ]);
    }
  });

  it("keeps any value escaped with core's escapeMarkdown inert (generated values)", () => {
    const pieces = [
      "\\",
      "*",
      "_",
      "__",
      "~",
      "`",
      "```",
      "[",
      "]",
      "(",
      ")",
      ">",
      "#",
      "-",
      "|",
      "{",
      ".",
      "!",
      "=",
      "+",
      "---",
      "\n",
      "\n\n",
      "\r",
      "\t",
      " ",
      "    ",
      "\u00a0",
      "word",
      "1.5",
      "😀",
      "**b**",
      "[l](http://x.y/)",
      "~~",
      "||",
      "++",
      "- ",
      "1. ",
      "<b>",
      "&amp;",
      "<https://a.b>",
      "https://e.x/a_b",
    ];
    const next = seededRandom(11);
    // Whitespace may be normalised (line ends, spaces around a line break); nothing else.
    const visible = (text: string) => text.replace(/[\s\u00a0]/g, "");
    for (let i = 0; i < 2000; i++) {
      const value = Array.from(
        { length: 1 + Math.floor(next() * 8) },
        () => pieces[Math.floor(next() * pieces.length)],
      ).join("");
      const result = markdownToEntities(`x ${escapeMarkdown(value)} y`);
      assert.deepEqual(result.entities, [], JSON.stringify(value));
      assert.equal(visible(result.text), visible(`x ${value} y`), JSON.stringify(value));
    }
  });

  it("never makes a link out of a target it cannot open", () => {
    for (const target of [
      "javascript:alert(1)",
      "JaVaScRiPt:x",
      "data:text/html,x",
      "vbscript:x",
      "file:///etc/passwd",
      "//evil.example",
    ]) {
      const result = convert(`[click](${target})`);
      assert.equal(result.text, "click", target);
      assert.deepEqual(result.entities, [], target);
    }
  });

  it("shows unbalanced markers as text", () => {
    for (const [markdown, text] of [
      ["*not closed", "*not closed"],
      ["**bold *mixed", "**bold *mixed"],
      ["_a __b", "_a __b"],
      ["`open code", "`open code"],
      ["[link](http://e.x", "[link](http://e.x"],
      ["a ~~~tilde~~~", "a ~~~tilde~~~"],
      ["a ||b", "a ||b"],
      ["x ++ y", "x ++ y"],
      ["snake_case_name and 2 * 3 * 4", "snake_case_name and 2 * 3 * 4"],
      [
        "C++11 and C++14, file~1 and file~2, a||b||c",
        "C++11 and C++14, file~1 and file~2, a||b||c",
      ],
    ]) {
      assert.deepEqual(convert(markdown as string), { text, entities: [] }, markdown);
    }
  });

  it("loses nothing to deep nesting", () => {
    const quotes = `${">".repeat(500)} deep`;
    assert.match(convert(quotes).text, /deep$/);
    const lists = Array.from({ length: 150 }, (_, i) => `${" ".repeat(i * 2)}- item${i}`).join(
      "\n",
    );
    const shown = convert(lists).text;
    for (let i = 0; i < 150; i++) assert.ok(shown.includes(`item${i}`), `item${i}`);
    const stars = `${"*".repeat(3000)}core${"*".repeat(3000)}`;
    assert.match(convert(stars).text, /core/);
    const brackets = "[".repeat(5000);
    assert.equal(convert(brackets).text, brackets);
    const emphasis = `${"*_".repeat(2000)}x${"_*".repeat(2000)}`;
    assert.match(convert(emphasis).text, /x/);
  });
});

describe("markdownToEntities: the fast path", () => {
  it("gives text without Markdown syntax back as it is, exactly as the parser would", () => {
    const alphabet = [
      "word",
      " ",
      "\n",
      "\n\n",
      "1.5",
      "😀",
      "é",
      ",",
      "!",
      "?",
      ":",
      "'",
      '"',
      "(",
      ")",
      "{",
      "}",
      "=",
      "-",
      ".",
      "%",
      "$",
      "@",
      "/",
      "9",
      "#",
      "*",
    ];
    const next = seededRandom(11);
    let fast = 0;
    for (let i = 0; i < 2000; i++) {
      const text = Array.from(
        { length: 1 + Math.floor(next() * 12) },
        () => alphabet[Math.floor(next() * alphabet.length)],
      ).join("");
      const quick = markdownToEntities(text);
      assert.deepEqual(quick, renderMarkdown(text), JSON.stringify(text));
      if (quick.text === text) fast++;
    }
    assert.ok(fast > 500, "many of the texts took the fast path");
  });
});

describe("toMarkdownV2", () => {
  it("writes the same conversion as Telegram MarkdownV2", () => {
    const parsed = parseMarkdownV2(
      toMarkdownV2("Hello **Ada**, version 1.5 is _out_! See [docs](https://e.x/a_b)."),
    );
    assert.equal(parsed.text, "Hello Ada, version 1.5 is out! See docs.");
    assert.deepEqual(
      parsed.entities.map((e) => e.type),
      ["bold", "italic", "text_link"],
    );
  });

  it("keeps literal backslashes, and Markdown escapes, as CommonMark means them", () => {
    assert.equal(parseMarkdownV2(toMarkdownV2("C:\\Users\\me")).text, "C:\\Users\\me");
    assert.equal(parseMarkdownV2(toMarkdownV2("ends with \\")).text, "ends with \\");
    assert.equal(parseMarkdownV2(toMarkdownV2("\\*not italic\\*")).text, "*not italic*");
  });

  it("round-trips every construct through Telegram's MarkdownV2 parsing", () => {
    for (const markdown of [
      "# Title\n\n**b _i_** ~~s~~ ||sp|| ++u++ `c\\`` [l](https://e.x/a_(b))",
      "> quote\n> more\n\n```ts\nconst a = `x` \\ y;\n```",
      "_italic_ ++_under italic_++ __bold__",
      "- a\n- b 1.5!\n\n| x | y |\n|---|---|\n| 1 | 2 |",
    ]) {
      const expected = markdownToEntities(markdown);
      const parsed = parseMarkdownV2(toMarkdownV2(markdown));
      assert.equal(parsed.text, expected.text, markdown);
      assert.deepEqual(
        parsed.entities
          .map((e) => [e.type, e.offset, e.length])
          .sort(
            (a, b) =>
              (a[1] as number) - (b[1] as number) ||
              (b[2] as number) - (a[2] as number) ||
              String(a[0]).localeCompare(String(b[0])),
          ),
        expected.entities
          .map((e) => [e.type, e.offset, e.length])
          .sort(
            (a, b) =>
              (a[1] as number) - (b[1] as number) ||
              (b[2] as number) - (a[2] as number) ||
              String(a[0]).localeCompare(String(b[0])),
          ),
        markdown,
      );
    }
  });
});
