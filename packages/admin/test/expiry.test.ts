import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { hashPassword } from "../src/index.js";
import { adminWith, browser, formBody } from "./fixture.js";
import { confirmLink, manualClock, openLink, signIn } from "./helpers.js";

// What expires, by the admin's clock: sign-in links, sessions, the sign-in attempts budget and
// the signed-in users kept between requests. The clock moves; nothing waits.

const MINUTE = 60_000;

describe("expiry follows the admin's clock", () => {
  it("a sign-in link works for 10 minutes, then says to send /admin again", async () => {
    const clock = manualClock();
    const { admin, store } = await adminWith({ clock: clock.now });
    try {
      const path = new URL(await admin.loginLink(1)).pathname;
      clock.advance(9 * MINUTE);
      const page = await openLink(admin, path);
      assert.equal(page.statusCode, 200);
      assert.match(page.body, /Sign in as Ada\?/);
      // The confirmation cookie lives as long as the link has left.
      assert.match(String(page.headers["set-cookie"]), /Max-Age=60;/);
      clock.advance(MINUTE);
      for (const response of [await openLink(admin, path), await confirmLink(admin, path, page)]) {
        assert.equal(response.statusCode, 403);
        assert.match(response.body, /send \/admin to the bot for a new one/);
      }
      const unused = await store.collection("login_tokens").countDocuments({ usedAt: null });
      assert.equal(unused, 1, "expired, not used up");
      assert.equal(await store.collection("admin_sessions").countDocuments({}), 0);
    } finally {
      await admin.close();
    }
  });

  it("a session lasts sessionTtlSeconds (12 h by default), then asks to sign in again", async () => {
    const clock = manualClock();
    const { admin, store } = await adminWith({ clock: clock.now });
    try {
      const signedInAt = clock.now();
      const page = browser(admin, await signIn(admin));
      const [opened] = await store
        .collection("audit")
        .find({ what: "session.open" }, { sort: { at: -1 }, limit: 1 });
      assert.equal((opened?.at as Date | undefined)?.getTime(), signedInAt, "timed by the clock");
      clock.advance(12 * 3600_000 - 1000);
      assert.equal((await page.get("/users")).statusCode, 200);
      clock.advance(1000);
      const refused = await page.get("/users");
      assert.equal(refused.statusCode, 303);
      assert.equal(refused.headers.location, "/login");
      assert.equal((await page.post("/roles", { name: "late" })).statusCode, 401);
    } finally {
      await admin.close();
    }
  });

  it("follows a shorter sessionTtlSeconds", async () => {
    const clock = manualClock();
    const { admin } = await adminWith({ clock: clock.now, sessionTtlSeconds: 600 });
    try {
      const page = browser(admin, await signIn(admin));
      clock.advance(10 * MINUTE - 1);
      assert.equal((await page.get("/")).statusCode, 200);
      clock.advance(1);
      assert.equal((await page.get("/")).statusCode, 303);
    } finally {
      await admin.close();
    }
  });

  it("a spent sign-in budget comes back when the minute is over", async () => {
    const clock = manualClock();
    const password = "correct horse battery staple";
    const { admin } = await adminWith({
      clock: clock.now,
      passwordHash: await hashPassword(password),
    });
    const attempt = (guess: string) =>
      admin.app.inject({
        method: "POST",
        url: "/login",
        remoteAddress: "192.0.2.9",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        payload: formBody({ telegramId: "1", password: guess }),
      });
    try {
      for (let i = 0; i < 10; i += 1) assert.equal((await attempt("guess")).statusCode, 401);
      const limited = await attempt(password);
      assert.equal(limited.statusCode, 429);
      assert.equal(limited.headers["retry-after"], "60");
      clock.advance(45_000);
      const later = await attempt(password);
      assert.equal(later.statusCode, 429, "still within the minute");
      assert.equal(later.headers["retry-after"], "15");
      clock.advance(15_000);
      const signedIn = await attempt(password);
      assert.equal(signedIn.statusCode, 303, "a new minute, a new budget");
      assert.equal(signedIn.headers.location, "/");
    } finally {
      await admin.close();
    }
  });

  it("an edit straight in the database reaches the session check within 30 s", async () => {
    const clock = manualClock();
    const { admin, store } = await adminWith({ clock: clock.now });
    try {
      const page = browser(admin, await signIn(admin));
      assert.equal((await page.get("/")).statusCode, 200);
      // Past the user service: no change is recorded, so only the age of what is kept tells.
      await store.collection("users").updateOne({ telegramId: 1 }, { $set: { isAdmin: false } });
      clock.advance(29_000);
      assert.equal((await page.get("/")).statusCode, 200, "kept for 30 s");
      clock.advance(1000);
      const refused = await page.get("/");
      assert.equal(refused.statusCode, 303);
      assert.equal(refused.headers.location, "/login");
    } finally {
      await admin.close();
    }
  });
});
