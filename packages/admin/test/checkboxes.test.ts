import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import * as v from "valibot";
import { checkbox, checkboxes } from "../src/kit/forms.js";
import { adminWith, browser, userIdsIn } from "./fixture.js";
import { signIn } from "./helpers.js";

// A browser sends nothing for an unticked checkbox. Every boolean of every form must read that
// as `false` (or, for a group of boxes, as none), and store it.

/** Custom user fields with booleans: one required (no default to hide a mistake), one optional. */
const schema = v.object({
  vip: v.boolean(),
  newsletter: v.optional(v.boolean()),
});

describe("checkbox fields", () => {
  it("read an absent checkbox as false, and any sent value as true", () => {
    const form = v.object({ flag: checkbox, many: checkboxes });
    assert.deepEqual(v.parse(form, {}), { flag: false, many: [] });
    assert.deepEqual(v.parse(form, { flag: "on", many: "a" }), { flag: true, many: ["a"] });
    assert.deepEqual(v.parse(form, { flag: "1", many: ["a", "b"] }), {
      flag: true,
      many: ["a", "b"],
    });
    assert.equal(v.safeParse(form, { flag: ["on", "on"] }).success, false);
  });
});

describe("every boolean of every admin form: unticked is stored as false", () => {
  let fixture: Awaited<ReturnType<typeof adminWith>>;
  let page: ReturnType<typeof browser>;
  const sessionsOf = (telegramId: number) =>
    fixture.store.collection("admin_sessions").countDocuments({ telegramId });

  before(async () => {
    fixture = await adminWith({ schema, adminData: { vip: false } });
    await fixture.users.createRole({ name: "staff" });
    page = browser(fixture.admin, await signIn(fixture.admin));
  });
  after(() => fixture.admin.close());

  it("new user form: Admin ticked makes an admin, unticked does not", async () => {
    const ticked = await page.post("/users", {
      telegramId: "10",
      firstName: "Tick",
      isAdmin: "on",
      "data.vip": "on",
    });
    assert.equal(ticked.statusCode, 303);
    assert.equal((await fixture.users.getUser(10))?.isAdmin, true);
    const unticked = await page.post("/users", {
      telegramId: "11",
      firstName: "Untick",
      "data.vip": "on",
    });
    assert.equal(unticked.statusCode, 303);
    assert.equal((await fixture.users.getUser(11))?.isAdmin, false);
  });

  it("new user form: a custom boolean unticked is stored as false", async () => {
    const created = await page.post("/users", { telegramId: "12", firstName: "Plain" });
    assert.equal(created.statusCode, 303, created.body.slice(0, 500));
    assert.deepEqual((await fixture.users.getUser(12))?.data, { vip: false, newsletter: false });
  });

  it("new user form: no role ticked gives no roles", async () => {
    const created = await page.post("/users", { telegramId: "13", firstName: "Roleless" });
    assert.equal(created.statusCode, 303);
    assert.deepEqual((await fixture.users.getUser(13))?.roles, []);
  });

  it("user form: Admin unticked takes the rights away and ends the user's admin sessions", async () => {
    await fixture.users.createUser({
      telegramId: 20,
      firstName: "Carol",
      isAdmin: true,
      data: { vip: false },
    });
    const carol = browser(fixture.admin, await signIn(fixture.admin, 20));
    assert.equal((await carol.get("/users")).statusCode, 200);
    assert.equal(await sessionsOf(20), 1);
    const form = await page.get("/users/20");
    assert.match(form.body, /name="isAdmin" type="checkbox" value="on" checked/);

    // What the browser sends with the box unticked: everything but isAdmin.
    const saved = await page.post("/users/20", { firstName: "Carol" });
    assert.equal(saved.statusCode, 303);
    assert.match((await page.follow(saved)).body, /flash-ok[^>]*>Saved Carol\./);
    assert.equal((await fixture.users.getUser(20))?.isAdmin, false);
    assert.equal(await sessionsOf(20), 0, "ended at once, not at Carol's next request");
    const next = await carol.get("/users");
    assert.equal(next.statusCode, 303);
    assert.equal(next.headers.location, "/login");
    const audit = await fixture.store.collection("audit").findOne({ what: "user.update" });
    assert.equal(audit?.target, "20");
  });

  it("user form: Admin ticked keeps the rights and the sessions", async () => {
    await fixture.users.createUser({
      telegramId: 21,
      firstName: "Dan",
      isAdmin: true,
      data: { vip: false },
    });
    await signIn(fixture.admin, 21);
    const saved = await page.post("/users/21", { firstName: "Dan", isAdmin: "on" });
    assert.equal(saved.statusCode, 303);
    assert.equal((await fixture.users.getUser(21))?.isAdmin, true);
    assert.equal(await sessionsOf(21), 1);
  });

  it("user form: custom booleans unticked are stored as false", async () => {
    await fixture.users.createUser({
      telegramId: 22,
      firstName: "Erin",
      data: { vip: true, newsletter: true },
    });
    const form = await page.get("/users/22");
    assert.match(form.body, /name="data\.vip" type="checkbox" value="on" checked/);
    assert.match(form.body, /name="data\.newsletter" type="checkbox" value="on" checked/);
    const saved = await page.post("/users/22", { firstName: "Erin" });
    assert.equal(saved.statusCode, 303);
    assert.deepEqual((await fixture.users.getUser(22))?.data, { vip: false, newsletter: false });
  });

  it("user form: no role ticked takes every role away", async () => {
    await fixture.users.createUser({
      telegramId: 23,
      firstName: "Fay",
      roles: ["staff"],
      data: { vip: false },
    });
    const saved = await page.post("/users/23", { firstName: "Fay" });
    assert.equal(saved.statusCode, 303);
    assert.deepEqual((await fixture.users.getUser(23))?.roles, []);
  });

  it("users filter: Admins only unticked lists everyone, ticked only admins", async () => {
    const everyone = await page.get("/users?search=&status=");
    assert.ok(userIdsIn(everyone.body).includes(12));
    assert.doesNotMatch(everyone.body, /id="admins"[^>]*checked/);
    const admins = await page.get("/users?admins=1");
    assert.match(admins.body, /id="admins"[^>]*checked/);
    const ids = userIdsIn(admins.body);
    assert.ok(ids.includes(1) && ids.includes(10));
    assert.ok(!ids.includes(12));
  });

  it("permissions matrix: no cell ticked revokes every grant the page showed", async () => {
    await fixture.users.grant("report", { roles: ["staff"] });
    await fixture.users.grant("refund", { roles: ["staff"] });
    const matrix = await page.get("/permissions");
    assert.match(matrix.body, /value="staff:report" checked/);
    const cells = [...matrix.body.matchAll(/name="cells" value="([^"]+)"/g)].map((m) => m[1] ?? "");
    const saved = await page.post("/permissions", { cells });
    assert.equal(saved.statusCode, 303);
    const roles = (await fixture.users.listPermissions()).flatMap((p) => p.roles);
    assert.deepEqual(roles, []);
  });
});

