import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { isKamihiError } from "@kamihi/core";
import { createMemoryStore } from "@kamihi/db";
import { createUserService } from "@kamihi/users";
import { type AdminServer, createAdmin, hashPassword } from "../src/index.js";
import { adminWith, formBody } from "./fixture.js";
import { ACTIONS, confirmNonce, cookiesOf, registry } from "./helpers.js";

// One budget of sign-in attempts per client address, whichever sign-in route they use; and the
// client's address is only taken from X-Forwarded-For when a trusted proxy sent it.

const PASSWORD = "correct horse battery staple";

/** One sign-in attempt on each route, in turn, from `headers`/`remoteAddress`. */
function attempts(admin: AdminServer, from: { ip?: string; forwardedFor?: string }) {
  const base = {
    ...(from.ip === undefined ? {} : { remoteAddress: from.ip }),
  };
  const forwarded: Record<string, string> =
    from.forwardedFor === undefined ? {} : { "x-forwarded-for": from.forwardedFor };
  const token = `/login/${"b".repeat(40)}`;
  const routes = [
    {
      name: "GET /login/:token",
      send: () => admin.app.inject({ ...base, method: "GET", url: token, headers: forwarded }),
    },
    {
      name: "POST /login/:token",
      send: () =>
        admin.app.inject({
          ...base,
          method: "POST",
          url: token,
          headers: { ...forwarded, "content-type": "application/x-www-form-urlencoded" },
          payload: formBody({ _csrf: "guess" }),
        }),
    },
    {
      name: "POST /login",
      send: () =>
        admin.app.inject({
          ...base,
          method: "POST",
          url: "/login",
          headers: { ...forwarded, "content-type": "application/x-www-form-urlencoded" },
          payload: formBody({ telegramId: "1", password: "guess" }),
        }),
    },
  ];
  let next = 0;
  return () => {
    const route = routes[next % routes.length];
    next += 1;
    assert.ok(route);
    return route.send().then((response) => ({ route: route.name, response }));
  };
}

describe("one sign-in budget per address, over every sign-in route", () => {
  let fixture: Awaited<ReturnType<typeof adminWith>>;

  before(async () => {
    fixture = await adminWith({ passwordHash: await hashPassword(PASSWORD) });
  });
  after(() => fixture.admin.close());

  it("alternating link, confirmation and password routes, the 11th attempt gets 429", async () => {
    const attempt = attempts(fixture.admin, { ip: "192.0.2.1" });
    const answered: string[] = [];
    for (let i = 0; i < 10; i += 1) {
      const { route, response } = await attempt();
      answered.push(`${route} ${response.statusCode}`);
      assert.notEqual(response.statusCode, 429, answered.join(", "));
    }
    // Every route, the next one in turn included, is now out of attempts for this address.
    for (let i = 0; i < 3; i += 1) {
      const { route, response } = await attempt();
      assert.equal(response.statusCode, 429, route);
      assert.match(response.body, /Too many sign-in attempts from this address/);
      assert.ok(Number(response.headers["retry-after"]) > 0, "says when to come back");
    }
    // The right password does not get through either, until the minute is over.
    const right = await fixture.admin.app.inject({
      method: "POST",
      url: "/login",
      remoteAddress: "192.0.2.1",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      payload: formBody({ telegramId: "1", password: PASSWORD }),
    });
    assert.equal(right.statusCode, 429);
  });

  it("counts a real sign-in's two steps, and leaves other addresses and the sign-in page alone", async () => {
    const ip = "192.0.2.2";
    const path = new URL(await fixture.admin.loginLink(1)).pathname;
    const page = await fixture.admin.app.inject({ url: path, remoteAddress: ip });
    const confirmed = await fixture.admin.app.inject({
      method: "POST",
      url: path,
      remoteAddress: ip,
      headers: { cookie: cookiesOf(page), "content-type": "application/x-www-form-urlencoded" },
      payload: formBody({ _csrf: confirmNonce(page) }),
    });
    assert.equal(confirmed.statusCode, 303);
    const attempt = attempts(fixture.admin, { ip });
    const statuses: number[] = [];
    for (let i = 0; i < 9; i += 1) statuses.push((await attempt()).response.statusCode);
    assert.equal(statuses.filter((s) => s === 429).length, 1, "2 + 8 attempts pass, the 11th not");
    assert.equal(statuses.at(-1), 429);
    // The sign-in page itself checks nothing, so it stays open; so does everyone else.
    const loginPage = await fixture.admin.app.inject({ url: "/login", remoteAddress: ip });
    assert.equal(loginPage.statusCode, 200);
    const other = await attempts(fixture.admin, { ip: "192.0.2.3" })();
    assert.equal(other.response.statusCode, 403);
  });
});

