import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Store } from "@kamihi/core";
import { adminWith, browser, formBody } from "./fixture.js";
import { confirmLink, openLink, signIn } from "./helpers.js";

type Fields = Record<string, string | readonly string[]>;

/**
 * Every route behind the login, with a URL to call it and a body that would change something.
 * A test checks this list against the router, so a new route cannot be left out.
 */
const ROUTES: { method: "GET" | "POST"; path: string; url: string; fields?: Fields }[] = [
  { method: "GET", path: "/", url: "/" },
  { method: "POST", path: "/logout", url: "/logout" },
  { method: "GET", path: "/users", url: "/users" },
  {
    method: "POST",
    path: "/users",
    url: "/users",
    fields: { telegramId: "77", firstName: "Mallory" },
  },
  { method: "GET", path: "/users/new", url: "/users/new" },
  { method: "GET", path: "/users/:id", url: "/users/4" },
  {
    method: "POST",
    path: "/users/:id",
    url: "/users/4",
    fields: { firstName: "Mallory", isAdmin: "on" },
  },
  { method: "POST", path: "/users/:id/block", url: "/users/4/block" },
  { method: "POST", path: "/users/:id/unblock", url: "/users/5/unblock" },
  { method: "POST", path: "/users/:id/make-admin", url: "/users/4/make-admin" },
  { method: "POST", path: "/users/:id/remove-admin", url: "/users/1/remove-admin" },
  { method: "GET", path: "/users/:id/delete", url: "/users/4/delete" },
  { method: "POST", path: "/users/:id/delete", url: "/users/4/delete" },
  { method: "GET", path: "/roles", url: "/roles" },
  { method: "POST", path: "/roles", url: "/roles", fields: { name: "mallory" } },
  { method: "GET", path: "/roles/:name", url: "/roles/staff" },
  {
    method: "POST",
    path: "/roles/:name/members",
    url: "/roles/staff/members",
    fields: { telegramId: "4" },
  },
  { method: "POST", path: "/roles/:name/members/:id/remove", url: "/roles/staff/members/3/remove" },
  { method: "GET", path: "/roles/:name/delete", url: "/roles/staff/delete" },
  { method: "POST", path: "/roles/:name/delete", url: "/roles/staff/delete" },
  { method: "GET", path: "/permissions", url: "/permissions" },
  {
    method: "POST",
    path: "/permissions",
    url: "/permissions",
    fields: { cells: ["staff:report", "staff:refund"], grant: ["staff:refund"] },
  },
  {
    method: "POST",
    path: "/permissions/:action/users",
    url: "/permissions/refund/users",
    fields: { telegramId: "4" },
  },
  {
    method: "POST",
    path: "/permissions/:action/users/:id/remove",
    url: "/permissions/report/users/4/remove",
  },
  { method: "GET", path: "/actions", url: "/actions" },
  { method: "GET", path: "/requests", url: "/requests" },
  { method: "POST", path: "/requests/:id/approve", url: "/requests/3/approve" },
  { method: "POST", path: "/requests/:id/deny", url: "/requests/3/deny" },
  { method: "GET", path: "/audit", url: "/audit" },
];

/** Routes anyone may call: signing in and the stylesheet. */
const OPEN = new Set([
  "GET /login",
  "POST /login",
  "GET /login/:token",
  "POST /login/:token",
  "GET /*",
]);

const XSS = "<script>alert(1)</script><img src=x onerror=alert(1)>";
const XSS_ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;";

/** `METHOD /path` of every route the router has (HEAD left out: Fastify adds it to each GET). */
function registeredRoutes(tree: string): string[] {
  const found: string[] = [];
  const stack: string[] = [];
  for (const line of tree.split("\n")) {
    const match = /^((?:[│ ] {3})*)[├└]── (.+?)(?: \(([A-Z, ]+)\))?$/.exec(line);
    if (match === null) continue;
    const depth = (match[1] ?? "").length / 4;
    stack.length = depth;
    stack.push(match[2] ?? "");
    const path = stack.join("");
    for (const method of (match[3] ?? "").split(", ")) {
      if (method !== "" && method !== "HEAD") found.push(`${method} ${path}`);
    }
  }
  return found;
}

