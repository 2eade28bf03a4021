import assert from "node:assert/strict";
import { request } from "node:http";
import { after, before, describe, it } from "node:test";
import type { Page } from "playwright-core";
import { Markup, type Telegraf } from "telegraf";
import { message } from "telegraf/filters";
import { requiredBrowser, sharedBrowser, withPage } from "../../admin/test/browser.js";
import { createPlayground, type Emulator, type Playground } from "../src/index.js";
import { emulator, pollingBot } from "./helpers.js";

// The playground page against a real Telegraf bot on the emulator: HTTP checks first, then the
// whole page in headless Chromium.

/** A 1×1 PNG. */
const PNG = Buffer.from(
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==",
  "base64",
);
const ADA = 501;
const BOB = 502;
const GROUP = -777;

function demoBot(bot: Telegraf) {
  bot.start((ctx) =>
    ctx.replyWithHTML(
      '<b>Hello</b> <i>there</i>, read <a href="https://example.com/docs">the docs</a>, <code>inline code</code> or <a href="javascript:alert(1)">this</a>.',
      Markup.inlineKeyboard([
        [Markup.button.callback("Edit me", "edit"), Markup.button.callback("Delete me", "delete")],
        [
          Markup.button.callback("Alert", "alert"),
          Markup.button.url("Docs", "https://example.com"),
        ],
      ]),
    ),
  );
  bot.action("edit", async (ctx) => {
    await ctx.editMessageText("Edited <b>text</b>", {
      parse_mode: "HTML",
      reply_markup: { inline_keyboard: [[{ text: "Delete me", callback_data: "delete" }]] },
    });
    await ctx.answerCbQuery("Edited!");
  });
  bot.action("delete", async (ctx) => {
    await ctx.deleteMessage();
    await ctx.answerCbQuery();
  });
  bot.action("alert", (ctx) => ctx.answerCbQuery("Careful!", { show_alert: true }));
  bot.command("keyboard", (ctx) =>
    ctx.reply(
      "Pick a colour",
      Markup.keyboard([["Red", "Blue"]])
        .oneTime()
        .resize(),
    ),
  );
  bot.hears(["Red", "Blue"], (ctx) =>
    ctx.reply(`You chose ${ctx.message.text}`, Markup.removeKeyboard()),
  );
  bot.command("photo", (ctx) =>
    ctx.replyWithPhoto(
      { source: PNG, filename: "dot.png" },
      { caption: "A *dot*", parse_mode: "MarkdownV2" },
    ),
  );
  bot.command("where", (ctx) => ctx.replyWithLocation(41.3874, 2.1686));
  bot.command("media", async (ctx) => {
    await ctx.replyWithAudio({ source: Buffer.from("ID3"), filename: "song.mp3" });
    await ctx.replyWithVideo({ source: Buffer.from("video"), filename: "clip.mp4" });
  });
  bot.command("quote", (ctx) =>
    ctx.reply("Quoting you", { reply_parameters: { message_id: ctx.message.message_id } }),
  );
  bot.command("doc", (ctx) =>
    ctx.replyWithDocument({
      source: Buffer.from("<script>parent.__pwned = 2</script>"),
      filename: "page.html",
    }),
  );
  bot.command("raw", (ctx) => ctx.reply('<img src=x onerror="window.__pwned = 1">'));
  bot.command("whoami", (ctx) => ctx.reply(`You are ${ctx.from.first_name}`));
  bot.command("tellada", (ctx) => ctx.telegram.sendMessage(ADA, `${ctx.from.first_name} says hi`));
  bot.on(message("photo"), async (ctx) => {
    const largest = ctx.message.photo.at(-1);
    if (largest === undefined) return;
    const link = await ctx.telegram.getFileLink(largest.file_id);
    const bytes = Buffer.from(await (await fetch(link)).arrayBuffer());
    await ctx.reply(`Got a photo of ${bytes.length} bytes`);
  });
  bot.on(message("document"), (ctx) =>
    ctx.reply(`Got ${ctx.message.document.file_name} (${ctx.message.document.mime_type})`),
  );
}

async function startPlayground(emu: Emulator, port = 0): Promise<Playground> {
  return createPlayground({
    emulator: emu,
    port,
    users: [
      { id: ADA, firstName: "Ada", username: "ada", label: "Admin" },
      { id: BOB, firstName: "Bob", label: "User" },
    ],
    group: { id: GROUP, title: "Tea room" },
  });
}

