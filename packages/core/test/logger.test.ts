import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { silentLogger } from "../src/index.js";

describe("silentLogger", () => {
  it("accepts both pino call shapes and returns itself as a child", () => {
    assert.equal(silentLogger.info("text"), undefined);
    assert.equal(silentLogger.error({ err: new Error("x") }, "failed %s", "now"), undefined);
    assert.equal(silentLogger.child({ action: "start" }), silentLogger);
  });
});
