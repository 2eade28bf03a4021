import assert from "node:assert/strict";
import { after, before, beforeEach, describe, it } from "node:test";
import { adminWith } from "./fixture.js";
import { confirmLink, confirmNonce, cookiesOf, openLink } from "./helpers.js";

// Messengers fetch a link to show its preview, and mail scanners follow links: a GET of a login
// link must never use it up. Only the person pressing "Sign in" on the page does.

const TOKEN_DOC = { usedAt: null };

describe("login links ask before they sign in", () => {
  let fixture: Awaited<ReturnType<typeof adminWith>>;
  /** Each test's own address, so no test spends another's sign-in budget. */
  let address = 0;
  let ip = "";
  const linkPath = async (telegramId = 1) =>
    new URL(await fixture.admin.loginLink(telegramId)).pathname;
  const unused = () => fixture.store.collection("login_tokens").countDocuments(TOKEN_DOC);
  const sessions = () => fixture.store.collection("admin_sessions").countDocuments({});
  const setCookies = (response: { headers: Record<string, unknown> }) =>
    String(response.headers["set-cookie"] ?? "");

  before(async () => {
    fixture = await adminWith();
    await fixture.users.updateUser(1, { lastName: "Lovelace", username: "ada" });
  });
  beforeEach(() => {
    address += 1;
    ip = `10.1.0.${address}`;
  });
  after(() => fixture.admin.close());

  it("a GET, however often and by whatever client, only shows 'Sign in as <name>?'", async () => {
    const path = await linkPath();
    const before = await sessions();
    const previews = [];
    for (let i = 0; i < 12; i += 1) {
      previews.push(
        await fixture.admin.app.inject({
          method: i % 3 === 2 ? "HEAD" : "GET",
          url: path,
          // Telegram's preview fetcher, other messengers, and a plain client.
          headers: {
            "user-agent": ["TelegramBot (like TwitterBot)", "WhatsApp/2", "curl/8"][i % 3],
          },
          remoteAddress: `10.2.0.${i + 1}`,
        }),
      );
    }
    for (const preview of previews) {
      assert.equal(preview.statusCode, 200);
      assert.ok(!/kamihi_admin=/.test(setCookies(preview)), "no session cookie from a GET");
      assert.match(String(preview.headers["cache-control"]), /no-store/);
    }
    const page = previews[0];
    assert.ok(page);
    // The page's address holds the link: it is never sent on to anyone.
    assert.equal(page.headers["referrer-policy"], "no-referrer");
    assert.match(page.body, /<h1>Sign in as Ada Lovelace\?<\/h1>/);
    assert.match(page.body, /<title>Sign in as Ada Lovelace · Kamihi admin<\/title>/);
    assert.match(
      page.body,
      new RegExp(
        `<form method="post" action="${path}" class="stack">\\s*<input type="hidden" name="_csrf" value="[\\w-]{20,}">\\s*<button type="submit">Sign in as Ada Lovelace</button>`,
      ),
    );
    assert.equal(await unused(), 1, "the previews left the link unused");
    assert.equal(await sessions(), before, "and opened no session");

    // The person it was sent to opens it afterwards, and confirms.
    const mine = await openLink(fixture.admin, path, ip);
    const signedIn = await confirmLink(fixture.admin, path, mine, ip);
    assert.equal(signedIn.statusCode, 303);
    assert.equal(signedIn.headers.location, "/");
    const cookie = cookiesOf(signedIn)
      .split("; ")
      .filter((c) => c.startsWith("kamihi_admin="))
      .join("; ");
    assert.ok(cookie !== "");
    const dashboard = await fixture.admin.app.inject({ url: "/", headers: { cookie } });
    assert.equal(dashboard.statusCode, 200);
    assert.match(dashboard.body, /<h1>Dashboard<\/h1>/);
    assert.equal(await unused(), 0);
    assert.equal(await sessions(), before + 1);
  });

  it("sets a confirmation cookie scripts and other sites cannot use", async () => {
    const path = await linkPath();
    const page = await openLink(fixture.admin, path, ip);
    const cookie = setCookies(page);
    assert.match(cookie, /^kamihi_login=[^;]+;/);
    assert.match(cookie, /HttpOnly/i);
    assert.match(cookie, /SameSite=Strict/i);
    assert.match(cookie, /Path=\/login\//);
    assert.match(cookie, /Max-Age=(\d+)/);
    assert.ok(Number(/Max-Age=(\d+)/.exec(cookie)?.[1]) <= 600);
    // The link's secret is not in the cookie.
    assert.ok(!cookie.includes(path.slice("/login/".length)));
    // Opening the link again in the same browser keeps the page's token, so two tabs both work.
    const again = await fixture.admin.app.inject({
      url: path,
      remoteAddress: ip,
      headers: { cookie: cookiesOf(page) },
    });
    assert.equal(confirmNonce(again), confirmNonce(page));
  });

  it("works once: a second confirmation, or opening it again, says to send /admin", async () => {
    const path = await linkPath();
    const page = await openLink(fixture.admin, path, ip);
    const [first, second] = await Promise.all([
      confirmLink(fixture.admin, path, page, ip),
      confirmLink(fixture.admin, path, page, ip),
    ]);
    assert.deepEqual([first.statusCode, second.statusCode].sort(), [303, 403]);
    const loser = first.statusCode === 403 ? first : second;
    assert.ok(!/kamihi_admin=[^;]/.test(setCookies(loser)));
    for (const response of [loser, await openLink(fixture.admin, path, ip)]) {
      assert.equal(response.statusCode, 403);
      assert.match(
        response.body,
        /This sign-in link is not valid: it has expired or was already used/,
      );
      assert.match(response.body, /send \/admin to the bot for a new one/);
      assert.match(response.body, /work once, for 10 minutes/);
      assert.ok(!response.body.includes("Sign in as"));
    }
  });

  it("refuses a confirmation without the page's cookie and token, and leaves the link working", async () => {
    const path = await linkPath();
    const other = await linkPath();
    const live = await unused();
    const page = await openLink(fixture.admin, path, ip);
    const otherPage = await openLink(fixture.admin, other, ip);
    // Each refusal from an address of its own: this test is not about the sign-in budget.
    let from = 0;
    const post = (cookie: string | undefined, payload: string, type = "form") =>
      fixture.admin.app.inject({
        method: "POST",
        url: path,
        remoteAddress: `10.3.0.${++from}`,
        headers: {
          ...(cookie === undefined ? {} : { cookie }),
          "content-type":
            type === "form" ? "application/x-www-form-urlencoded" : "application/json",
        },
        payload,
      });
    const nonce = confirmNonce(page);
    const refused = [
      // Another site's form: the browser sends no SameSite=Strict cookie along.
      await post(undefined, `_csrf=${nonce}`),
      await post(undefined, ""),
      // The right cookie, a wrong or missing token.
      await post(cookiesOf(page), "_csrf=wrong"),
      await post(cookiesOf(page), ""),
      await post(cookiesOf(page), `_csrf=${nonce}&_csrf=${nonce}`),
      await post(cookiesOf(page), JSON.stringify({ _csrf: { $ne: null } }), "json"),
      // The page of another link: its cookie and token do not fit this link.
      await post(cookiesOf(otherPage), `_csrf=${confirmNonce(otherPage)}`),
      // A cookie made up without the server's secret.
      await post(`kamihi_login=${nonce}`, `_csrf=${nonce}`),
    ];
    for (const [index, response] of refused.entries()) {
      assert.equal(response.statusCode, 403, `case ${index}`);
      assert.ok(!/kamihi_admin=[^;]/.test(setCookies(response)), `case ${index}`);
      assert.match(response.body, /Open the link the bot sent you again/);
    }
    assert.equal(await unused(), live, "both links still work");
    assert.equal((await confirmLink(fixture.admin, path, page, ip)).statusCode, 303);
  });

  it("an expired, unknown or malformed link says to send /admin again", async () => {
    const path = await linkPath();
    const page = await openLink(fixture.admin, path, ip);
    assert.equal(page.statusCode, 200);
    await fixture.store
      .collection("login_tokens")
      .updateMany({ usedAt: null }, { $set: { expiresAt: new Date(Date.now() - 1000) } });
    for (const response of [
      await openLink(fixture.admin, path, ip),
      await confirmLink(fixture.admin, path, page, ip),
      await openLink(fixture.admin, `/login/${"a".repeat(43)}`, ip),
      await openLink(fixture.admin, "/login/short", ip),
      await openLink(fixture.admin, `/login/${"%24ne".repeat(8)}`, ip),
    ]) {
      assert.equal(response.statusCode, 403);
      assert.match(response.body, /send \/admin to the bot for a new one/);
    }
  });

  it("refuses the link of someone who stopped being an admin, without naming them", async () => {
    await fixture.users.createUser({ telegramId: 7, firstName: "Grace", isAdmin: true });
    const path = await linkPath(7);
    const page = await openLink(fixture.admin, path, ip);
    assert.match(page.body, /Sign in as Grace\?/);
    await fixture.users.updateUser(7, { isAdmin: false });
    const again = await openLink(fixture.admin, path, ip);
    assert.equal(again.statusCode, 403);
    assert.ok(!again.body.includes("Grace"));
    const confirmed = await confirmLink(fixture.admin, path, page, ip);
    assert.equal(confirmed.statusCode, 403);
    assert.ok(!/kamihi_admin=[^;]/.test(setCookies(confirmed)));
  });

  it("records the sign-in in the audit log with the address it came from", async () => {
    const path = await linkPath();
    await confirmLink(fixture.admin, path, await openLink(fixture.admin, path, ip), ip);
    const entries = await fixture.store
      .collection("audit")
      .find({ what: "session.open" }, { sort: { at: -1 }, limit: 1 });
    assert.equal(entries[0]?.details, "login link");
    assert.equal(entries[0]?.ip, ip);
    assert.equal(entries[0]?.by, 1);
  });
});

describe("login link wording follows loginTtlSeconds", () => {
  it("says how long links work", async () => {
    const { admin } = await adminWith({ loginTtlSeconds: 120 });
    try {
      const refused = await openLink(admin, `/login/${"c".repeat(43)}`);
      assert.match(refused.body, /work once, for 2 minutes/);
      const login = await admin.app.inject({ url: "/login" });
      assert.match(login.body, /works once, for 2 minutes/);
    } finally {
      await admin.close();
    }
  });
});
