import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Registry } from "../../src/actions.js";
import { conversation } from "../../src/pipeline/conversation.js";
import { q } from "../../src/questions.js";
import { counter, known, testKit, turnOf } from "./kit.js";

const order = (registry: Registry) =>
  registry.add(async function order() {}, {
    public: true,
    questions: {
      fruit: q.choice("Which fruit?", ["apple", "pear"]),
      count: q.integer("How many?", { min: 1 }),
    },
  });

async function waiting(kit: Awaited<ReturnType<typeof testKit>>, step = 0) {
  const begun = await kit.conversations.begin(5001, 5001, "order", "fast");
  if (step > 0) await kit.conversations.answer(begun, "fruit", "pear");
  const pending = await kit.conversations.find(5001, 5001);
  assert.ok(pending);
  return pending;
}

describe("conversation", () => {
  it("lets turns without a waiting question go on", async () => {
    const kit = await testKit(order);
    const next = counter();
    await conversation(kit)(turnOf(), next);
    assert.equal(next.calls, 1);
  });

  it("explains a wrong answer and asks again", async () => {
    const kit = await testKit(order);
    const next = counter();
    await conversation(kit)(
      turnOf({ ...known(), pending: await waiting(kit), reply: { text: "kiwi" } }),
      next,
    );
    assert.equal(next.calls, 0);
    assert.equal(kit.said.length, 2);
    assert.equal(kit.said[1]?.text, "Which fruit?");
  });

  it("saves an answer and asks the next question", async () => {
    const kit = await testKit(order);
    await conversation(kit)(
      turnOf({ ...known(), pending: await waiting(kit), reply: { text: "pear" } }),
      counter(),
    );
    assert.deepEqual(
      kit.said.map((s) => s.text),
      ["How many?"],
    );
  });

  it("after the last answer, hands the action and the answers on", async () => {
    const kit = await testKit(order);
    const turn = turnOf({ ...known(), pending: await waiting(kit, 1), reply: { text: "3" } });
    const next = counter();
    await conversation(kit)(turn, next);
    assert.equal(next.calls, 1);
    assert.equal(turn.action?.name, "order");
    assert.equal(turn.args, "fast");
    assert.deepEqual(turn.answers, { fruit: "pear", count: 3 });
    assert.equal(await kit.conversations.find(5001, 5001), undefined, "the conversation is over");
  });

  it("says when the question expired", async () => {
    const kit = await testKit(order);
    const pending = { ...(await waiting(kit)), expired: true };
    await conversation(kit)(turnOf({ ...known(), pending, reply: { text: "pear" } }), counter());
    assert.deepEqual(
      kit.said.map((s) => s.text),
      ["That question expired. Send /order to start again."],
    );
  });

  it("refuses in the chat when access was taken away meanwhile", async () => {
    const kit = await testKit((registry) =>
      registry.add(async function order() {}, { questions: { fruit: q.string("Which?") } }),
    );
    await conversation(kit)(
      turnOf({ ...known(), pending: await waiting(kit), reply: { text: "pear" } }),
      counter(),
    );
    assert.deepEqual(
      kit.said.map((s) => s.text),
      [kit.settings.responses.unauthorizedMessage],
    );
    assert.equal(await kit.conversations.find(5001, 5001), undefined);
  });
});
