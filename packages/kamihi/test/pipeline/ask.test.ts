import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Registry } from "../../src/actions.js";
import { ask } from "../../src/pipeline/ask.js";
import { q } from "../../src/questions.js";
import { counter, testKit, turnOf } from "./kit.js";

const actions = (registry: Registry) => {
  registry.add(async function order() {}, {
    questions: { fruit: q.choice("Which fruit?", ["apple", "pear"]) },
  });
  registry.add(async function now() {});
};

describe("ask", () => {
  it("starts an action's questions with the first one, and ends the turn there", async () => {
    const kit = await testKit(actions);
    const next = counter();
    await ask(kit)(turnOf({ action: kit.registry.get("order"), args: "fast" }), next);
    assert.equal(next.calls, 0);
    assert.deepEqual(
      kit.said.map((s) => s.text),
      ["Which fruit?"],
    );
    const pending = await kit.conversations.find(5001, 5001);
    assert.equal(pending?.conversation.args, "fast");
  });

  it("runs an action without questions at once, dropping a question left unanswered here", async () => {
    const kit = await testKit(actions);
    await kit.conversations.begin(5001, 5001, "order", "");
    const turn = turnOf({ action: kit.registry.get("now") });
    const next = counter();
    await ask(kit)(turn, next);
    assert.equal(next.calls, 1);
    assert.deepEqual(turn.answers, {});
    assert.equal(await kit.conversations.find(5001, 5001), undefined);
  });

  it("lets answered questions through", async () => {
    const kit = await testKit(actions);
    const next = counter();
    await ask(kit)(turnOf({ action: kit.registry.get("order"), answers: { fruit: "pear" } }), next);
    assert.equal(next.calls, 1);
  });
});
