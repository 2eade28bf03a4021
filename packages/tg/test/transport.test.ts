import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isKamihiError, type Update } from "@kamihi/core";
import { messageText } from "@kamihi/testing";
import type { Context } from "telegraf";
import type { MessageEntity } from "telegraf/types";
import { emulator, freePort, transport } from "./helpers.js";
import { meaningOf, meaningShown } from "./html-oracle.js";
import { seededRandom } from "./seeded-random.js";

describe("the Telegraf transport, polling the emulator", async () => {
  const emu = await emulator();
  const tg = transport(emu);
  const received: Array<{ update: Update; raw: unknown }> = [];
  await tg.start(async (update, context) => {
    received.push({ update, raw: context.raw });
    const message = (update as { message?: { chat: { id: number }; text?: string } }).message;
    if (message?.text === "/hello")
      await tg.send(message.chat.id, { type: "text", text: "Hello, *friend*!" });
  });

  it("receives updates with Telegraf's context as the escape hatch, and replies", async () => {
    const chat = emu.chat({ firstName: "Ada" });
    await chat.command("hello");
    const reply = await chat.nextReply();
    assert.equal(messageText(reply), "Hello, friend!");
    assert.deepEqual((reply as { entities?: unknown }).entities, [
      { type: "italic", offset: 7, length: 6 },
    ]);
    const last = received.at(-1);
    assert.ok(last);
    assert.equal((last.update as { message: { text: string } }).message.text, "/hello");
    assert.equal((last.raw as Context).from?.first_name, "Ada");
    assert.equal((await tg.getMe()).username, "kamihi_test_bot");
  });

  it("sends user-provided text safely as Markdown, plain text as is", async () => {
    const chat = emu.chat();
    const nasty = "Price: 1.5€ (50% off!) *not closed _ [x] ~ | # + - = { } > < C:\\dir\\";
    await tg.send(chat.chat.id, { type: "text", text: nasty });
    const shown = await chat.nextReply();
    assert.equal(messageText(shown), nasty);
    assert.equal((shown as { entities?: unknown }).entities, undefined);
    await tg.send(chat.chat.id, { type: "text", text: "**bold** text", format: "plain" });
    assert.equal(messageText(await chat.nextReply()), "**bold** text");
  });

  it("reports malformed MarkdownV2 as a typed error naming Telegram's reason", async () => {
    const chat = emu.chat();
    await assert.rejects(
      tg.send(chat.chat.id, { type: "text", text: "Version 1.0!", format: "MarkdownV2" }),
      (err: unknown) => {
        assert.ok(isKamihiError(err, "KAMIHI_TG_REQUEST_FAILED"));
        assert.match(
          err.message,
          /sendMessage with 400: Bad Request: can't parse entities: Character '\.' is reserved/,
        );
        assert.ok(!err.message.includes(emu.token));
        return true;
      },
    );
  });

  it("splits an over-long message into several, in order, keyboard under the last", async () => {
    const chat = emu.chat();
    const text = Array.from(
      { length: 9 },
      (_, i) => `Part ${i}: ${"lorem ipsum ".repeat(60)}`,
    ).join("\n\n");
    const refs = await tg.send(chat.chat.id, {
      type: "text",
      text,
      replyMarkup: { inlineKeyboard: [[{ text: "OK", callbackData: "ok" }]] },
    });
    assert.ok(refs.length >= 2);
    const replies = chat.replies();
    assert.equal(replies.length, refs.length);
    assert.ok(replies.every((m) => messageText(m).length <= 4096));
    assert.ok(messageText(replies[0] as never).startsWith("Part 0:"));
    assert.equal((replies.at(-1) as { reply_markup?: unknown }).reply_markup !== undefined, true);
    assert.equal((replies[0] as { reply_markup?: unknown }).reply_markup, undefined);
  });

  it("never interleaves the parts of two long messages sent at once to one chat", async () => {
    const chat = emu.chat();
    const long = (tag: string) =>
      Array.from({ length: 3 }, (_, i) => `${tag}${i} ${"filler ".repeat(560)}`).join("\n\n");
    await Promise.all([
      tg.send(chat.chat.id, { type: "text", text: long("A") }),
      tg.send(chat.chat.id, { type: "text", text: long("B") }),
    ]);
    assert.deepEqual(
      chat.replies().map((m) => messageText(m).slice(0, 2)),
      ["A0", "A1", "A2", "B0", "B1", "B2"],
    );
  });

  it("edits the caption of a media message", async () => {
    const chat = emu.chat();
    const [ref] = await tg.send(chat.chat.id, {
      type: "photo",
      file: { data: new Uint8Array([1]), fileName: "p.png" },
      caption: "old",
    });
    assert.ok(ref);
    await tg.edit(ref, { type: "text", text: "new **caption**" });
    const edited = emu.message(chat.chat.id, ref.messageId);
    assert.equal(messageText(edited as never), "new caption");
    assert.deepEqual((edited as { caption_entities?: unknown }).caption_entities, [
      { type: "bold", offset: 4, length: 7 },
    ]);
  });

  it("edits, deletes and answers callback queries", async () => {
    const chat = emu.chat();
    const [ref] = await tg.send(chat.chat.id, {
      type: "text",
      text: "Choose",
      replyMarkup: {
        inlineKeyboard: [
          [
            { text: "A", callbackData: "a" },
            { text: "Site", url: "https://e.x" },
          ],
        ],
      },
    });
    assert.ok(ref);
    const pressed = chat.press("A");
    const update = await new Promise<Update>((resolve) => {
      const check = setInterval(() => {
        const found = received.find(
          (r) =>
            "callback_query" in r.update &&
            (r.update.callback_query as { data?: string }).data === "a",
        );
        if (found) {
          clearInterval(check);
          resolve(found.update);
        }
      }, 5);
    });
    await tg.answerCallback((update as { callback_query: { id: string } }).callback_query.id, {
      text: "Got it",
    });
    assert.deepEqual(await pressed, { text: "Got it", showAlert: false });
    await tg.edit(ref, { type: "text", text: "Chosen: **A**" });
    await tg.edit(ref, { type: "text", text: "Chosen: **A**" }); // not modified: no error
    assert.equal(messageText(emu.message(chat.chat.id, ref.messageId) as never), "Chosen: A");
    await tg.delete(ref);
    await tg.delete(ref); // already gone: no error
    assert.equal(emu.message(chat.chat.id, ref.messageId), undefined);
  });

  it("sends media of every type with captions, albums and locations", async () => {
    const chat = emu.chat();
    const data = new Uint8Array([1, 2, 3]);
    for (const type of ["photo", "document", "video", "audio", "voice", "animation"] as const) {
      await tg.send(chat.chat.id, {
        type,
        file: { data, fileName: `f.${type}` },
        caption: `a *${type}*`,
      });
      const reply = await chat.nextReply();
      assert.ok(type in reply, type);
      assert.equal(messageText(reply), `a ${type}`);
      assert.deepEqual((reply as { caption_entities?: unknown }).caption_entities, [
        { type: "italic", offset: 2, length: type.length },
      ]);
    }
    const stored = emu.storeFile(Buffer.from("again"), "document", "again.txt");
    await tg.send(chat.chat.id, { type: "document", file: { fileId: stored.fileId } });
    assert.equal(
      ((await chat.nextReply()) as { document: { file_id: string } }).document.file_id,
      stored.fileId,
    );
    const album = await tg.send(chat.chat.id, {
      type: "mediaGroup",
      items: [
        { type: "photo", file: { data, fileName: "1.png" }, caption: "first" },
        { type: "photo", file: { data, fileName: "2.png" } },
      ],
    });
    assert.equal(album.length, 2);
    await tg.send(chat.chat.id, { type: "location", latitude: 48.85, longitude: 2.35 });
    const replies = chat.replies();
    assert.deepEqual((replies.at(-1) as { location: unknown }).location, {
      latitude: 48.85,
      longitude: 2.35,
    });
    const long = await tg.send(chat.chat.id, {
      type: "photo",
      file: { data, fileName: "p.png" },
      caption: "c".repeat(1500),
    });
    assert.equal(long.length, 2, "an over-long caption follows as text");
  });

  it("downloads files users send", async () => {
    const chat = emu.chat();
    const sent = await chat.upload({ data: "report contents", fileName: "report.txt" });
    const file = await tg.downloadFile(
      (sent as { document: { file_id: string } }).document.file_id,
    );
    assert.equal(Buffer.from(file.data).toString(), "report contents");
    assert.equal(file.size, 15);
  });

  it("says a file over the Bot API's 20 MB is unavailable, rather than a failed request", async () => {
    const chat = emu.chat();
    const sent = await chat.upload({
      data: Buffer.alloc(20 * 1024 * 1024 + 1),
      fileName: "big.bin",
    });
    await assert.rejects(
      tg.downloadFile((sent as { document: { file_id: string } }).document.file_id),
      (err: unknown) =>
        isKamihiError(err, "KAMIHI_TG_FILE_UNAVAILABLE") && /20 MB/.test(err.message),
    );
  });

  it("publishes command menus by scope", async () => {
    const chat = emu.chat();
    await tg.setCommands([{ command: "start", description: "Start" }]);
    await tg.setCommands([{ command: "admin", description: "Admin" }], {
      type: "chat",
      chatId: chat.chat.id,
    });
    assert.deepEqual(chat.menu(), [{ command: "admin", description: "Admin" }]);
    await tg.setCommands([], { type: "chat", chatId: chat.chat.id });
    assert.deepEqual(chat.menu(), [{ command: "start", description: "Start" }]);
  });

  it("types the failures the runtime acts on", async () => {
    const chat = emu.chat();
    chat.block();
    await assert.rejects(tg.send(chat.chat.id, { type: "text", text: "hi" }), (err: unknown) =>
      isKamihiError(err, "KAMIHI_TG_BLOCKED"),
    );
    await assert.rejects(tg.send(987654, { type: "text", text: "hi" }), (err: unknown) =>
      isKamihiError(err, "KAMIHI_TG_CHAT_NOT_FOUND"),
    );
  });

  it("retries 5xx answers, but never re-sends after a dropped connection", async () => {
    const chat = emu.chat();
    emu.inject({ method: "sendMessage", kind: "error", times: 2 });
    await tg.send(chat.chat.id, { type: "text", text: "after two 500s" });
    assert.equal(messageText(await chat.nextReply()), "after two 500s");
    emu.inject({ method: "sendMessage", kind: "drop", times: 1 });
    await assert.rejects(
      tg.send(chat.chat.id, { type: "text", text: "maybe lost" }),
      (err: unknown) => isKamihiError(err, "KAMIHI_TG_REQUEST_FAILED"),
    );
    emu.inject({ method: "deleteMessage", kind: "drop", times: 1 });
    const [ref] = await tg.send(chat.chat.id, { type: "text", text: "to delete" });
    await tg.delete(ref as never);
    assert.equal(
      chat.replies().some((m) => messageText(m) === "to delete"),
      false,
    );
  });
});

