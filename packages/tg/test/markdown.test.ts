import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseMarkdownV2 } from "@kamihi/testing";
import { MAX_MESSAGE_LENGTH, splitText, toMarkdownV2 } from "../src/index.js";

describe("toMarkdownV2", () => {
  it("turns Markdown into Telegram formatting", () => {
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
});

describe("splitText", () => {
  it("keeps short texts whole", () => {
    assert.equal(splitText("short").length, 1);
  });

  it("splits on paragraph breaks first, each part within the limit and valid", () => {
    const paragraph = `${"word ".repeat(150).trim()}.`;
    const text = Array.from({ length: 12 }, (_, i) => `${i}: ${paragraph}`).join("\n\n");
    const parts = splitText(text);
    assert.ok(parts.length > 1);
    for (const part of parts) {
      assert.ok(part.text.length <= MAX_MESSAGE_LENGTH);
      const parsed = parseMarkdownV2(part.text);
      assert.match(parsed.text, /^\d+: word/);
    }
    const rejoined = parts.map((p) => parseMarkdownV2(p.text).text).join("\n\n");
    assert.equal(rejoined, text);
  });

  it("falls back to lines, then characters, for one huge paragraph", () => {
    const lines = splitText(
      Array.from({ length: 400 }, (_, i) => `line ${i} ${"x".repeat(20)}`).join("\n"),
      "plain",
    );
    assert.ok(lines.length > 1);
    assert.ok(lines.every((p) => p.text.length <= MAX_MESSAGE_LENGTH && !p.text.startsWith("\n")));
    const huge = splitText("😀".repeat(5000), "plain");
    assert.equal(huge.length, 3);
    assert.equal(huge.map((p) => p.text).join(""), "😀".repeat(5000));
    assert.ok(
      huge.every((p) => p.text.length <= MAX_MESSAGE_LENGTH && !p.text.includes("\ud83d\n")),
    );
  });
});