/** A raw HTTP request, so that the Host header can be anything. */
function raw(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: string },
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: options.method ?? "GET", headers: options.headers },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          body += chunk;
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on("error", reject);
    req.end(options.body);
  });
}

const post = (playground: Playground, path: string, body: unknown, extra = {}) =>
  fetch(new URL(path, playground.url), {
    method: "POST",
    headers: { "content-type": "application/json", "x-kamihi-playground": "1", ...extra },
    body: JSON.stringify(body),
  });

describe("playground server", () => {
  let emu: Emulator;
  let playground: Playground;

  before(async () => {
    emu = await emulator();
    await pollingBot(emu, demoBot);
    playground = await startPlayground(emu);
  });
  after(() => playground.close());

  it("serves the page with a strict Content-Security-Policy", async () => {
    const response = await fetch(playground.url);
    assert.equal(response.status, 200);
    const csp = response.headers.get("content-security-policy") ?? "";
    assert.match(csp, /script-src 'self'/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
    assert.match(await response.text(), /<select id="user-switcher">/);
  });

  it("sends a command as a user, and the bot's reply is in the chat", async () => {
    const sent = await post(playground, "/api/send", { user: BOB, chat: BOB, text: "/whoami" });
    assert.equal(sent.status, 200);
    const chat = emu.chat({ userId: BOB });
    await chat.expectReply("You are Bob");
    const view = (await (
      await fetch(new URL(`/api/chat?user=${BOB}&chat=${BOB}`, playground.url))
    ).json()) as { messages: Array<{ text?: string; entities?: unknown[] }> };
    assert.deepEqual(
      view.messages.map((m) => m.text),
      ["/whoami", "You are Bob"],
    );
    assert.deepEqual(view.messages[0]?.entities, [{ type: "bot_command", offset: 0, length: 7 }]);
  });

  it("refuses changes without the page's header, from another origin, or for another Host", async () => {
    const body = JSON.stringify({ user: ADA, chat: ADA, text: "hi" });
    const noHeader = await raw(new URL("/api/send", playground.url).href, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
    });
    assert.equal(noHeader.status, 403);
    const otherOrigin = await post(
      playground,
      "/api/send",
      { user: ADA, chat: ADA, text: "hi" },
      { origin: "http://evil.example" },
    );
    assert.equal(otherOrigin.status, 403);
    const rebound = await raw(playground.url, { headers: { host: "evil.example:80" } });
    assert.equal(rebound.status, 421);
    assert.deepEqual(
      emu.messages(ADA).map((m) => ("text" in m ? m.text : "")),
      [],
      "nothing reached the bot",
    );
  });

  it("names what is wrong with a request", async () => {
    const stranger = await post(playground, "/api/send", { user: 9, chat: 9, text: "hi" });
    assert.equal(stranger.status, 400);
    assert.match(
      ((await stranger.json()) as { error: string }).error,
      /Unknown playground user 9; the users are 501, 502/,
    );
    const foreign = await post(playground, "/api/send", { user: ADA, chat: BOB, text: "hi" });
    assert.match(((await foreign.json()) as { error: string }).error, /own id .* or -777/);
    const empty = await post(playground, "/api/send", { user: ADA, chat: ADA, text: "  " });
    assert.equal(empty.status, 400);
    const gone = await post(playground, "/api/press", {
      user: ADA,
      chat: ADA,
      message: 999,
      data: "x",
    });
    assert.equal(gone.status, 404);
  });

  it("serves what the bot sends as a download that can never run as a page", async () => {
    await post(playground, "/api/send", { user: ADA, chat: GROUP, text: "/doc" });
    const doc = await emu.chat({ type: "group", chatId: GROUP }).nextReply();
    const id = (doc as { document?: { file_id: string } }).document?.file_id ?? "";
    const file = await fetch(new URL(`/api/files/${id}`, playground.url));
    assert.equal(file.headers.get("content-type"), "application/octet-stream");
    assert.match(
      file.headers.get("content-disposition") ?? "",
      /^attachment; filename\*=UTF-8''page\.html$/,
    );
    assert.match(file.headers.get("content-security-policy") ?? "", /sandbox/);
    const missing = await fetch(new URL("/api/files/nope", playground.url));
    assert.equal(missing.status, 404);
  });

  it("says which port is taken and how to pick another", async () => {
    const port = Number(new URL(playground.url).port);
    await assert.rejects(
      startPlayground(emu, port),
      new RegExp(`127\\.0\\.0\\.1:${port}: the port is taken.*--port`),
    );
  });

  it("closes with a page still connected for live updates", async () => {
    const other = await startPlayground(emu);
    const events = await fetch(new URL("/api/events", other.url));
    assert.equal(events.headers.get("content-type"), "text/event-stream; charset=utf-8");
    await other.close();
    await events.body?.cancel().catch(() => {});
  });
});

