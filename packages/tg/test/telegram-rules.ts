import assert from "node:assert/strict";
import type { FormattedText } from "../src/index.js";

const isHigh = (code: number) => code >= 0xd800 && code <= 0xdbff;

/**
 * Asserts that entities are ones Telegram stores unchanged (its `are_entities_valid`, minus
 * the splittable-inside-splittable case it accepts as is): inside the text, never cutting a
 * surrogate pair, sorted, nested or apart, no type inside itself, nothing inside code, code
 * only inside a quote, no quote in a quote, no link in a link.
 */
export function assertTelegramValid({ text, entities }: FormattedText, label = ""): void {
  const stack: Array<{ type: string; end: number }> = [];
  let previous: { offset: number; length: number } | undefined;
  for (const entity of entities) {
    const end = entity.offset + entity.length;
    const where = `${label} ${JSON.stringify(entity)} in ${JSON.stringify(text.slice(0, 200))}`;
    assert.ok(Number.isInteger(entity.offset) && entity.offset >= 0, `offset ${where}`);
    assert.ok(Number.isInteger(entity.length) && entity.length >= 1, `length ${where}`);
    assert.ok(end <= text.length, `inside the text ${where}`);
    assert.ok(
      !isHigh(text.charCodeAt(entity.offset - 1)) && !isHigh(text.charCodeAt(end - 1)),
      `no cut surrogate pair ${where}`,
    );
    if (previous !== undefined) {
      assert.ok(
        previous.offset < entity.offset ||
          (previous.offset === entity.offset && previous.length >= entity.length),
        `sorted ${where}`,
      );
    }
    previous = entity;
    while (stack.length > 0 && (stack.at(-1) as { end: number }).end <= entity.offset) stack.pop();
    for (const outer of stack) {
      assert.ok(end <= outer.end, `nested, never crossing ${where}`);
      assert.notEqual(outer.type, entity.type, `no ${entity.type} inside itself ${where}`);
      assert.ok(outer.type !== "code" && outer.type !== "pre", `nothing inside code ${where}`);
      if (entity.type === "code" || entity.type === "pre") {
        assert.equal(outer.type, "blockquote", `code only inside a quote ${where}`);
      }
    }
    stack.push({ type: entity.type, end });
  }
}
