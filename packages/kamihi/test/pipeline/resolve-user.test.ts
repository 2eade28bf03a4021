import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { resolveUser } from "../../src/pipeline/resolve-user.js";
import { counter, testKit, turnOf } from "./kit.js";

describe("resolve-user", () => {
  it("finds the sender and goes on", async () => {
    const kit = await testKit();
    await kit.users.createUser({ telegramId: 5001, firstName: "Ada" });
    const turn = turnOf();
    const next = counter();
    await resolveUser(kit)(turn, next);
    assert.equal(turn.resolution.outcome, "known");
    assert.equal(turn.user?.firstName, "Ada");
    assert.equal(next.calls, 1);
  });

  it("goes on with nobody for an unknown sender", async () => {
    const kit = await testKit();
    const turn = turnOf();
    const next = counter();
    await resolveUser(kit)(turn, next);
    assert.equal(turn.user, null);
    assert.equal(next.calls, 1);
  });

  it("tells a user who just registered to wait for approval, and asks the admins", async () => {
    const kit = await testKit(() => {}, { users: { pendingMessage: "Wait, please." } });
    await kit.users.createUser({ telegramId: 1, firstName: "Boss", isAdmin: true });
    kit.users.resolve = async () => ({
      outcome: "registered",
      user: {
        telegramId: 5001,
        firstName: "Ada",
        isAdmin: false,
        roles: [],
        status: "pending",
        data: {},
        createdAt: new Date(),
      },
    });
    const turn = turnOf();
    await resolveUser(kit)(turn, counter());
    assert.equal(turn.told, true);
    assert.deepEqual(
      kit.said.map((s) => [s.chatId, s.text.slice(0, 18)]),
      [
        [5001, "Wait, please."],
        [1, "New access request"],
      ],
    );
  });

  it("answers with the error message and stops when the lookup fails", async () => {
    const kit = await testKit(() => {}, { responses: { errorMessage: "Oops." } });
    kit.users.resolve = async () => {
      throw new Error("lookup failed");
    };
    const next = counter();
    await resolveUser(kit)(turnOf(), next);
    assert.equal(next.calls, 0);
    assert.deepEqual(
      kit.said.map((s) => s.text),
      ["Oops."],
    );
  });
});
