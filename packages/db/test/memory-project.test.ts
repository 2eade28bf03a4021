import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Document } from "@kamihi/core";
import { find as mingoFind } from "mingo";
import { project } from "../src/memory/project.js";

const docs: Document[] = [
  { _id: 1, a: 1, b: { c: 2 }, d: [1, 2] },
  { _id: "x", a: null, e: "text" },
  { b: 3 },
  { _id: { k: 1 }, a: [{ c: 1 }], constructor: 5 },
];

const projections: Document[] = [
  { a: 1 },
  { a: true, b: 1 },
  { a: 1, _id: 0 },
  { _id: 1 },
  { _id: 0 },
  { a: 0 },
  { a: 0, d: false },
  { a: 0, _id: 0 },
  { a: 0, _id: 1 },
  { missing: 1 },
  { constructor: 1 },
  // Shapes the query engine handles: the result must be the same either way.
  { "b.c": 1 },
  { a: 1, d: 0 },
  { d: { $slice: 1 } },
];

describe("the embedded store's projections", () => {
  for (const projection of projections) {
    it(`${JSON.stringify(projection)} gives what the query engine gives`, () => {
      let expected: Document[] | Error;
      try {
        expected = mingoFind(docs, {}, projection).all() as Document[];
      } catch (error) {
        expected = error as Error;
      }
      if (expected instanceof Error) {
        assert.throws(() => project(docs, projection));
        return;
      }
      assert.deepEqual(project(docs, projection), expected);
    });
  }

  it("leaves documents as they are without a projection", () => {
    assert.equal(project(docs, undefined), docs);
    assert.equal(project(docs, {}), docs);
  });
});