describe("user text never breaks a message", () => {
  it("delivers 300 generated Markdown texts showing what they mean, none refused", async () => {
    const emu = await emulator();
    const fast = { perChatPerSecond: 10_000, perGroupPerMinute: 10_000, globalPerSecond: 10_000 };
    const tg = transport(emu, { limits: fast });
    await tg.start(async () => {});
    const pieces = [
      "\\",
      "\\\\",
      "*",
      "_",
      "__",
      "~",
      "`",
      "```",
      "[",
      "]",
      "(",
      ")",
      ">",
      ">>",
      "#",
      "-",
      "|",
      "{",
      ".",
      "!",
      "\n",
      "\n\n",
      " ",
      "word",
      "1.5",
      "😀",
      "**b**",
      "[l](http://x.y/)",
      // Telegram's own markers, lists, HTML and links that must stay text.
      "~~",
      "||",
      "++",
      "- ",
      "1. ",
      "<b>",
      "&amp;",
      "[j](javascript:x)",
      "![i](https://e.x/i.png)",
      "    ",
    ];
    const next = seededRandom(7);
    const chat = emu.chat();
    for (let i = 0; i < 300; i++) {
      const body = Array.from(
        { length: 1 + Math.floor(next() * 10) },
        () => pieces[Math.floor(next() * pieces.length)],
      ).join("");
      const text = `${i}: ${body}`;
      const before = chat.replies().length;
      const refs = await tg.send(chat.chat.id, { type: "text", text });
      assert.ok(refs.length > 0, body);
      const delivered = chat.replies().slice(before);
      assert.equal(delivered.length, refs.length, body);
      // The meaning, worked out from markdown-it's HTML rendering, not from the entities.
      const meant = meaningOf(text);
      const shown = meaningShown(
        delivered.map((m) => ({
          text: messageText(m),
          entities: (m as { entities?: MessageEntity[] }).entities ?? [],
        })),
      );
      assert.equal(
        shown.text,
        meant.text,
        `every character, and no markup, of ${JSON.stringify(text)}`,
      );
      assert.deepEqual(shown.covered, meant.covered, `the formatting of ${JSON.stringify(text)}`);
    }
    assert.deepEqual(
      chat
        .replies()
        .map((m) => messageText(m))
        .filter((text) => !/^\d+:/.test(text)),
      [],
    );
    // Text and entities are never refused: no text went out twice, as plain text.
    const sent = emu.calls.filter((c) => c.method === "sendMessage");
    assert.equal(sent.length, chat.replies().length);
    assert.ok(sent.some((c) => c.params.entities !== undefined));
  });
});

