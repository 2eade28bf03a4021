import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { assertNoOperators, isKamihiError, literal } from "../src/index.js";

describe("literal", () => {
  it("wraps plain values in $eq", () => {
    assert.deepEqual(literal("ada"), { $eq: "ada" });
    assert.deepEqual(literal(42), { $eq: 42 });
    assert.deepEqual(literal(null), { $eq: null });
    assert.deepEqual(literal("$gt"), { $eq: "$gt" });
    const when = new Date(0);
    assert.deepEqual(literal(when), { $eq: when });
    assert.deepEqual(literal({ city: "Oslo", tags: ["a"] }), {
      $eq: { city: "Oslo", tags: ["a"] },
    });
  });

  it("rejects outside objects that hold operators, at any depth", () => {
    for (const bad of [{ $gt: "" }, { a: { $ne: null } }, [{ ok: 1 }, { $where: "1" }]]) {
      assert.throws(
        () => literal(bad),
        (err: unknown) =>
          isKamihiError(err, "KAMIHI_DB_INVALID_QUERY") && /operator/.test(err.message),
      );
    }
    assert.throws(
      () => assertNoOperators({ a: { $ne: null } }, "search"),
      /The search holds the key "\$ne" at a\.\$ne/,
    );
  });
});
