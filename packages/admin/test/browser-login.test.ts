import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { requiredBrowser, sharedBrowser, withPage } from "./browser.js";
import { adminWith } from "./fixture.js";

// Signing in with the link the bot sends, in a real Chromium against a real admin server: the
// link asks first, and a link preview fetched before the person opens it does not use it up.

const { skip } = requiredBrowser();

describe("signing in with a login link in a browser", { skip, timeout: 180_000 }, () => {
  const browser = sharedBrowser();
  let fixture: Awaited<ReturnType<typeof adminWith>>;
  let base: string;

  before(async () => {
    fixture = await adminWith();
    await fixture.users.updateUser(1, { lastName: "Lovelace" });
    base = fixture.admin.url;
  });
  after(() => fixture.admin.close());

  it("opens the link, asks 'Sign in as Ada Lovelace?', and signs in on the button", async () => {
    const link = await fixture.admin.loginLink(1);
    await withPage(
      async (page) => {
        await page.goto(link);
        assert.equal(
          await page.getByRole("heading", { level: 1 }).textContent(),
          "Sign in as Ada Lovelace?",
        );
        const before = await page.context().cookies();
        assert.ok(!before.some((c) => c.name === "kamihi_admin"), "not signed in by opening it");
        await Promise.all([
          page.waitForURL(`${base}/`),
          page.getByRole("button", { name: "Sign in as Ada Lovelace" }).click(),
        ]);
        assert.equal(await page.getByRole("heading", { level: 1 }).textContent(), "Dashboard");
        assert.ok(await page.getByRole("button", { name: "Sign out" }).isVisible());
        const cookies = await page.context().cookies();
        const session = cookies.find((c) => c.name === "kamihi_admin");
        assert.ok(session?.httpOnly);
        assert.ok(
          !cookies.some((c) => c.name === "kamihi_login"),
          "the confirmation cookie is gone",
        );
      },
      { browser: browser() },
    );
  });

  it("still works, once, after a link preview fetched it", async () => {
    const link = await fixture.admin.loginLink(1);
    // What Telegram's (or another messenger's) preview fetcher does before anyone taps the link.
    for (const method of ["GET", "GET", "HEAD"]) {
      const preview = await fetch(link, {
        method,
        headers: { "user-agent": "TelegramBot (like TwitterBot)" },
      });
      assert.equal(preview.status, 200);
      if (method === "GET") assert.match(await preview.text(), /Sign in as Ada Lovelace\?/);
    }
    await withPage(
      async (page) => {
        await page.goto(link);
        await Promise.all([
          page.waitForURL(`${base}/`),
          page.getByRole("button", { name: "Sign in as Ada Lovelace" }).click(),
        ]);
        assert.equal(await page.getByRole("heading", { level: 1 }).textContent(), "Dashboard");
      },
      { browser: browser() },
    );
    // Used now: opening it again (another browser) says so, and how to get a new one.
    await withPage(
      async (page) => {
        const response = await page.goto(link);
        assert.equal(response?.status(), 403);
        const alert = await page.getByRole("alert").textContent();
        assert.match(
          alert ?? "",
          /This sign-in link is not valid: it has expired or was already used/,
        );
        assert.match(alert ?? "", /send \/admin to the bot for a new one/);
        assert.equal(await page.getByRole("button", { name: /Sign in as/ }).count(), 0);
      },
      { browser: browser() },
    );
  });
});
