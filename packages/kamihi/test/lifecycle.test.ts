import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { isKamihiError, type Logger } from "@kamihi/core";
import { createEmulator, messageText } from "@kamihi/testing";
import { pino } from "pino";
import { md } from "../src/index.js";
import { fixture, startBot, testBot } from "./helpers.js";

async function fresh(name: string) {
  const emu = await createEmulator();
  return { emu, bot: testBot(emu), root: fixture(name) };
}

describe("lifecycle", () => {
  it("restarts cleanly: the same actions, no duplicate errors", async () => {
    const { emu, bot, root } = await fresh("shared");
    await bot.start({ root });
    await bot.stop();
    await bot.start({ root });
    const chat = emu.chat();
    await chat.command("get");
    await chat.expectReply(/^n=0 /);
    await bot.stop();
    await emu.stop();
  });

  it("refuses a second start while the first runs, and a stop during start wins", async () => {
    const { emu, bot, root } = await fresh("shared");
    const first = bot.start({ root });
    await assert.rejects(bot.start({ root }), (err: unknown) =>
      isKamihiError(err, "KAMIHI_BOT_RUNNING"),
    );
    await bot.stop();
    await first;
    const chat = emu.chat();
    await chat.command("get");
    await assert.rejects(chat.nextReply({ timeout: 300 }), /No reply/);
    await emu.stop();
  });

  it("has written out its log when stop() resolves (pino buffers its output)", async () => {
    const { emu, bot, root } = await fresh("shared");
    const dir = mkdtempSync(join(tmpdir(), "kamihi-log-"));
    const file = join(dir, "bot.log");
    // pino's default stdout stream is asynchronous too; a file shows the same buffering.
    const destination = pino.destination({ dest: file, sync: false, minLength: 4096 });
    bot.configure({ logger: pino({ level: "info" }, destination) as unknown as Logger });
    try {
      await bot.start({ root });
      await bot.stop();
      const last = readFileSync(file, "utf8").trim().split("\n").at(-1) ?? "";
      assert.match(last, /"msg":"Kamihi bot stopped"/);
    } finally {
      destination.end();
      rmSync(dir, { recursive: true, force: true });
      await emu.stop();
    }
  });

  it("gives the action files of one bot a single instance of what they share", async () => {
    const { emu, bot, root } = await fresh("shared");
    await bot.start({ root });
    const chat = emu.chat();
    await chat.command("inc");
    const inc = messageText(await chat.nextReply());
    await chat.command("get");
    const get = messageText(await chat.nextReply());
    assert.match(inc, /^n=1 /);
    assert.equal(get, inc);
    await bot.stop();
    await emu.stop();
  });
});

describe("middleware never reorders a chat", async () => {
  const { emu } = await startBot("basic", (b) =>
    b.use(async (ctx, next) => {
      // Delay every other update: order must still hold within the chat.
      if (ctx.update.update_id % 2 === 1) await new Promise((resolve) => setTimeout(resolve, 50));
      await next();
    }),
  );

  it("answers in the order the user wrote", async () => {
    const chat = emu.chat();
    for (let i = 1; i <= 6; i++) await chat.command("stamp", String(i));
    const replies: string[] = [];
    for (let i = 1; i <= 6; i++) replies.push(messageText(await chat.nextReply({ timeout: 3000 })));
    assert.deepEqual(replies, ["stamp 1", "stamp 2", "stamp 3", "stamp 4", "stamp 5", "stamp 6"]);
  });
});

describe("the menu within Telegram's limits", () => {
  it("publishes at most 100 commands and never an empty description", async () => {
    const { emu, bot } = await fresh("basic");
    for (let i = 0; i < 120; i++)
      bot.action(async () => "x", {
        name: `cmd${i}`,
        description: i === 0 ? "" : "x".repeat(300),
        public: true,
      });
    await bot.start({ root: fixture("basic") });
    const menu = emu.chat().menu();
    assert.equal(menu.length, 100);
    assert.equal(menu.at(-1)?.command, "help");
    assert.ok(menu.every((c) => c.description.length >= 1 && c.description.length <= 256));
    assert.equal(menu.find((c) => c.command === "cmd0")?.description, "cmd0");
    await bot.stop();
    await emu.stop();
  });
});

describe("md", () => {
  it("escapes every interpolated value", () => {
    assert.equal(md`Hello **${"[x](http://evil)"}**`, "Hello **\\[x\\]\\(http\\:\\/\\/evil\\)**");
    assert.equal(md`${1.5} and ${null}`, "1\\.5 and ");
  });
});