describe("every way an admin loses the admin ends their sessions at once", () => {
  let fixture: Awaited<ReturnType<typeof adminWith>>;
  let page: ReturnType<typeof browser>;

  before(async () => {
    fixture = await adminWith();
    page = browser(fixture.admin, await signIn(fixture.admin));
  });
  after(() => fixture.admin.close());

  const ways: [string, (id: number) => Promise<{ statusCode: number }>][] = [
    ["the user form with Admin unticked", (id) => page.post(`/users/${id}`, { firstName: "X" })],
    ["Remove admin", (id) => page.post(`/users/${id}/remove-admin`)],
    ["Block", (id) => page.post(`/users/${id}/block`)],
    ["Delete", (id) => page.post(`/users/${id}/delete`)],
  ];
  let next = 50;
  for (const [name, act] of ways) {
    it(name, async () => {
      next += 1;
      const id = next;
      await fixture.users.createUser({ telegramId: id, firstName: "X", isAdmin: true });
      const other = browser(fixture.admin, await signIn(fixture.admin, id));
      await signIn(fixture.admin, id);
      const sessions = fixture.store.collection("admin_sessions");
      assert.equal(await sessions.countDocuments({ telegramId: id }), 2);
      assert.equal((await act(id)).statusCode, 303);
      assert.equal(await sessions.countDocuments({ telegramId: id }), 0);
      assert.equal((await other.get("/")).headers.location, "/login");
      assert.equal(await sessions.countDocuments({ telegramId: 1 }), 1, "the acting admin stays");
    });
  }
});
