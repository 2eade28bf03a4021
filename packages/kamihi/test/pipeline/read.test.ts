import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Update } from "@kamihi/core";
import { readUpdate } from "../../src/pipeline/read.js";
import { q } from "../../src/questions.js";
import { ada, privateChat, testKit } from "./kit.js";

const message = (text: string, chat: object = privateChat) =>
  ({ update_id: 1, message: { message_id: 1, date: 0, chat, from: ada, text } }) as Update;
const press = (data: string) =>
  ({
    update_id: 2,
    callback_query: {
      id: "q1",
      from: ada,
      chat_instance: "i",
      data,
      message: { message_id: 3, date: 0, chat: privateChat, text: "menu" },
    },
  }) as Update;
const group = { id: -10, type: "group", title: "G" };

describe("read", () => {
  it("reads a command, addressed to this bot or to none", async () => {
    const kit = await testKit();
    const turn = await readUpdate(kit, message("/buy@FakeBot 3 pears"), undefined);
    assert.deepEqual(turn?.command, { name: "buy", bot: "FakeBot", args: "3 pears" });
    assert.equal((await readUpdate(kit, message("/buy 3"), undefined))?.command?.args, "3");
  });

  it("leaves commands for another bot, chatter in groups and other updates alone", async () => {
    const kit = await testKit();
    assert.equal(await readUpdate(kit, message("/buy@otherbot"), undefined), undefined);
    assert.equal(await readUpdate(kit, message("hello all", group), undefined), undefined);
    assert.equal(
      await readUpdate(kit, { update_id: 5, poll: {} } as unknown as Update, undefined),
      undefined,
    );
    assert.ok(await readUpdate(kit, message("hello"), undefined), "private chatter is read");
  });

  it("reads a group message as a reply when a question waits for its sender", async () => {
    const kit = await testKit((registry) =>
      registry.add(async function order() {}, { questions: { fruit: q.string("Which?") } }),
    );
    await kit.conversations.begin(group.id, ada.id, "order", "");
    const turn = await readUpdate(kit, message("pear", group), undefined);
    assert.equal(turn?.reply?.text, "pear");
    assert.equal(turn?.pending?.conversation.action, "order");
  });

  it("answers a button that is not Kamihi's, and one answering someone else's question", async () => {
    const kit = await testKit();
    const answered: unknown[] = [];
    kit.transport.answerCallback = async (id: string, options?: object) => {
      answered.push([id, options]);
    };
    assert.equal(await readUpdate(kit, press("not-ours"), undefined), undefined);
    assert.equal(await readUpdate(kit, press("kamihi:q:abc:0:0"), undefined), undefined);
    assert.deepEqual(answered, [
      ["q1", {}],
      ["q1", { text: "This question is not yours, or it was already answered." }],
    ]);
  });

  it("reads a command button and an access decision", async () => {
    const kit = await testKit();
    const buy = await readUpdate(kit, press("/buy 3"), "ctx");
    assert.equal(buy?.command?.name, "buy");
    assert.equal(buy?.raw, "ctx");
    assert.ok(buy?.button);
    const decision = await readUpdate(kit, press("kamihi:reg:yes:42"), undefined);
    assert.equal(decision?.decision, "kamihi:reg:yes:42");
  });
});
