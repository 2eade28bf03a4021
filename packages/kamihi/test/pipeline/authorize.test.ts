import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Registry } from "../../src/actions.js";
import { authorize } from "../../src/pipeline/authorize.js";
import { counter, known, pressed, testKit, turnOf } from "./kit.js";

const actions = (registry: Registry) => {
  registry.add(async function open() {}, { public: true });
  registry.add(async function secret() {});
};

describe("authorize", () => {
  it("lets anyone run a public action, and admins or granted users the others", async () => {
    const kit = await testKit(actions);
    const open = kit.registry.get("open");
    const secret = kit.registry.get("secret");
    const next = counter();
    await authorize(kit)(turnOf({ action: open }), next);
    await authorize(kit)(turnOf({ ...known({ isAdmin: true }), action: secret }), next);
    await kit.users.createUser({ telegramId: 5001, firstName: "Ada" });
    await kit.users.grant("secret", { users: [5001] });
    await authorize(kit)(turnOf({ ...known(), action: secret }), next);
    assert.equal(next.calls, 3);
  });

  it("refuses the others: in the chat, as an alert on a button, silently after 'wait'", async () => {
    const kit = await testKit(actions);
    const secret = kit.registry.get("secret");
    const next = counter();
    await authorize(kit)(turnOf({ ...known(), action: secret }), next);
    const button = pressed();
    await authorize(kit)(turnOf({ ...known(), action: secret, button }), next);
    await authorize(kit)(turnOf({ action: secret, told: true }), next);
    await authorize(kit)(
      turnOf({ ...known({ status: "blocked" }), action: kit.registry.get("open") }),
      next,
    );
    assert.equal(next.calls, 0);
    const refusal = kit.settings.responses.unauthorizedMessage;
    assert.deepEqual(
      kit.said.map((s) => s.text),
      [refusal],
    );
    assert.deepEqual(button.answers, [{ text: refusal, alert: true }]);
  });

  it("stops a button's spinner before the action runs", async () => {
    const kit = await testKit(actions);
    const button = pressed();
    await authorize(kit)(turnOf({ action: kit.registry.get("open"), button }), counter());
    assert.deepEqual(button.answers, [{}]);
  });
});
