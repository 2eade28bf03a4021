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

  it("ends the conversation a blocked user was answering", async () => {
    const kit = await testKit();
    const begun = await kit.conversations.begin(5001, 5001, "order", "");
    const pending = await kit.conversations.find(5001, 5001);
    assert.equal(pending?.conversation.id, begun.id);
    await blocked(kit)(
      turnOf({ ...known({ status: "blocked" }), pending, reply: { text: "x" } }),
      counter(),
    );
    assert.equal(await kit.conversations.find(5001, 5001), undefined);
    assert.deepEqual(kit.said, []);
  });

  it("lets everyone else on", async () => {
    const kit = await testKit();
    const next = counter();
    await blocked(kit)(turnOf(known()), next);
    await blocked(kit)(turnOf(), next);
    assert.equal(next.calls, 2);
  });
});
