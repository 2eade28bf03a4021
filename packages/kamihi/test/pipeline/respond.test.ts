import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { respond } from "../../src/pipeline/respond.js";
import { counter, testKit, turnOf } from "./kit.js";

describe("respond", () => {
  it("sends what the action returned, in order, naming the action", async () => {
    const kit = await testKit((registry) => registry.add(async function hello() {}));
    const next = counter();
    await respond(kit)(
      turnOf({ action: kit.registry.get("hello"), result: ["one", null, ["two"]] }),
      next,
    );
    assert.deepEqual(
      kit.said.map((s) => [s.text, s.action]),
      [
        ["one", "hello"],
        ["two", "hello"],
      ],
    );
    assert.equal(next.calls, 1);
  });

  it("sends nothing for nothing", async () => {
    const kit = await testKit();
    await respond(kit)(turnOf({ result: undefined }), counter());
    assert.deepEqual(kit.said, []);
  });
});