const { skip } = requiredBrowser();

describe("playground page in a real browser", { skip: skip ?? false }, () => {
  const browser = sharedBrowser();
  let emu: Emulator;
  let playground: Playground;

  before(async () => {
    emu = await emulator({ bot: { firstName: "Demo Bot", username: "demo_bot" } });
    const bot = await pollingBot(emu, demoBot);
    await bot.telegram.setMyCommands([
      { command: "start", description: "Say hello" },
      { command: "keyboard", description: "Show a keyboard" },
      { command: "photo", description: "Send a photo" },
    ]);
    playground = await startPlayground(emu);
  });
  after(() => playground.close());

  const lastBotText = (page: Page) => page.locator(".message.bot .text").last();
  async function expectBotText(page: Page, text: string | RegExp) {
    await page.locator(".message.bot .text", { hasText: text }).last().waitFor();
  }
  async function sendText(page: Page, text: string) {
    await page.locator("#text-input").fill(text);
    await page.locator("#text-input").press("Enter");
  }

  it("chats like Telegram: menu, formatting, buttons, edits, deletions, keyboards, media, uploads, users and a group", async () => {
    await withPage(
      async (page) => {
        const errors: string[] = [];
        page.on("pageerror", (error) => errors.push(error.message));
        await page.goto(playground.url);
        await page.locator("body[data-ready=true]").waitFor();
        assert.equal(await page.locator("#chat-title").textContent(), "Demo Bot");

        // The command menu, and a command sent from it.
        await page.locator("#menu-button").click();
        const items = await page.locator(".menu-item b").allTextContents();
        assert.deepEqual(items, ["/start", "/keyboard", "/photo"]);
        await page.locator(".menu-item", { hasText: "/start" }).click();
        await expectBotText(page, "Hello there");
        const hello = lastBotText(page);
        assert.equal(await hello.locator("strong").textContent(), "Hello");
        assert.equal(await hello.locator("em").textContent(), "there");
        assert.equal(await hello.locator("code").textContent(), "inline code");
        assert.equal(
          await hello.locator("a", { hasText: "the docs" }).getAttribute("href"),
          "https://example.com/docs",
        );
        assert.equal(
          await page.locator('a[href^="javascript"]').count(),
          0,
          "a javascript: link must never be clickable",
        );
        assert.equal(await page.locator(".message.mine .text").last().textContent(), "/start");

        // An alert answer, then an edit with a toast, then a deletion.
        await page.locator("button.inline-button", { hasText: "Alert" }).click();
        await page.locator("#alert[open]").waitFor();
        assert.equal(await page.locator("#alert-text").textContent(), "Careful!");
        await page.locator("#alert-ok").click();
        await page.locator("button.inline-button", { hasText: "Edit me" }).click();
        await expectBotText(page, "Edited text");
        assert.equal(await page.locator("#toast").textContent(), "Edited!");
        const edited = page.locator(".message.bot", { hasText: "Edited text" });
        assert.equal(await edited.locator(".edited").count(), 1);
        assert.equal(await edited.locator(".text strong").textContent(), "text");
        await edited.locator("button.inline-button", { hasText: "Delete me" }).click();
        await edited.waitFor({ state: "detached" });

        // A one-time reply keyboard: shown, pressed, removed by the bot.
        await sendText(page, "/keyboard");
        await page.locator("#reply-keyboard button.reply-button", { hasText: "Red" }).waitFor();
        await page.locator("#reply-keyboard button.reply-button", { hasText: "Red" }).click();
        await expectBotText(page, "You chose Red");
        await page.locator("#reply-keyboard").waitFor({ state: "hidden" });

        // Media from the bot: a photo with a formatted caption, and a location.
        await sendText(page, "/photo");
        const photo = page.locator(".message.bot img").last();
        await photo.waitFor();
        await page.waitForFunction(
          "document.querySelector('.message.bot img')?.naturalWidth === 1",
        );
        assert.equal(await lastBotText(page).locator("strong").textContent(), "dot");
        await sendText(page, "/where");
        await page.locator(".message.bot .location", { hasText: "41.38740, 2.16860" }).waitFor();

        await sendText(page, "/media");
        await page.locator(".message.bot video").waitFor();
        assert.match(
          (await page.locator(".message.bot audio").getAttribute("src")) ?? "",
          /^\/api\/files\/\w/,
        );
        await sendText(page, "/quote");
        await page.locator(".message.bot .quote", { hasText: "/quote" }).waitFor();
        assert.equal(await page.locator(".message.bot .quote b").last().textContent(), "Ada");

        // Text is text: markup from the bot never becomes HTML.
        await sendText(page, "/raw");
        await expectBotText(page, '<img src=x onerror="window.__pwned = 1">');
        assert.equal(await lastBotText(page).locator("img").count(), 0);

        // A document from the bot is a download link.
        await sendText(page, "/doc");
        await page.locator(".message.bot a.document", { hasText: "page.html" }).waitFor();

        // Uploads: a picture goes as a photo; the bot downloads it.
        await page.locator("#file-input").setInputFiles({
          name: "dot.png",
          mimeType: "image/png",
          buffer: PNG,
        });
        await expectBotText(page, `Got a photo of ${PNG.length} bytes`);
        assert.equal(await page.locator(".message.mine img").count(), 1);
        await page.locator("#file-input").setInputFiles({
          name: "notes.txt",
          mimeType: "text/plain",
          buffer: Buffer.from("some notes"),
        });
        await expectBotText(page, "Got notes.txt (text/plain)");

        // Another user: their own private chat; a message for Ada shows as new for her.
        await page.locator("#user-switcher").selectOption(String(BOB));
        await page.locator("#messages .empty").waitFor();
        await sendText(page, "/whoami");
        await expectBotText(page, "You are Bob");
        await sendText(page, "/tellada");
        await page.locator("#user-switcher option", { hasText: "Ada (Admin) · 1 new" }).waitFor({
          state: "attached",
        });

        // The group: Bob speaks, then Ada sees his message with his name, and the bot's reply.
        await page.locator(".chat-item", { hasText: "Tea room" }).click();
        await page.locator("#chat-title", { hasText: "Tea room" }).waitFor();
        await sendText(page, "/whoami");
        await expectBotText(page, "You are Bob");
        await page.locator("#user-switcher").selectOption(String(ADA));
        await page.locator(".message.user:not(.mine) .sender", { hasText: "Bob" }).waitFor();
        assert.equal(await page.locator(".message.mine").count(), 0, "Ada has said nothing here");
        await expectBotText(page, "You are Bob");
        await page.locator(".chat-item", { hasText: "Demo Bot" }).click();
        await expectBotText(page, "Bob says hi");

        assert.equal(await page.evaluate("window.__pwned"), undefined);
        assert.deepEqual(errors, []);
      },
      { browser: browser() },
    );
  });

  it("applies the bot's changes live, without a reload", async () => {
    await withPage(
      async (page) => {
        await page.goto(playground.url);
        await page.locator("body[data-ready=true]").waitFor();
        // The bot acts on its own (as a scheduled job would): the open page follows.
        const api = (method: string, params: Record<string, unknown>) =>
          fetch(`${emu.apiRoot}/bot${emu.token}/${method}`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify(params),
          }).then(async (r) => ((await r.json()) as { result: { message_id: number } }).result);
        const pushed = await api("sendMessage", { chat_id: ADA, text: "Out of the blue" });
        await expectBotText(page, "Out of the blue");
        await api("editMessageText", {
          chat_id: ADA,
          message_id: pushed.message_id,
          text: "Changed *live*",
          parse_mode: "MarkdownV2",
        });
        await expectBotText(page, "Changed live");
        await api("deleteMessage", { chat_id: ADA, message_id: pushed.message_id });
        await page.locator(`#message-${pushed.message_id}`).waitFor({ state: "detached" });
      },
      { browser: browser() },
    );
  });
});
