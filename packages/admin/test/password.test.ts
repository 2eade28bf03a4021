import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { createMemoryStore } from "@kamihi/db";
import { createUserService } from "@kamihi/users";
import { createAdmin, hashPassword, verifyPassword } from "../src/index.js";
import { ACTIONS, registry } from "./helpers.js";

describe("password sign-in (web.passwordHash)", async () => {
  const store = createMemoryStore();
  const actions = registry(ACTIONS);
  const users = createUserService({ store, actions: () => actions.list().map((a) => a.name) });
  await users.createUser({ telegramId: 1, firstName: "Ada", isAdmin: true });
  await users.createUser({ telegramId: 2, firstName: "Bob" });
  const passwordHash = await hashPassword("correct horse battery staple");
  const admin = await createAdmin({ users, actions, store, port: 0, passwordHash });
  await admin.listen();
  after(() => admin.close());

  const login = (telegramId: string, password: string) =>
    admin.app.inject({
      method: "POST",
      url: "/login",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      payload: new URLSearchParams({ telegramId, password }).toString(),
    });

  it("hashes with scrypt and a salt, and verifies in constant time", async () => {
    assert.match(passwordHash, /^scrypt\$[\w-]+\$[\w-]+$/);
    assert.notEqual(await hashPassword("correct horse battery staple"), passwordHash);
    assert.equal(await verifyPassword("correct horse battery staple", passwordHash), true);
    assert.equal(await verifyPassword("Correct horse battery staple", passwordHash), false);
    assert.equal(await verifyPassword("anything", "not-a-hash"), false);
  });

  it("offers the form, and signs an admin in with the right password", async () => {
    const page = await admin.app.inject({ method: "GET", url: "/login" });
    assert.match(page.body, /name="password" type="password"/);
    const ok = await login("1", "correct horse battery staple");
    assert.equal(ok.statusCode, 303);
    const set = ok.headers["set-cookie"];
    const cookie = (Array.isArray(set) ? set : [set ?? ""]).map((c) => c.split(";")[0]).join("; ");
    assert.match(String(set), /HttpOnly/i);
    assert.match(String(set), /SameSite=Lax/i);
    const dashboard = await admin.app.inject({ method: "GET", url: "/", headers: { cookie } });
    assert.equal(dashboard.statusCode, 200);
  });

  it("refuses a wrong password, and the right one for someone who is not an admin", async () => {
    for (const [id, password] of [
      ["1", "wrong"],
      ["2", "correct horse battery staple"],
      ["3", "correct horse battery staple"],
      ["1; DROP", "correct horse battery staple"],
    ] as const) {
      const refused = await login(id, password);
      assert.equal(refused.statusCode, 401, `${id}/${password}`);
      assert.match(refused.body, /Wrong Telegram id or password\./);
      assert.equal(refused.headers["set-cookie"], undefined);
    }
  });
});
