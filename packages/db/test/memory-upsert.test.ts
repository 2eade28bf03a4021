import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { upsertDocument } from "../src/memory/upsert.js";

describe("the document an upsert inserts", () => {
  it("takes the filter's equalities, also inside $and and as $eq, with dotted paths", () => {
    assert.deepEqual(
      upsertDocument(
        {
          telegramId: 42,
          "profile.lang": { $eq: "en" },
          $and: [{ status: "active" }, { age: { $gt: 18 } }],
          $or: [{ ignored: true }],
        },
        { $set: { seen: 1 } },
      ),
      { telegramId: 42, profile: { lang: "en" }, status: "active", seen: 1 },
    );
  });

  it("applies $setOnInsert, then the other operators over it", () => {
    assert.deepEqual(
      upsertDocument(
        { _id: "x" },
        { $setOnInsert: { visits: 1, tags: ["a"] }, $inc: { visits: 2 } },
      ),
      { _id: "x", visits: 3, tags: ["a"] },
    );
  });
});
