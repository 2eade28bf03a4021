import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type Step, sequence } from "../../src/pipeline/turn.js";
import { counter, turnOf } from "./kit.js";

describe("sequence", () => {
  it("runs the steps in order, each around the rest, and stops where one does not go on", async () => {
    const trail: string[] = [];
    const step =
      (name: string, goOn = true): Step =>
      async (_turn, next) => {
        trail.push(`${name} in`);
        if (goOn) await next();
        trail.push(`${name} out`);
      };
    const last = counter();
    await sequence([step("a"), step("b"), step("c")])(turnOf(), last);
    await sequence([step("x", false), step("never")])(turnOf(), last);
    assert.deepEqual(trail, ["a in", "b in", "c in", "c out", "b out", "a out", "x in", "x out"]);
    assert.equal(last.calls, 1);
  });
});
