import assert from "node:assert/strict";
import { describe, it, mock } from "node:test";
import { splitText } from "../src/index.js";
import { markdownParser } from "../src/markdown.js";
import { longAnswer, manyLines } from "./long-answer.js";

/** The least CPU time (user + system, µs) of a few runs: steadier than any single one. */
function cpuTime(work: () => unknown): number {
  let best = Number.POSITIVE_INFINITY;
  for (let run = 0; run < 5; run++) {
    const start = process.cpuUsage();
    work();
    const used = process.cpuUsage(start);
    best = Math.min(best, used.user + used.system);
  }
  return best;
}

// The old converter re-converted the growing chunk for every line: 20,000 characters of lines
// took seconds and 100,000 minutes, all on the event loop. These tests count the work instead
// of timing it against a clock.
describe("preparing a long answer is linear in its length", () => {
  it("parses the Markdown once, however many messages it makes", () => {
    const parse = mock.method(markdownParser(), "parse");
    try {
      for (const text of [longAnswer(100_000), manyLines(20_000)]) {
        parse.mock.resetCalls();
        const parts = splitText(text);
        assert.ok(parts.length > 4, `${parts.length} messages`);
        assert.equal(parse.mock.callCount(), 1);
        assert.equal(String(parse.mock.calls[0]?.arguments[0]).length, text.length);
      }
    } finally {
      parse.mock.restore();
    }
  });

  it("takes CPU time in proportion to the length: ten times the text, not a hundred times the time", () => {
    for (const shape of [manyLines, longAnswer]) {
      const small = shape(20_000);
      const large = shape(200_000);
      for (let i = 0; i < 3; i++) splitText(small); // let the JIT settle
      const ratio = cpuTime(() => splitText(large)) / cpuTime(() => splitText(small));
      // Linear work gives about 10; the old quadratic splitting gave over 100.
      assert.ok(ratio < 30, `${shape.name}: 10× the text took ${ratio.toFixed(1)}× the CPU time`);
    }
  });
});