describe("lifecycle", () => {
  it("stops at once when stopped right after starting, and restarts with the new handler", async () => {
    const emu = await emulator();
    const tg = transport(emu);
    await tg.start(async () => {});
    await tg.stop();
    const seen = new Promise<string>((resolve) => {
      void tg.start(async (update) => {
        resolve((update as { message?: { text?: string } }).message?.text ?? "");
      });
    });
    const chat = emu.chat();
    await chat.send("to the second handler");
    assert.equal(await seen, "to the second handler");
  });

  it("can start again after a failed start", async () => {
    const emu = await emulator();
    emu.inject({ method: "getMe", kind: "error", times: 1 });
    const tg = transport(emu, { retries: 0 });
    await assert.rejects(
      tg.start(async () => {}),
      (err: unknown) => isKamihiError(err, "KAMIHI_TG_REQUEST_FAILED"),
    );
    await tg.start(async () => {});
    assert.equal((await tg.getMe()).username, "kamihi_test_bot");
  });

  it("never writes the token into a log line", async () => {
    const emu = await emulator();
    const lines: string[] = [];
    const refused = (l: string) => l.includes("could not be taken in safely");
    let sawRefusal: () => void = () => {};
    const refusal = new Promise<void>((resolve) => {
      sawRefusal = resolve;
    });
    const record = (...args: unknown[]) => {
      const line = JSON.stringify(args, (_k, v) =>
        v instanceof Error ? { message: v.message, stack: v.stack, cause: String(v.cause) } : v,
      );
      lines.push(line);
      if (refused(line)) sawRefusal();
    };
    const logger = {
      trace: record,
      debug: record,
      info: record,
      warn: record,
      error: record,
      fatal: record,
      child: () => logger,
    };
    const tg = transport(emu, { logger });
    await tg.start(async () => {
      // A handler failure whose error carries the request URL (as node-fetch's do).
      throw new Error(`request to ${emu.apiRoot}/bot${emu.token}/sendMessage failed`);
    });
    emu.inject({ method: "sendMessage", kind: "error", times: 1 });
    const chat = emu.chat();
    await chat.send("boom");
    await tg.send(chat.chat.id, { type: "text", text: "after a retry" });
    await refusal;
    assert.ok(lines.some((l) => l.includes("retrying sendMessage")));
    assert.ok(!lines.some((l) => l.includes(emu.token)), "no log line holds the token");
  });

  it("stops polling cleanly: later messages are not handled", async () => {
    const emu = await emulator();
    const tg = transport(emu);
    const seen: number[] = [];
    let handled: () => void = () => {};
    const first = new Promise<void>((resolve) => {
      handled = resolve;
    });
    await tg.start(async (update) => {
      seen.push(update.update_id);
      handled();
    });
    const chat = emu.chat();
    await chat.send("before");
    await first;
    await tg.stop();
    await chat.send("after");
    // A stopped transport has no request waiting: the update stays at Telegram until the next
    // start takes it (a poll still running would have taken it first, for the old handler).
    const next = new Promise<string>((resolve) => {
      void tg.start(async (update) => {
        resolve((update as { message?: { text?: string } }).message?.text ?? "");
      });
    });
    assert.equal(await next, "after");
    assert.equal(seen.length, 1);
    await tg.stop();
  });
});

