import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { route } from "../../src/pipeline/route.js";
import { counter, known, pressed, testKit, turnOf } from "./kit.js";

const hello = (registry: import("../../src/actions.js").Registry) =>
  registry.add(async function hello() {}, { commands: ["hello", "hi"] });

describe("route", () => {
  it("finds the action of a command, by any of its names", async () => {
    const kit = await testKit(hello);
    const turn = turnOf({ ...known(), command: { name: "hi", args: "there" } });
    const next = counter();
    await route(kit)(turn, next);
    assert.equal(next.calls, 1);
    assert.equal(turn.action?.name, "hello");
    assert.equal(turn.args, "there");
  });

  it("answers what runs nothing: the default message, or a refusal for users without access", async () => {
    const kit = await testKit(hello, { responses: { defaultMessage: "Try /help." } });
    await route(kit)(turnOf({ ...known(), command: { name: "nope", args: "" } }), counter());
    await route(kit)(turnOf(), counter());
    assert.deepEqual(
      kit.said.map((s) => s.text),
      ["Try /help.", kit.settings.responses.unauthorizedMessage],
    );
  });

  it("says nothing more to a user just told to wait, and tells a stale button so", async () => {
    const kit = await testKit(hello);
    await route(kit)(turnOf({ told: true }), counter());
    const button = pressed();
    await route(kit)(
      turnOf({ ...known(), button, command: { name: "gone", args: "" } }),
      counter(),
    );
    assert.deepEqual(kit.said, []);
    assert.deepEqual(button.answers, [{ text: "This button no longer does anything." }]);
  });
});
