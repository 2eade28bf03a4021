import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Registry } from "../../src/actions.js";
import { builtIns } from "../../src/pipeline/built-ins.js";
import { q } from "../../src/questions.js";
import { counter, known, pressed, testKit, turnOf } from "./kit.js";

const actions = (registry: Registry) => {
  registry.add(async function hello() {}, { public: true, description: "Say *hi*" });
  registry.add(async function secret() {}, { description: "Hidden" });
  registry.add(async function order() {}, {
    public: true,
    questions: { fruit: q.string("Which?") },
  });
};
const command = (name: string) => ({ command: { name, args: "" } });

describe("built-ins", () => {
  it("/help lists what this user may run, escaped", async () => {
    const kit = await testKit(actions);
    const next = counter();
    await builtIns(kit)(turnOf({ ...known(), ...command("help") }), next);
    assert.equal(next.calls, 0);
    assert.equal(
      kit.said[0]?.text,
      "Here is what I can do:\n\n/hello — Say \\*hi\\*\n/order — order",
    );
  });

  it("/cancel drops a waiting question", async () => {
    const kit = await testKit(actions);
    await kit.conversations.begin(5001, 5001, "order", "");
    await builtIns(kit)(turnOf({ ...known(), ...command("cancel") }), counter());
    await builtIns(kit)(turnOf({ ...known(), ...command("cancel") }), counter());
    assert.deepEqual(
      kit.said.map((s) => s.text),
      ["Cancelled.", "There is nothing to cancel."],
    );
  });

  it("/admin sends a sign-in link to admins in private, and refuses others", async () => {
    const kit = await testKit(actions);
    kit.adminLink = async (id) => `https://admin.example/link/${id}`;
    await builtIns(kit)(turnOf({ ...known({ isAdmin: true }), ...command("admin") }), counter());
    await builtIns(kit)(turnOf({ ...known(), ...command("admin") }), counter());
    assert.match(kit.said[0]?.text ?? "", /https:\/\/admin\.example\/link\/5001$/);
    assert.equal(kit.said[1]?.text, kit.settings.responses.unauthorizedMessage);
  });

  it("applies an admin's access decision and answers the button", async () => {
    const kit = await testKit(actions);
    const button = pressed();
    await builtIns(kit)(turnOf({ ...known(), decision: "kamihi:reg:yes:42", button }), counter());
    assert.deepEqual(button.answers, [{ text: "Only admins can decide on access requests." }]);
  });

  it("lets everything else on", async () => {
    const kit = await testKit(actions);
    const next = counter();
    await builtIns(kit)(turnOf({ ...known(), ...command("hello") }), next);
    await builtIns(kit)(turnOf(known()), next);
    assert.equal(next.calls, 2);
  });
});