describe("trustProxy", () => {
  /**
   * An admin behind a TLS-terminating proxy: its requests (inject) connect from 127.0.0.1, as
   * from a reverse proxy on the same machine.
   */
  async function behindProxy(trustProxy?: string[]) {
    const store = createMemoryStore();
    const actions = registry(ACTIONS);
    const users = createUserService({ store, actions: () => actions.list().map((a) => a.name) });
    await users.createUser({ telegramId: 1, firstName: "Ada", isAdmin: true });
    const admin = await createAdmin({
      users,
      actions,
      store,
      port: 0,
      publicUrl: "https://admin.example.org",
      ...(trustProxy === undefined ? {} : { trustProxy }),
    });
    return { admin, store };
  }

  /** Signs in with a login link as `forwardedFor`; returns the address the audit log kept. */
  async function signInAuditedAs(
    setup: Awaited<ReturnType<typeof behindProxy>>,
    forwardedFor: string,
  ) {
    const { admin, store } = setup;
    const path = new URL(await admin.loginLink(1)).pathname;
    const headers = { "x-forwarded-for": forwardedFor };
    const page = await admin.app.inject({ url: path, headers });
    const done = await admin.app.inject({
      method: "POST",
      url: path,
      headers: {
        ...headers,
        cookie: cookiesOf(page),
        "content-type": "application/x-www-form-urlencoded",
      },
      payload: formBody({ _csrf: confirmNonce(page) }),
    });
    assert.equal(done.statusCode, 303);
    const [entry] = await store
      .collection("audit")
      .find({ what: "session.open" }, { sort: { at: -1 }, limit: 1 });
    return entry?.ip;
  }

  it("trusted: each client behind the proxy has its own budget and is the one audited", async () => {
    const setup = await behindProxy(["127.0.0.1"]);
    try {
      const first = attempts(setup.admin, { forwardedFor: "203.0.113.7" });
      for (let i = 0; i < 10; i += 1) assert.notEqual((await first()).response.statusCode, 429);
      assert.equal((await first()).response.statusCode, 429);
      // Another client through the same proxy still has all of its attempts.
      const second = attempts(setup.admin, { forwardedFor: "203.0.113.8" });
      for (let i = 0; i < 10; i += 1) assert.notEqual((await second()).response.statusCode, 429);
      assert.equal((await second()).response.statusCode, 429);
      // A chain: the client is the last address before the trusted proxy.
      assert.equal(await signInAuditedAs(setup, "198.51.100.1, 203.0.113.9"), "203.0.113.9");
    } finally {
      await setup.admin.close();
    }
  });

  for (const [name, trustProxy] of [
    ["untrusted (the default)", undefined],
    ["untrusted (another proxy is trusted)", ["10.0.0.0/8", "uniquelocal"]],
  ] as const) {
    it(`${name}: X-Forwarded-For is ignored, so forging it dodges nothing`, async () => {
      const setup = await behindProxy(trustProxy === undefined ? undefined : [...trustProxy]);
      try {
        const statuses: number[] = [];
        for (let i = 0; i < 11; i += 1) {
          const forged = attempts(setup.admin, { forwardedFor: `203.0.113.${i + 1}` });
          statuses.push((await forged()).response.statusCode);
        }
        assert.deepEqual(statuses, [...Array(10).fill(403), 429]);
        const fresh = await behindProxy(trustProxy === undefined ? undefined : [...trustProxy]);
        try {
          assert.equal(await signInAuditedAs(fresh, "203.0.113.50"), "127.0.0.1");
        } finally {
          await fresh.admin.close();
        }
      } finally {
        await setup.admin.close();
      }
    });
  }

  it("refuses a proxy list Fastify cannot read, naming the setting", async () => {
    await assert.rejects(behindProxy(["not-an-address"]), (error) => {
      assert.ok(isKamihiError(error, "KAMIHI_CONFIG_INVALID"));
      assert.match(error.message, /web\.trustProxy/);
      assert.match(error.message, /not-an-address/);
      return true;
    });
  });
});
