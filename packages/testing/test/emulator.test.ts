import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Input, Markup } from "telegraf";
import { messageText } from "../src/index.js";
import { emulator, pollingBot } from "./helpers.js";

async function api(root: string, token: string, method: string, body?: unknown) {
  const response = await fetch(`${root}/bot${token}/${method}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body ?? {}),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe("a polling Telegraf bot against the emulator", async () => {
  const emu = await emulator();
  await pollingBot(emu, (bot) => {
    bot.start((ctx) => ctx.reply(`Hello ${ctx.from.first_name}!`));
    bot.command("echo", (ctx) => ctx.reply(ctx.payload || "nothing"));
    bot.command("fmt", (ctx) => ctx.reply("*bold* and _it_ 1\\.0", { parse_mode: "MarkdownV2" }));
    bot.command("bad", async (ctx) => {
      try {
        await ctx.reply("Version 1.0!", { parse_mode: "MarkdownV2" });
      } catch (error) {
        await ctx.reply(`failed: ${(error as Error).message}`);
      }
    });
    bot.command("long", async (ctx) => {
      try {
        await ctx.reply("x".repeat(4097));
      } catch (error) {
        await ctx.reply(`failed: ${(error as Error).message}`);
      }
    });
    bot.command("menu", (ctx) =>
      ctx.reply(
        "Pick one",
        Markup.inlineKeyboard([
          [Markup.button.callback("Yes", "pick:yes"), Markup.button.callback("No", "pick:no")],
        ]),
      ),
    );
    bot.action(/pick:(.+)/, async (ctx) => {
      await ctx.answerCbQuery(`You chose ${ctx.match[1]}`);
      await ctx.editMessageText(`Chosen: ${ctx.match[1]}`);
    });
    bot.command("gone", async (ctx) => {
      const sent = await ctx.reply("temporary");
      await ctx.deleteMessage(sent.message_id);
      await ctx.reply("deleted it");
    });
    bot.on("document", async (ctx) => {
      const link = await ctx.telegram.getFileLink(ctx.message.document.file_id);
      const content = await (await fetch(link)).text();
      await ctx.replyWithDocument(
        Input.fromBuffer(Buffer.from(content.toUpperCase()), "upper.txt"),
        {
          caption: `got ${ctx.message.document.file_name}`,
        },
      );
    });
    bot.command("photo", (ctx) =>
      ctx.replyWithPhoto(Input.fromBuffer(Buffer.from([0x89, 0x50, 0x4e, 0x47]), "p.png"), {
        caption: "a photo",
      }),
    );
    bot.command("where", (ctx) => ctx.replyWithLocation(41.39, 2.16));
  });

  it("delivers commands and plain replies", async () => {
    const chat = emu.chat({ firstName: "Ada" });
    await chat.command("start");
    await chat.expectReply("Hello Ada!");
    await chat.command("echo", "some words");
    await chat.expectReply("some words");
  });

  it("keeps MarkdownV2 entities and refuses malformed Markdown with a 400", async () => {
    const chat = emu.chat();
    await chat.command("fmt");
    const reply = await chat.nextReply();
    assert.equal(messageText(reply), "bold and it 1.0");
    assert.deepEqual(
      (reply as { entities?: Array<{ type: string }> }).entities?.map((e) => e.type),
      ["bold", "italic"],
    );
    await chat.command("bad");
    await chat.expectReply(
      /^failed: 400: Bad Request: can't parse entities: Character '\.' is reserved/,
    );
  });

  it("refuses messages over 4096 characters", async () => {
    const chat = emu.chat();
    await chat.command("long");
    await chat.expectReply("failed: 400: Bad Request: message is too long");
  });

  it("shows inline keyboards, answers presses, and applies edits", async () => {
    const chat = emu.chat();
    await chat.command("menu");
    const menu = await chat.expectReply("Pick one");
    const answer = await chat.press("Yes");
    assert.deepEqual(answer, { text: "You chose yes", showAlert: false });
    const edit = await chat.waitFor(
      (e) => e.type === "edit" && e.message.message_id === menu.message_id,
    );
    assert.equal(edit.type === "edit" && messageText(edit.message), "Chosen: yes");
    const shown = chat.replies().find((m) => m.message_id === menu.message_id);
    assert.equal(shown && messageText(shown), "Chosen: yes");
    assert.equal((shown as { reply_markup?: unknown }).reply_markup, undefined);
    await assert.rejects(chat.press("Maybe"), /No inline button "Maybe" .* buttons shown: /);
  });

  it("applies deletions", async () => {
    const chat = emu.chat();
    await chat.command("gone");
    const temporary = await chat.nextReply();
    await chat.expectReply("deleted it");
    assert.ok(!chat.replies().some((m) => m.message_id === temporary.message_id));
    assert.ok(
      chat.events().some((e) => e.type === "delete" && e.messageId === temporary.message_id),
    );
  });

  it("stores uploads both ways and serves downloads", async () => {
    const chat = emu.chat();
    await chat.upload({ data: "hello file", fileName: "note.txt", mimeType: "text/plain" });
    const reply = await chat.expectReply("got note.txt");
    const document = (reply as { document: { file_id: string; file_name: string } }).document;
    assert.equal(document.file_name, "upper.txt");
    assert.equal(emu.file(document.file_id)?.data.toString(), "HELLO FILE");
    await chat.command("photo");
    const photo = await chat.expectReply("a photo");
    assert.ok(Array.isArray((photo as { photo?: unknown[] }).photo));
    await chat.command("where");
    const where = await chat.nextReply();
    assert.deepEqual((where as { location: unknown }).location, {
      latitude: 41.39,
      longitude: 2.16,
    });
  });

  it("reuses a file_id", async () => {
    const chat = emu.chat();
    const stored = emu.storeFile(Buffer.from("abc"), "document", "a.txt", "text/plain");
    const result = await api(emu.apiRoot, emu.token, "sendDocument", {
      chat_id: chat.chat.id,
      document: stored.fileId,
    });
    assert.equal(result.status, 200);
    const sent = await chat.nextReply();
    assert.equal((sent as { document: { file_id: string } }).document.file_id, stored.fileId);
    const bad = await api(emu.apiRoot, emu.token, "sendDocument", {
      chat_id: chat.chat.id,
      document: "nope",
    });
    assert.equal(bad.status, 400);
  });
});

describe("the Bot API surface", async () => {
  const emu = await emulator();

  it("answers like Telegram for unknown methods, bad tokens and unknown chats", async () => {
    assert.deepEqual(await api(emu.apiRoot, emu.token, "fly"), {
      status: 404,
      body: { ok: false, error_code: 404, description: "Not Found" },
    });
    assert.deepEqual(await api(emu.apiRoot, "1:wrong", "getMe"), {
      status: 401,
      body: { ok: false, error_code: 401, description: "Unauthorized" },
    });
    assert.deepEqual(await api(emu.apiRoot, emu.token, "sendMessage", { chat_id: 5, text: "x" }), {
      status: 400,
      body: { ok: false, error_code: 400, description: "Bad Request: chat not found" },
    });
    const me = await api(emu.apiRoot, emu.token, "getMe");
    assert.equal((me.body.result as { is_bot: boolean }).is_bot, true);
  });

  it("edits keyboards, shows chat actions, and refuses no-op edits like Telegram", async () => {
    const chat = emu.chat();
    const sent = await api(emu.apiRoot, emu.token, "sendMessage", {
      chat_id: chat.chat.id,
      text: "pick",
      reply_markup: { inline_keyboard: [[{ text: "A", callback_data: "a" }]] },
    });
    const id = (sent.body.result as { message_id: number }).message_id;
    const markup = { inline_keyboard: [[{ text: "B", callback_data: "b" }]] };
    const edited = await api(emu.apiRoot, emu.token, "editMessageReplyMarkup", {
      chat_id: chat.chat.id,
      message_id: id,
      reply_markup: markup,
    });
    assert.equal(edited.status, 200);
    assert.deepEqual(
      (emu.message(chat.chat.id, id) as { reply_markup?: unknown }).reply_markup,
      markup,
    );
    const same = await api(emu.apiRoot, emu.token, "editMessageText", {
      chat_id: chat.chat.id,
      message_id: id,
      text: "pick",
      reply_markup: markup,
    });
    assert.equal(same.status, 400);
    assert.match(String(same.body.description), /message is not modified/);
    assert.equal(
      (
        await api(emu.apiRoot, emu.token, "sendChatAction", {
          chat_id: chat.chat.id,
          action: "typing",
        })
      ).body.result,
      true,
    );
  });

  it("answers 403 when the user blocked the bot", async () => {
    const chat = emu.chat();
    chat.block();
    const result = await api(emu.apiRoot, emu.token, "sendMessage", {
      chat_id: chat.chat.id,
      text: "hi",
    });
    assert.deepEqual(result.body, {
      ok: false,
      error_code: 403,
      description: "Forbidden: bot was blocked by the user",
    });
  });

  it("publishes command menus by scope, resolved per chat", async () => {
    const privateChat = emu.chat({ languageCode: "en" });
    const group = emu.chat({ type: "group", title: "Team" });
    await api(emu.apiRoot, emu.token, "setMyCommands", {
      commands: [{ command: "start", description: "Start" }],
    });
    await api(emu.apiRoot, emu.token, "setMyCommands", {
      commands: [{ command: "admin", description: "Admin things" }],
      scope: { type: "chat", chat_id: privateChat.chat.id },
    });
    assert.deepEqual(privateChat.menu(), [{ command: "admin", description: "Admin things" }]);
    assert.deepEqual(group.menu(), [{ command: "start", description: "Start" }]);
    const scoped = await api(emu.apiRoot, emu.token, "getMyCommands", {
      scope: { type: "chat", chat_id: privateChat.chat.id },
    });
    assert.deepEqual(scoped.body.result, [{ command: "admin", description: "Admin things" }]);
    await api(emu.apiRoot, emu.token, "deleteMyCommands", {
      scope: { type: "chat", chat_id: privateChat.chat.id },
    });
    assert.deepEqual(privateChat.menu(), [{ command: "start", description: "Start" }]);
    const bad = await api(emu.apiRoot, emu.token, "setMyCommands", {
      commands: [{ command: "Bad-One", description: "x" }],
    });
    assert.equal(bad.status, 400);
  });

  it("long-polls getUpdates, confirms by offset, and filters allowed_updates", async () => {
    const own = await emulator();
    const chat = own.chat();
    const waiting = api(own.apiRoot, own.token, "getUpdates", { timeout: 5 });
    await chat.send("first");
    const first = await waiting;
    const updates = first.body.result as Array<{ update_id: number; message: { text: string } }>;
    assert.equal(updates.length, 1);
    assert.equal(updates[0]?.message.text, "first");
    await chat.send("second");
    const again = await api(own.apiRoot, own.token, "getUpdates", {
      offset: (updates[0]?.update_id ?? 0) + 1,
    });
    assert.deepEqual(
      (again.body.result as Array<{ message: { text: string } }>).map((u) => u.message.text),
      ["second"],
    );
    const filtered = await api(own.apiRoot, own.token, "getUpdates", {
      allowed_updates: ["callback_query"],
    });
    assert.deepEqual(filtered.body.result, []);
  });

  it("refuses getUpdates with 409 while a webhook is set", async () => {
    const own = await emulator();
    await api(own.apiRoot, own.token, "setWebhook", { url: "http://127.0.0.1:9/hook" });
    const result = await api(own.apiRoot, own.token, "getUpdates");
    assert.equal(result.status, 409);
    assert.match(
      String(result.body.description),
      /can't use getUpdates method while webhook is active/,
    );
  });
});

describe("emulator state for tools", () => {
  it("keeps a reply keyboard until the bot removes it, and lists every message of a chat", async () => {
    const emu = await emulator();
    await pollingBot(emu, (b) => {
      b.command("colour", (ctx) =>
        ctx.reply("Pick one", Markup.keyboard([["Red", "Blue"]]).oneTime()),
      );
      b.hears("Red", (ctx) => ctx.reply("Red it is", Markup.removeKeyboard()));
    });
    const chat = emu.chat({ firstName: "Ada" });
    const heard: number[] = [];
    emu.events.on("userMessage", (chatId: number) => heard.push(chatId));
    assert.equal(chat.keyboard(), undefined);
    await chat.command("colour");
    await chat.expectReply("Pick one");
    assert.deepEqual(chat.keyboard(), [["Red", "Blue"]]);
    assert.equal(emu.replyKeyboard(chat.chat.id)?.one_time_keyboard, true);
    await chat.send("Red");
    await chat.expectReply("Red it is");
    assert.equal(chat.keyboard(), undefined);
    assert.deepEqual(
      chat
        .events()
        .filter((e) => e.type === "keyboard")
        .map((e) => "keyboard" in e && e.keyboard !== undefined),
      [true, false],
    );
    assert.deepEqual(
      emu.messages(chat.chat.id).map((m) => [m.from?.is_bot, "text" in m ? m.text : ""]),
      [
        [false, "/colour"],
        [true, "Pick one"],
        [false, "Red"],
        [true, "Red it is"],
      ],
    );
    assert.deepEqual(heard, [chat.chat.id, chat.chat.id]);
  });
});