/** Everything a request could have changed. */
async function snapshot(store: Store) {
  const all = async (name: string) =>
    (await store.collection(name).find({}, { sort: { _id: 1 } })).map(
      ({ updatedAt: _, ...rest }) => rest,
    );
  return {
    users: await all("users"),
    roles: await all("roles"),
    permissions: await all("permissions"),
    audit: await store.collection("audit").countDocuments({}),
    sessions: await store.collection("admin_sessions").countDocuments({}),
  };
}

describe("admin security", () => {
  let fixture: Awaited<ReturnType<typeof adminWith>>;
  let session: { cookie: string; csrf: string };
  let page: ReturnType<typeof browser>;

  before(async () => {
    fixture = await adminWith();
    const { users } = fixture;
    await users.createRole({ name: "staff" });
    await users.createUser({
      telegramId: 3,
      firstName: XSS,
      lastName: XSS,
      status: "pending",
      roles: ["staff"],
    });
    await users.createUser({ telegramId: 4, firstName: "Bob" });
    await users.createUser({ telegramId: 5, firstName: "Eve", status: "blocked" });
    await users.grant("report", { roles: ["staff"], users: [3, 4] });
    session = await signIn(fixture.admin);
    page = browser(fixture.admin, session);
  });
  after(() => fixture.admin.close());

  it("the route list covers every route of the router", () => {
    const registered = registeredRoutes(fixture.admin.app.printRoutes({ commonPrefix: false }));
    assert.ok(registered.length > 20, "the router's routes were read");
    assert.ok(registered.includes("POST /roles/:name/members/:id/remove"));
    const listed = ROUTES.map((r) => `${r.method} ${r.path}`);
    assert.deepEqual(registered.filter((route) => !OPEN.has(route)).sort(), [...listed].sort());
    for (const route of ROUTES) {
      assert.ok(fixture.admin.app.hasRoute({ method: route.method, url: route.path }), route.path);
    }
  });

  it("answers nothing but a way to sign in without a session", async () => {
    const before = await snapshot(fixture.store);
    for (const cookie of [undefined, "kamihi_admin=forged", "kamihi_admin=abc.def"]) {
      for (const route of ROUTES) {
        const response = await fixture.admin.app.inject({
          method: route.method,
          url: route.url,
          headers: {
            ...(cookie === undefined ? {} : { cookie }),
            ...(route.method === "POST"
              ? { "content-type": "application/x-www-form-urlencoded" }
              : {}),
          },
          ...(route.method === "POST"
            ? { payload: formBody({ _csrf: session.csrf, ...route.fields }) }
            : {}),
        });
        const what = `${route.method} ${route.url} (${cookie ?? "no cookie"})`;
        if (route.method === "GET") {
          assert.equal(response.statusCode, 303, what);
          assert.equal(response.headers.location, "/login", what);
        } else {
          assert.equal(response.statusCode, 401, what);
        }
        assert.ok(!response.body.includes("Bob"), what);
      }
    }
    for (const url of ["/login", "/static/admin.css"]) {
      assert.equal((await fixture.admin.app.inject({ url })).statusCode, 200, url);
    }
    assert.deepEqual(await snapshot(fixture.store), before);
  });

  it("refuses every POST without the session's CSRF token, and changes nothing", async () => {
    const before = await snapshot(fixture.store);
    const posts = ROUTES.filter((route) => route.method === "POST");
    for (const route of posts) {
      for (const csrf of [
        undefined,
        "",
        "wrong",
        `${session.csrf}x`,
        [session.csrf, session.csrf],
      ]) {
        const fields: Fields = { ...route.fields, ...(csrf === undefined ? {} : { _csrf: csrf }) };
        const response = await fixture.admin.app.inject({
          method: "POST",
          url: route.url,
          headers: { cookie: session.cookie, "content-type": "application/x-www-form-urlencoded" },
          payload: formBody(fields),
        });
        assert.equal(response.statusCode, 403, `${route.url} with ${JSON.stringify(csrf)}`);
      }
      // Nor as JSON with a token of another type.
      const json = await fixture.admin.app.inject({
        method: "POST",
        url: route.url,
        headers: { cookie: session.cookie },
        payload: { ...route.fields, _csrf: { $ne: null } },
      });
      assert.equal(json.statusCode, 403, `${route.url} as JSON`);
    }
    assert.deepEqual(await snapshot(fixture.store), before);
    assert.equal(
      (await page.get("/")).statusCode,
      200,
      "the refused logout left the session alone",
    );
  });

  it("never lets a $-operator in a form or query reach a query", async () => {
    const before = await snapshot(fixture.store);
    const json = (url: string, payload: Record<string, unknown>) =>
      fixture.admin.app.inject({
        method: "POST",
        url,
        headers: { cookie: session.cookie },
        payload: { _csrf: session.csrf, ...payload },
      });
    const refused = [
      await page.post("/users", { telegramId: "90", firstName: "Eve", "roles[$ne]": "x" }),
      await page.post("/users", { telegramId: "90", "firstName[$gt]": "" }),
      await page.post("/users/4", { firstName: "Bob", $set: "x" }),
      await page.post("/roles/staff/members", { "telegramId[$gt]": "0" }),
      await page.post("/permissions", { cells: "staff:refund", "grant[$ne]": "x" }),
      await page.post("/permissions/refund/users", { "telegramId[$ne]": "1" }),
      await json("/users", { telegramId: "91", firstName: { $gt: "" } }),
      await json("/users", { telegramId: { $gt: 0 }, firstName: "Eve" }),
      await json("/users/4", { firstName: "Bob", roles: { $ne: null } }),
      await json("/roles", { name: { $ne: null } }),
      await json("/roles/staff/members", { telegramId: { $gt: 0 } }),
      await json("/permissions", { cells: ["staff:refund"], grant: [{ $ne: null }] }),
      await json("/permissions/refund/users", { telegramId: ["4", { $gt: 0 }] }),
      await page.get("/users?role[$ne]=x"),
      await page.get("/users?status[$ne]=active"),
      await page.get("/users?after[$gt]=0"),
      await page.get("/requests?after[$gt]=0"),
      await page.get("/audit?before[$lt]=9"),
      await page.get("/roles/staff?after[$gt]=0"),
    ];
    for (const response of refused)
      assert.equal(response.statusCode, 400, response.body.slice(0, 300));

    // Operators as plain text are only text: they match nothing and are saved as nothing.
    const literalRole = await page.get("/users?role=%24ne");
    assert.equal(literalRole.statusCode, 200);
    assert.ok(literalRole.body.includes("0 users match these filters"));
    const literalSearch = await page.get(`/users?search=${encodeURIComponent('{"$gt":""}')}`);
    assert.equal(literalSearch.statusCode, 200);
    assert.ok(literalSearch.body.includes("0 users match these filters"));
    const regexSearch = await page.get("/users?search=.*");
    assert.ok(regexSearch.body.includes("0 users match these filters"));
    const badStatus = await page.get("/users?status=%24ne");
    assert.equal(badStatus.statusCode, 400);
    for (const url of ["/users?after=9999999999999999", "/users?after=-1", "/requests?after=x"]) {
      assert.equal((await page.get(url)).statusCode, 400, url);
    }
    const roleText = await page.post("/users", {
      telegramId: "92",
      firstName: "Eve",
      roles: "$ne",
    });
    assert.equal(roleText.statusCode, 400);
    assert.match(roleText.body, /id="e-roles">No role named &quot;\$ne&quot;/);
    const member = await page.post("/roles/staff/members", { telegramId: "$gt" });
    assert.equal(member.statusCode, 400);
    const cell = await page.post("/permissions", { cells: "$ne:report", grant: "$ne:report" });
    assert.equal(cell.statusCode, 303);

    assert.deepEqual(await snapshot(fixture.store), before);
  });

  it("escapes a user's name on every page that shows it", async () => {
    const created = await page.post("/users", { telegramId: "8", firstName: XSS, roles: "staff" });
    assert.equal(created.statusCode, 303);
    await fixture.users.grant("report", { users: [8] });
    const shown = [await page.follow(created)];
    for (const url of [
      "/",
      "/users",
      "/users/3",
      "/users/3/delete",
      "/users/8",
      "/roles/staff",
      "/requests",
      "/permissions",
      "/actions",
      "/audit",
      `/users?search=${encodeURIComponent(XSS)}`,
    ]) {
      const response = await page.get(url);
      assert.equal(response.statusCode, 200, url);
      shown.push(response);
      assert.ok(response.body.includes(XSS_ESCAPED), `${url} shows the name, escaped`);
    }
    for (const response of shown) {
      assert.ok(!response.body.includes("<script>"), response.body.slice(0, 200));
      assert.ok(!/<img[^>]*onerror/i.test(response.body));
    }
    // The flash after adding the user names them too.
    assert.match(shown[0]?.body ?? "", /flash-ok[^>]*>&lt;script&gt;/);
    await fixture.users.deleteUser(8);
  });

  it("sends security headers that forbid inline scripts and framing", async () => {
    const link = new URL(await fixture.admin.loginLink(1)).pathname;
    for (const response of [
      await fixture.admin.app.inject({ url: "/login" }),
      await openLink(fixture.admin, link, "10.4.0.2"),
      await page.get("/users"),
    ]) {
      const csp = String(response.headers["content-security-policy"]);
      assert.match(csp, /default-src 'self'/);
      assert.match(csp, /script-src 'self'/);
      assert.ok(!csp.includes("unsafe-inline"));
      assert.ok(!csp.includes("unsafe-eval"));
      assert.ok(
        /frame-ancestors 'none'/.test(csp) || response.headers["x-frame-options"] !== undefined,
      );
      assert.equal(response.headers["x-content-type-options"], "nosniff");
    }
  });

  it("signs in from a login link only on confirmation, once, with a cookie scripts cannot read", async () => {
    // More in login-link.test.ts.
    const path = new URL(await fixture.admin.loginLink(1)).pathname;
    const page = await openLink(fixture.admin, path, "10.4.0.1");
    assert.equal(page.statusCode, 200);
    assert.ok(!String(page.headers["set-cookie"]).includes("kamihi_admin="));
    const first = await confirmLink(fixture.admin, path, page, "10.4.0.1");
    assert.equal(first.statusCode, 303);
    // The session cookie is out of reach of scripts and of other sites' forms.
    assert.match(String(first.headers["set-cookie"]), /kamihi_admin=[^;]+;.*HttpOnly/i);
    assert.match(String(first.headers["set-cookie"]), /kamihi_admin=[^;]+;.*SameSite=Lax/i);
    const again = await confirmLink(fixture.admin, path, page, "10.4.0.1");
    assert.equal(again.statusCode, 403);
    assert.ok(!String(again.headers["set-cookie"]).includes("kamihi_admin="));
  });

  it("ends the session on logout", async () => {
    const other = await signIn(fixture.admin);
    const otherPage = browser(fixture.admin, other);
    assert.equal((await otherPage.get("/users")).statusCode, 200);
    const out = await otherPage.post("/logout");
    assert.equal(out.statusCode, 303);
    assert.equal(out.headers.location, "/login");
    const later = await otherPage.get("/users");
    assert.equal(later.statusCode, 303);
    assert.equal(later.headers.location, "/login");
    assert.equal((await otherPage.post("/roles", { name: "late" })).statusCode, 401);
    assert.equal((await page.get("/users")).statusCode, 200, "other sessions go on");
  });

  it("shuts out an admin on the request after they stop being one", async () => {
    await fixture.users.createUser({ telegramId: 6, firstName: "Carol", isAdmin: true });
    const carol = browser(fixture.admin, await signIn(fixture.admin, 6));
    assert.equal((await carol.get("/users")).statusCode, 200);
    const demoted = await page.post("/users/6/remove-admin");
    assert.equal(demoted.statusCode, 303);
    const next = await carol.get("/users");
    assert.equal(next.statusCode, 303);
    assert.equal(next.headers.location, "/login");
    assert.equal((await carol.post("/roles", { name: "carols" })).statusCode, 401);
    // Made an admin again, the old session stays closed.
    await fixture.users.updateUser(6, { isAdmin: true });
    assert.equal((await carol.get("/users")).statusCode, 303);
  });
});