describe("start-up failures", () => {
  it("takes a 404 (no Bot API at that path) as a token it does not know", async () => {
    const emu = await emulator();
    const tg = transport(emu, { apiRoot: `${emu.apiRoot}/not-a-bot-api/` });
    await assert.rejects(tg.getMe(), (err: unknown) => {
      assert.ok(isKamihiError(err, "KAMIHI_TG_UNAUTHORIZED"));
      assert.match(err.message, /does not know the bot token.*tg\.apiRoot/);
      return true;
    });
  });

  it("refuses a token the Bot API does not know, with a typed error and no token in it", async () => {
    const emu = await emulator();
    const tg = transport(emu, { token: "1:not-the-right-token" });
    await assert.rejects(
      tg.start(async () => {}),
      (err: unknown) => {
        assert.ok(isKamihiError(err, "KAMIHI_TG_UNAUTHORIZED"));
        assert.ok(!err.message.includes("not-the-right-token"));
        return true;
      },
    );
  });
});

describe("the Telegraf transport by webhook", () => {
  it("registers the webhook, handles pushed updates, and refuses a wrong secret with 401", async () => {
    const emu = await emulator();
    const port = await freePort();
    const tg = transport(emu, {
      mode: "webhook",
      webhook: {
        url: `http://127.0.0.1:${port}/tg/hook`,
        host: "127.0.0.1",
        port,
        secretToken: "hook-secret",
      },
    });
    const handled: number[] = [];
    await tg.start(async (update) => {
      handled.push(update.update_id);
      const message = (update as { message?: { chat: { id: number }; text?: string } }).message;
      if (message) await tg.send(message.chat.id, { type: "text", text: `got ${message.text}` });
    });
    assert.equal(emu.webhookInfo()?.url, `http://127.0.0.1:${port}/tg/hook`);
    assert.equal(emu.webhookInfo()?.secretToken, "hook-secret");

    const chat = emu.chat();
    await chat.send("one");
    await chat.send("two");
    await chat.expectReply("got one");
    await chat.expectReply("got two");

    const before = handled.length;
    const garbage = await fetch(`http://127.0.0.1:${port}/tg/hook`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{ not json",
    });
    assert.equal(garbage.status, 401, "the secret is checked before the body is read");
    for (const secret of ["wrong", undefined]) {
      const response = await fetch(`http://127.0.0.1:${port}/tg/hook`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          ...(secret ? { "x-telegram-bot-api-secret-token": secret } : {}),
        },
        body: JSON.stringify({
          update_id: 999,
          message: { message_id: 1, date: 0, chat: chat.chat, text: "forged" },
        }),
      });
      assert.equal(response.status, 401);
    }
    assert.equal(handled.length, before, "a forged update is never processed");
    assert.equal(
      chat.replies().some((m) => messageText(m) === "got forged"),
      false,
    );
  });

  it("derives a stable secret from the token when none is configured", async () => {
    const emu = await emulator();
    const port = await freePort();
    const tg = transport(emu, {
      mode: "webhook",
      webhook: { url: `http://127.0.0.1:${port}/hook`, host: "127.0.0.1", port },
    });
    await tg.start(async () => {});
    const secret = emu.webhookInfo()?.secretToken ?? "";
    assert.match(secret, /^[A-Za-z0-9_-]{43}$/);
    assert.ok(!secret.includes(emu.token.split(":")[1] ?? "x"));
  });

  it("says which port is taken", async () => {
    const emu = await emulator();
    const port = await freePort();
    const first = transport(emu, {
      mode: "webhook",
      webhook: { url: `http://127.0.0.1:${port}/a`, host: "127.0.0.1", port },
    });
    await first.start(async () => {});
    const second = transport(emu, {
      mode: "webhook",
      webhook: { url: `http://127.0.0.1:${port}/b`, host: "127.0.0.1", port },
    });
    await assert.rejects(
      second.start(async () => {}),
      (err: unknown) => {
        assert.ok(isKamihiError(err, "KAMIHI_TG_WEBHOOK_UNAVAILABLE"));
        assert.match(
          err.message,
          new RegExp(`could not listen on 127\\.0\\.0\\.1:${port}.*tg\\.webhook\\.port`),
        );
        return true;
      },
    );
  });
});
