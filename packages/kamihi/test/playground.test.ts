import assert from "node:assert/strict";
import { cpSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { freePort } from "@kamihi/testing";
import type { Page } from "playwright-core";
import { requiredBrowser, screenshot, sharedBrowser, withPage } from "../../admin/test/browser.js";
import { Running, TMP } from "./cli-process.js";

// `kamihi playground` on the hello-world example, as the root README runs it, driven in a real
// headless Chromium: the admin, a user and a stranger meet its public and its granted action.

const EXAMPLE = fileURLToPath(new URL("../../../examples/hello-world/", import.meta.url));
/** Set to a folder to refresh the README screenshots: KAMIHI_SCREENSHOTS=docs/images. */
const SHOTS = process.env.KAMIHI_SCREENSHOTS;
const { skip } = requiredBrowser();

describe("kamihi playground in a real browser", { skip: skip ?? false }, () => {
  const browser = sharedBrowser();
  let root: string;
  let running: Running;
  let url: string;

  before(async () => {
    // A copy of the example, so its own data file stays untouched.
    mkdirSync(TMP, { recursive: true });
    // Named as the example: the playground names its bot after the project's folder.
    root = join(mkdtempSync(join(TMP, "playground-")), "hello-world");
    for (const part of ["actions", "templates", "kamihi.yaml"])
      cpSync(join(EXAMPLE, part), join(root, part), { recursive: true });
    running = new Running(root, ["playground", "--port", String(await freePort())], {
      KAMIHI_WEB__ENABLED: "false",
    });
    await running.until(/playground: (http:\S+)/);
    url = /playground: (http:\S+)/.exec(running.out)?.[1] ?? "";
  });
  after(async () => {
    if (running !== undefined) {
      const code = await running.stop();
      assert.equal(code, 0, running.out);
      assert.match(running.out, /SIGTERM: stopping…\n(.|\n)*Stopped\.\n$/);
    }
    rmSync(join(root, ".."), { recursive: true, force: true });
  });

  const botSaid = (page: Page, text: string | RegExp) =>
    page.locator(".message.bot .text", { hasText: text }).last().waitFor();
  async function send(page: Page, text: string) {
    await page.locator("#text-input").fill(text);
    await page.locator("#text-input").press("Enter");
  }
  async function menu(page: Page): Promise<string[]> {
    await page.locator("#menu-button").click();
    const commands = await page.locator(".menu-item b").allTextContents();
    await page.locator("#menu-button").click();
    return commands;
  }

  it("says where it runs and where it keeps its data, with no token", () => {
    assert.match(
      running.out,
      /Bot @hello_world_bot is running \(polling the playground's emulator\)/,
    );
    assert.match(running.out, /you are the admin "Ada"/);
    assert.match(running.out, /store: {4}embedded \(kept in \.kamihi\/data\.json\)/);
  });

  it("sends /start, presses a button, and a stranger is refused what only admins may run", async () => {
    await withPage(
      async (page) => {
        await page.goto(url);
        await page.locator("body[data-ready=true]").waitFor();

        // Ada, the admin: the greeting from the template, and the granted-only action.
        await send(page, "/start");
        await botSaid(page, "Hello Ada! I'm a Kamihi bot.");
        assert.equal(await page.locator(".message.bot .text strong").first().textContent(), "Ada");
        await page.locator("button.inline-button", { hasText: "Tell me a secret" }).click();
        await botSaid(page, "the answer is 42");
        await page.locator("button.inline-button", { hasText: "What time is it?" }).click();
        await botSaid(page, /^It is .+ in Europe\/Madrid\.$/);
        // A command in the bot's text is a link that sends it.
        await page.locator(".message.bot .text .command", { hasText: "/help" }).first().click();
        await botSaid(page, "/secret — Tell a secret");
        assert.deepEqual(await menu(page), ["/secret", "/start", "/time", "/help"]);
        if (SHOTS) {
          await screenshot(
            page,
            fileURLToPath(new URL(`../../../${SHOTS}/playground.png`, import.meta.url)),
            { fullPage: false },
          );
        }

        await page.waitForTimeout(300);
        // Eve, a stranger: public actions answer, the secret does not, and her menu says so.
        await page.locator("#user-switcher").selectOption("10003");
        await page.locator("#chat-subtitle", { hasText: "Eve Stranger" }).waitFor();
        await send(page, "/start");
        await botSaid(page, "Hello Eve!");
        await page.locator("button.inline-button", { hasText: "Tell me a secret" }).click();
        // A refused button answers with an alert, as Telegram shows it.
        await page.locator("#alert[open]").waitFor();
        assert.equal(
          await page.locator("#alert-text").textContent(),
          "You are not allowed to do that.",
        );
        await page.locator("#alert-ok").click();
        await send(page, "/secret");
        await botSaid(page, "You are not allowed to do that.");
        assert.deepEqual(await menu(page), ["/start", "/time", "/help"]);

        // Bob, a user with no grant: refused too; in the group, Ada still may.
        await page.locator("#user-switcher").selectOption("10002");
        await page.locator("#chat-subtitle", { hasText: "Bob User" }).waitFor();
        await send(page, "/secret");
        await botSaid(page, "You are not allowed to do that.");
        await page.locator(".chat-item", { hasText: "Playground group" }).click();
        await page.locator("#chat-title", { hasText: "Playground group" }).waitFor();
        await page.locator("#user-switcher").selectOption("10001");
        await send(page, "/secret");
        await botSaid(page, "the answer is 42");
      },
      { browser: browser() },
    );
  });
});
