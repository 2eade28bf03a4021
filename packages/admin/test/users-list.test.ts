import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Document } from "@kamihi/core";
import { createUserService } from "@kamihi/users";
import { adminWith, browser, relLink, userIdsIn } from "./fixture.js";
import { signIn } from "./helpers.js";

/** 1,100 users besides the admin (id 1), ids in a shuffled order; every tenth is pending. */
const IDS = Array.from({ length: 1100 }, (_, i) => 2000 + ((i * 389) % 1100) * 7);
const sorted = [1, ...IDS].sort((a, b) => a - b);
const pending = IDS.filter((_, i) => i % 10 === 0).sort((a, b) => a - b);

/** Every page of a list from `url` on, following its "Next page" links. */
async function walk(page: ReturnType<typeof browser>, url: string) {
  const bodies: string[] = [];
  let next: string | undefined = url;
  while (next !== undefined) {
    const response = await page.get(next);
    assert.equal(response.statusCode, 200, next);
    bodies.push(response.body);
    next = relLink(response.body, "next");
    assert.ok(bodies.length <= 100, "paging does not end");
  }
  return bodies;
}

const totalLine = (body: string) =>
  /<p class="muted" id="users-total">\s*([^<]*?)\s*<\/p>/.exec(body)?.[1] ?? "";

describe("the users list with many users", () => {
  let fixture: Awaited<ReturnType<typeof adminWith>>;
  let page: ReturnType<typeof browser>;

  before(async () => {
    fixture = await adminWith();
    await fixture.users.createRole({ name: "staff" });
    await fixture.store.collection("users").insertMany(
      IDS.map(
        (telegramId, i): Document => ({
          telegramId,
          firstName: i === 5 ? "Tu.*ring (x)" : `Person ${telegramId}`,
          isAdmin: false,
          roles: i % 4 === 0 ? ["staff"] : [],
          status: i % 10 === 0 ? "pending" : "active",
          data: {},
        }),
      ),
    );
    page = browser(fixture.admin, await signIn(fixture.admin));
  });
  after(() => fixture.admin.close());

  it("says there are more than 1,000 and pages through everyone once, in order", async () => {
    const bodies = await walk(page, "/users");
    assert.deepEqual(bodies.flatMap(userIdsIn), sorted);
    assert.equal(bodies.length, Math.ceil(sorted.length / 50));
    for (const body of bodies) assert.equal(totalLine(body), "More than 1,000 users.");
    assert.ok(!bodies[0]?.includes("First page"), "no way back from the first page");
    assert.ok(bodies.at(-1)?.includes('<a href="/users">← First page</a>'));
  });

  it("counts a filter that fits exactly, on every page, and keeps it in the links", async () => {
    const bodies = await walk(page, "/users?status=pending");
    assert.deepEqual(bodies.flatMap(userIdsIn), pending);
    for (const body of bodies) {
      assert.equal(totalLine(body), "110 users match these filters.");
      const next = relLink(body, "next");
      if (next !== undefined) assert.match(next, /^\/users\?status=pending&after=\d+$/);
    }
    // Staff are every fourth user, and a tenth of those are pending.
    const staff = await walk(page, "/users?role=staff&status=active");
    assert.equal(staff.flatMap(userIdsIn).length, 220);
    for (const body of staff) assert.equal(totalLine(body), "220 users match these filters.");
  });

  it("searches literally: patterns and operators in the text are only text", async () => {
    const found = await page.get(`/users?search=${encodeURIComponent(".*")}`);
    assert.deepEqual(userIdsIn(found.body), [IDS[5]]);
    assert.equal(totalLine(found.body), "1 user matches these filters.");
    for (const text of ["(x", "[", "\\", "^Person", "$where", '{"$gt":""}', "a|b"]) {
      const response = await page.get(`/users?search=${encodeURIComponent(text)}`);
      assert.equal(response.statusCode, 200, text);
      assert.deepEqual(
        userIdsIn(response.body),
        text === "(x" ? [IDS[5]] : [],
        `search ${JSON.stringify(text)}`,
      );
    }
    const many = await walk(page, "/users?search=person%202");
    const ids = many.flatMap(userIdsIn);
    assert.ok(ids.length > 50, "more than one page");
    assert.deepEqual(
      ids,
      sorted.filter((id) => String(id).startsWith("2") && id !== IDS[5]),
    );
    for (const body of many) {
      assert.equal(totalLine(body), `${ids.length} users match these filters.`);
    }
  });

  it("refuses a cursor no page handed out", async () => {
    for (const cursor of ["abc", "1e3", "-1"]) {
      const response = await page.get(`/users?after=${encodeURIComponent(cursor)}`);
      assert.equal(response.statusCode, 400, cursor);
    }
  });
});

describe("the session check between requests", () => {
  it("sees a change made elsewhere (the CLI, another instance) on the next request", async () => {
    const { admin, store } = await adminWith();
    try {
      const page = browser(admin, await signIn(admin));
      assert.match((await page.get("/")).body, /<span class="who">Ada<\/span>/);
      // Another process over the same store: it knows nothing of this admin's memory.
      const elsewhere = createUserService({ store });
      await elsewhere.updateUser(1, { firstName: "Adelaide" });
      assert.match((await page.get("/")).body, /<span class="who">Adelaide<\/span>/);
      await elsewhere.updateUser(1, { isAdmin: false });
      const refused = await page.get("/users");
      assert.equal(refused.statusCode, 303);
      assert.equal(refused.headers.location, "/login");
      await elsewhere.updateUser(1, { isAdmin: true });
      assert.equal((await page.get("/users")).statusCode, 303, "the session stays closed");
    } finally {
      await admin.close();
    }
  });

  it("refuses a session whose admin was blocked or deleted elsewhere", async () => {
    const { admin, store } = await adminWith();
    try {
      const elsewhere = createUserService({ store });
      await elsewhere.createUser({ telegramId: 2, firstName: "Bea", isAdmin: true });
      const ada = browser(admin, await signIn(admin));
      const bea = browser(admin, await signIn(admin, 2));
      assert.equal((await ada.get("/users")).statusCode, 200);
      assert.equal((await bea.get("/users")).statusCode, 200);
      await elsewhere.updateUser(1, { status: "blocked" });
      await elsewhere.deleteUser(2);
      assert.equal((await ada.get("/users")).statusCode, 303);
      assert.equal((await bea.get("/users")).statusCode, 303);
    } finally {
      await admin.close();
    }
  });
});
