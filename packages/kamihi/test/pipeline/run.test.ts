import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { ActionContext } from "../../src/context.js";
import { run } from "../../src/pipeline/run.js";
import { counter, known, testKit, turnOf } from "./kit.js";

describe("run", () => {
  it("runs the handler with its context, keeps the result, and goes on", async () => {
    let seen: ActionContext<Record<string, unknown>> | undefined;
    const kit = await testKit((registry) =>
      registry.add(async function hello(context) {
        seen = context as ActionContext<Record<string, unknown>>;
        return `hi ${context.args}`;
      }),
    );
    const turn = turnOf({
      ...known(),
      action: kit.registry.get("hello"),
      args: "you",
      answers: { a: 1 },
      raw: "ctx",
    });
    const next = counter();
    await run(kit)(turn, next);
    assert.equal(next.calls, 1);
    assert.equal(turn.result, "hi you");
    assert.equal(seen?.user.firstName, "Ada");
    assert.equal(seen?.user.known, true);
    assert.deepEqual(seen?.answers, { a: 1 });
    assert.equal(seen?.tg, "ctx");
    assert.equal(await seen?.template(), "rendered hello.md");
  });

  it("answers a failure, in the handler or in the response, with the error message", async () => {
    const kit = await testKit(
      (registry) => {
        registry.add(async function boom() {
          throw new Error("boom");
        });
        registry.add(async function fine() {
          return "ok";
        });
      },
      { responses: { errorMessage: "Something broke." } },
    );
    await run(kit)(turnOf({ action: kit.registry.get("boom") }), counter());
    await run(kit)(turnOf({ action: kit.registry.get("fine") }), async () => {
      throw new Error("the response could not be sent");
    });
    assert.deepEqual(
      kit.said.map((s) => s.text),
      ["Something broke.", "Something broke."],
    );
  });
});
