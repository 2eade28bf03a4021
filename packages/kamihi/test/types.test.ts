/**
 * Type tests: what must not compile is marked `@ts-expect-error`, so `pnpm typecheck` fails the
 * day it compiles (an unused `@ts-expect-error` is an error). The runtime checks beside them
 * show the same mistakes caught at run time for plain JavaScript.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isKamihiError, isKamihiValidationError, type KamihiErrorCode } from "@kamihi/core";
import { type ActionResult, createBot, KamihiError, renderResponse } from "../src/index.js";

describe("typed responses", () => {
  it("accepts strings, messages, arrays of them and nothing", () => {
    const bot = createBot();
    bot.action(async function text() {
      return "hi";
    });
    bot.action(async function several() {
      return ["one", bot.message("two"), [bot.location(1, 2)], null];
    });
    bot.action(async function nothing({ reply }) {
      await reply("early");
    });
    const results: ActionResult[] = ["a", undefined, null, [bot.photo("x.png")]];
    assert.equal(results.length, 4);
    assert.equal(bot.actions.list().length, 3);
  });

  it("rejects anything else at compile time, and at run time for JavaScript", async () => {
    const bot = createBot();
    // @ts-expect-error an object that is not a message is not a response
    bot.action(async function oops() {
      return { oops: true };
    });
    bot.action(async function early({ reply }) {
      // @ts-expect-error reply() takes the same responses as a return value
      await reply(42);
    });
    assert.throws(
      () => renderResponse({ oops: true }, "oops"),
      (error: unknown) => isKamihiError(error, "KAMIHI_ACTION_BAD_RESPONSE"),
    );
  });
});

describe("typed error codes", () => {
  it("takes only codes from the table", () => {
    // @ts-expect-error a misspelt code does not compile
    const misspelt = new KamihiError("KAMIHI_DB_UNREACHBLE", "no");
    const code: KamihiErrorCode = "KAMIHI_DB_UNREACHABLE";
    assert.equal(new KamihiError(code, "down").code, "KAMIHI_DB_UNREACHABLE");
    assert.equal(misspelt.code, "KAMIHI_DB_UNREACHBLE");
    // @ts-expect-error the guard's code is checked too
    assert.equal(isKamihiError(misspelt, "KAMIHI_NOPE"), false);
    assert.equal(isKamihiValidationError(misspelt), false);
  });
});
