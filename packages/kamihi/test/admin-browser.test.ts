import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { createEmulator, type Emulator, freePort, messageText } from "@kamihi/testing";
import type { Browser, Page } from "playwright-core";
import { launchBrowser, requiredBrowser, screenshot } from "../../admin/test/browser.js";
import { createBot, type Kamihi } from "../src/index.js";
import { fixture, LogCapture } from "./helpers.js";

const ADMIN = 900_500;
/** Set to a folder to refresh the README screenshots: KAMIHI_SCREENSHOTS=docs/images. */
const SHOTS = process.env.KAMIHI_SCREENSHOTS;
const { skip } = requiredBrowser();

describe("the web admin in a real browser, beside a running bot", { skip: skip ?? false }, () => {
  let emu: Emulator;
  let bot: Kamihi;
  let browser: Browser;
  let page: Page;
  const log = new LogCapture();

  before(async () => {
    emu = await createEmulator();
    bot = createBot().configure({
      logger: log.logger(),
      settings: {
        token: emu.token,
        tg: { apiRoot: emu.apiRoot },
        db: { url: "memory://" },
        web: { enabled: true, port: await freePort() },
        users: { admins: [ADMIN], cacheSeconds: 0.2 },
        limits: { perChatPerSecond: 1000, perGroupPerMinute: 1000, globalPerSecond: 1000 },
      },
    });
    await bot.start({ root: fixture("access"), admin: true });
    browser = await launchBrowser();
    page = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
    page.setDefaultTimeout(10_000);
  });
  after(async () => {
    await browser?.close();
    await bot?.stop();
    await emu?.stop();
  });

  /** Asks the bot for a sign-in link, as an admin does in Telegram. */
  async function adminLink(): Promise<string> {
    const chat = emu.chat({ userId: ADMIN, firstName: "Ada" });
    await chat.command("admin");
    const text = messageText(await chat.nextReply());
    const link = /(http:\/\/\S+\/login\/\S+)/.exec(text)?.[1];
    assert.ok(link, `no link in ${JSON.stringify(text)}`);
    // Sent without a link preview: nothing fetches the link but the admin.
    const sent = emu.calls.findLast(
      (call) => call.method === "sendMessage" && String(call.params.text).includes(link),
    );
    const preview = sent?.params.link_preview_options;
    assert.deepEqual(typeof preview === "string" ? JSON.parse(preview) : preview, {
      is_disabled: true,
    });
    return link;
  }

  it("refuses /admin to anyone but an admin", async () => {
    const stranger = emu.chat();
    await stranger.command("admin");
    await stranger.expectReply("You are not allowed to do that.");
  });

  it("signs in with the /admin link, grants access that the bot honours at once, and signs out", async () => {
    const link = await adminLink();
    await page.goto(link);
    // The link asks to confirm: a preview that fetches it signs nobody in and leaves it valid.
    await page.getByRole("button", { name: "Sign in as Ada" }).click();
    await page.getByRole("heading", { name: "Dashboard" }).waitFor();
    if (SHOTS)
      await screenshot(
        page,
        fileURLToPath(new URL(`../../../${SHOTS}/admin-dashboard.png`, import.meta.url)),
      );

    const member = emu.chat({ firstName: "Grace" });
    await member.command("secret");
    await member.expectReply("You are not allowed to do that.");

    // A user, by Telegram id.
    await page.goto(new URL("/users/new", link).href);
    await page.getByLabel("Telegram id").fill(String(member.user.id));
    await page.getByLabel("First name").fill("Grace");
    await page.getByRole("button", { name: "Add user" }).click();
    await page.getByText(/Grace/).first().waitFor();

    // A role with her in it.
    await page.goto(new URL("/roles", link).href);
    await page.getByLabel("Name", { exact: true }).fill("agents");
    await page.getByRole("button", { name: "Create role" }).click();
    await page.goto(new URL("/roles/agents", link).href);
    await page.getByLabel("Telegram id").fill(String(member.user.id));
    await page.getByRole("button", { name: "Add", exact: true }).click();
    await page.getByText(/Grace/).first().waitFor();

    // The role may run /secret.
    await page.goto(new URL("/permissions", link).href);
    await page.getByLabel("agents may run secret").check();
    await page.getByRole("button", { name: "Save permissions" }).click();
    await page.getByRole("status").waitFor();

    await member.command("secret");
    await member.expectReply("The secret is 42.");
    await member.expectMenu(["avatar", "secret", "shop", "start", "whoami", "help"]);

    await page.goto(new URL("/users", link).href);
    await page.getByRole("heading", { name: "Users" }).waitFor();
    if (SHOTS)
      await screenshot(
        page,
        fileURLToPath(new URL(`../../../${SHOTS}/admin-users.png`, import.meta.url)),
      );

    // The audit log says who did it.
    await page.goto(new URL("/audit", link).href);
    assert.match((await page.locator("main").textContent()) ?? "", /Ada/);

    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByRole("heading", { name: "Sign in" }).waitFor();
    await page.goto(new URL("/users", link).href);
    await page.getByRole("heading", { name: "Sign in" }).waitFor();

    // The link worked once.
    const reused = await page.goto(link);
    assert.equal(reused?.status(), 403);
    assert.match(
      (await page.locator("main").textContent()) ?? "",
      /This sign-in link is not valid/,
    );
  });
});
