import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isKamihiError, KamihiError } from "@kamihi/core";
import { createMemoryRunner } from "../src/memory/operation.js";
import { Table } from "../src/memory/table.js";

const NO_EVENTS = { put() {}, delete() {}, indexes() {} };

/** A runner over one table of codes expiring 60 s after `at`, on a clock the test moves. */
function setUp() {
  let now = new Date("2026-01-01T00:00:00Z");
  let closed = false;
  let connects = 0;
  const codes = new Table("kamihi_codes", NO_EVENTS);
  codes.ensureIndex({ keys: { at: 1 }, expireAfterSeconds: 60 });
  codes.insert({ _id: "a", at: now });
  const run = createMemoryRunner({
    connect: async () => {
      connects++;
    },
    isClosed: () => closed,
    table: (name) => {
      assert.equal(name, "kamihi_codes");
      return codes;
    },
    now: () => now,
  });
  return {
    run,
    codes,
    connects: () => connects,
    advance: (seconds: number) => {
      now = new Date(now.getTime() + seconds * 1000);
    },
    close: () => {
      closed = true;
    },
  };
}

describe("one operation of the embedded store", () => {
  it("connects first, then purges what expired by the store's clock before it runs", async () => {
    const { run, connects, advance } = setUp();
    assert.equal(await run("kamihi_codes", "countDocuments", (t) => t.size), 1);
    assert.equal(connects(), 1);
    advance(59);
    assert.equal(await run("kamihi_codes", "countDocuments", (t) => t.size), 1);
    advance(2);
    assert.equal(await run("kamihi_codes", "countDocuments", (t) => t.size), 0, "gone at 61 s");
  });

  it("refuses to run once the store is closed, even if it was waiting to connect", async () => {
    const { run, close } = setUp();
    close();
    let ran = false;
    await assert.rejects(
      run("kamihi_codes", "insertOne", () => {
        ran = true;
      }),
      (err: unknown) =>
        isKamihiError(err, "KAMIHI_DB_OPERATION_FAILED") && /is closed/.test(err.message),
    );
    assert.equal(ran, false);
  });

  it("types the query engine's errors as KAMIHI_DB_INVALID_QUERY, and lets Kamihi's through", async () => {
    const { run } = setUp();
    await assert.rejects(
      run("kamihi_codes", "find", (t) => t.select({ at: { $kamihiNoSuchOperator: 1 } })),
      (err: unknown) => {
        assert.ok(isKamihiError(err, "KAMIHI_DB_INVALID_QUERY"), String(err));
        assert.match(err.message, /^The embedded store could not run find on kamihi_codes: /);
        assert.deepEqual(err.details, { collection: "kamihi_codes", operation: "find" });
        return true;
      },
    );
    const own = new KamihiError("KAMIHI_DB_DUPLICATE_KEY", "taken");
    await assert.rejects(
      run("kamihi_codes", "insertOne", () => {
        throw own;
      }),
      (err: unknown) => err === own,
    );
  });
});
