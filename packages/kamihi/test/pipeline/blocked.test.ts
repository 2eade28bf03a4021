import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { blocked } from "../../src/pipeline/blocked.js";
import { counter, known, pressed, testKit, turnOf } from "./kit.js";

describe("blocked", () => {
  it("ends a blocked user's turn without a word, even on a button", async () => {
    const kit = await testKit();
    const next = counter();
    const button = pressed();
    await blocked(kit)(
      turnOf({ ...known({ status: "blocked" }), command: { name: "x", args: "" } }),
      next,
    );
    await blocked(kit)(turnOf({ ...known({ status: "blocked" }), button }), next);
    assert.equal(next.calls, 0);
    assert.deepEqual(kit.said, []);
    assert.deepEqual(button.answers, [{ text: "", alert: false }]);
  });

  it("lets everyone else on", async () => {
    const kit = await testKit();
    const next = counter();
    await blocked(kit)(turnOf(known()), next);
    await blocked(kit)(turnOf(), next);
    assert.equal(next.calls, 2);
  });
});
