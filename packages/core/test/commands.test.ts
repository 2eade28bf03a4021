import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { checkCommandName } from "../src/index.js";

describe("checkCommandName", () => {
  it("accepts Telegram-valid commands", () => {
    for (const name of ["start", "a", "get_user_2", "x".repeat(32)]) {
      assert.equal(checkCommandName(name), null, name);
    }
  });

  it("explains each kind of invalid command", () => {
    assert.match(checkCommandName("") ?? "", /cannot be empty/);
    assert.match(checkCommandName("/start") ?? "", /without the leading slash: "start"/);
    assert.match(
      checkCommandName("x".repeat(33)) ?? "",
      /33 characters; Telegram allows at most 32/,
    );
    assert.match(checkCommandName("Start") ?? "", /lower case: "start"/);
    assert.match(checkCommandName("say-hello") ?? "", /contains "-"; use only a-z, 0-9 and _/);
    assert.match(checkCommandName("héllo wörld") ?? "", /contains "é ö"/);
  });
});
