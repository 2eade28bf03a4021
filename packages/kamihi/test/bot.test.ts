import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isKamihiError } from "@kamihi/core";
import { messageText } from "@kamihi/testing";
import { createBot, parseCommand } from "../src/index.js";
import { fixture, startBot } from "./helpers.js";

describe("a bot discovered from its actions folder", async () => {
  const { bot, emu } = await startBot("basic");

  it("finds nested action files in a stable order, skipping test files", () => {
    assert.deepEqual(
      bot.actions.list().map((a) => [a.name, a.source]),
      [
        ["many", "actions/misc/responses.ts"],
        ["nothing", "actions/misc/responses.ts"],
        ["boom", "actions/misc/responses.ts"],
        ["early", "actions/misc/responses.ts"],
        ["where", "actions/misc/responses.ts"],
        ["odd", "actions/misc/responses.ts"],
        ["slow", "actions/misc/responses.ts"],
        ["stamp", "actions/misc/responses.ts"],
        ["echo", "actions/nested/deep/echo.ts"],
        ["start", "actions/start/start.ts"],
      ],
    );
    assert.deepEqual(bot.actions.byCommand("say")?.name, "echo");
  });

  it("publishes the commands and descriptions as the bot's menu, /help last", () => {
    const menu = emu.chat().menu();
    assert.deepEqual(menu.at(0), { command: "many", description: "Several messages" });
    assert.deepEqual(
      menu.filter((c) => ["echo", "say", "start", "help"].includes(c.command)),
      [
        { command: "echo", description: "Repeat what you say" },
        { command: "say", description: "Repeat what you say" },
        { command: "start", description: "Say hello" },
        { command: "help", description: "List what I can do" },
      ],
    );
  });

  it("renders the action's template with shared partials, escaping user data", async () => {
    const hostile = "*Ada_[x](y)~`z`\\*";
    const chat = emu.chat({ firstName: hostile });
    await chat.command("start");
    const reply = await chat.nextReply();
    assert.equal(messageText(reply), `Hello ${hostile}! — your bot`);
    assert.deepEqual(
      ((reply as { entities?: Array<{ type: string }> }).entities ?? []).map((e) => e.type),
      ["bold", "italic"],
    );
  });

  it("passes the text after the command as args, for every command of the action", async () => {
    const chat = emu.chat();
    await chat.command("echo", "  hello there ");
    await chat.expectReply("hello there");
    await chat.command("say");
    await chat.expectReply("Nothing to echo.");
    await chat.send("/echo@kamihi_test_bot addressed");
    await chat.expectReply("addressed");
  });

  it("sends every kind of response", async () => {
    const chat = emu.chat();
    await chat.command("many");
    assert.deepEqual(
      [await chat.nextReply(), await chat.nextReply(), await chat.nextReply()].map((m) =>
        messageText(m),
      ),
      ["first", "second", "third"],
    );
    await chat.command("early");
    await chat.expectReply("working on it…");
    await chat.expectReply("done");
    await chat.command("where");
    assert.deepEqual(((await chat.nextReply()) as { location: unknown }).location, {
      latitude: 41.39,
      longitude: 2.16,
    });
    await chat.command("nothing");
    await chat.command("stamp", "after nothing");
    await chat.expectReply("stamp after nothing", { timeout: 2000 });
  });

  it("isolates a failing action: the user gets the error message, the next update is served", async () => {
    const chat = emu.chat();
    await chat.command("boom");
    await chat.expectReply(bot.settings.responses.errorMessage);
    await chat.command("odd");
    await chat.expectReply(bot.settings.responses.errorMessage);
    await chat.command("stamp", "still alive");
    await chat.expectReply("stamp still alive");
  });

  it("lists the actions in /help", async () => {
    const chat = emu.chat();
    await chat.command("help");
    const help = messageText(await chat.nextReply());
    assert.match(help, /^Here is what I can do:/);
    assert.match(help, /\/echo — Repeat what you say/);
    assert.match(help, /\/start — Say hello/);
  });

  it("answers unknown commands and plain text with the default message in private chats", async () => {
    const chat = emu.chat();
    await chat.command("fly");
    await chat.expectReply(bot.settings.responses.defaultMessage);
    await chat.send("just chatting");
    await chat.expectReply(bot.settings.responses.defaultMessage);
    const group = emu.chat({ type: "group" });
    await group.send("chatter among people");
    await group.command("fly");
    await group.command("stamp", "in the group");
    await group.expectReply("stamp in the group", { timeout: 2000 });
    await group.send("/stamp@someone_else_bot not for us");
    await group.command("stamp", "again");
    await group.expectReply("stamp again", { timeout: 2000 });
  });

  it("keeps one chat's updates in order and never lets a slow chat hold up another (measured)", async () => {
    const slowChat = emu.chat();
    const fastChat = emu.chat();
    const started = Date.now();
    await slowChat.command("slow", "1500");
    await slowChat.command("stamp", "after slow");
    await fastChat.command("stamp", "fast");
    const fast = await fastChat.expectReply("stamp fast");
    const fastAt = Date.now() - started;
    const slowRepliesMeanwhile = slowChat.replies().length;
    await slowChat.expectReply("slow done", { timeout: 5000 });
    const slowAt = Date.now() - started;
    await slowChat.expectReply("stamp after slow", { timeout: 5000 });
    assert.ok(fast);
    assert.equal(
      slowRepliesMeanwhile,
      0,
      "the fast chat was answered while the slow one still waited",
    );
    // The fast chat's answer came while the slow action was still sleeping its 1500 ms.
    assert.ok(fastAt < 1500, `fast chat answered after ${fastAt} ms`);
    assert.ok(slowAt >= 1500, `slow chat answered after ${slowAt} ms`);
  });
});

describe("default message off", async () => {
  const { emu } = await startBot("basic", (b) =>
    b.configure({ settings: { responses: { defaultEnabled: false } } }),
  );

  it("stays silent on unknown commands and plain text", async () => {
    const chat = emu.chat();
    await chat.command("fly");
    await chat.send("just chatting");
    await chat.command("stamp", "only this");
    await chat.expectReply("stamp only this", { timeout: 2000 });
    assert.equal(chat.replies().length, 1);
  });
});

describe("raw middleware", async () => {
  const seen: number[] = [];
  const { emu } = await startBot("basic", (b) =>
    b.use(async (ctx, next) => {
      seen.push(ctx.update.update_id);
      await next();
    }),
  );

  it("runs before Kamihi handles the update", async () => {
    const chat = emu.chat();
    await chat.command("stamp", "through middleware");
    await chat.expectReply("stamp through middleware");
    assert.equal(seen.length, 1);
  });
});

describe("mistakes fail at start, naming the files", () => {
  it("refuses a duplicate command, naming both sources", async () => {
    await assert.rejects(startBot("dup-a"), (err: unknown) => {
      assert.ok(isKamihiError(err, "KAMIHI_ACTION_DUPLICATE_COMMAND"), String(err));
      assert.match(
        err.message,
        /\/hello is declared twice: by "hello" in actions\/one\/one\.ts and by "greet" in actions\/two\/two\.ts/,
      );
      return true;
    });
  });

  it("refuses a command Telegram would reject, naming the file", async () => {
    await assert.rejects(startBot("badname"), (err: unknown) => {
      assert.ok(isKamihiError(err, "KAMIHI_ACTION_INVALID_COMMAND"));
      assert.match(
        err.message,
        /"sayHello" in actions\/x\/x\.ts has an invalid command: "sayHello" has upper-case letters; Telegram commands are lower case: "sayhello"/,
      );
      return true;
    });
  });

  it("refuses taking /help, and anonymous handlers", () => {
    const bot = createBot();
    assert.throws(
      () => bot.action(async function help() {}),
      (err: unknown) => isKamihiError(err, "KAMIHI_ACTION_DUPLICATE_COMMAND"),
    );
    assert.throws(() => bot.action(async () => "x"), /has no name/);
  });

  it("says what to do without a token", async () => {
    const bot = createBot();
    bot.configure({ settings: { db: { url: "memory://" } } });
    await assert.rejects(
      bot.start({ root: fixture("empty-project-that-does-not-exist"), discover: false }),
      /token: the bot token is not set; get one from @BotFather/,
    );
  });
});

describe("typed context", () => {
  it("infers the handler's parameter types", () => {
    const bot = createBot();
    bot.action(async function typed({ user, args, chat, settings }) {
      const id: number = user.telegramId;
      const text: string = args;
      const chatId: number = chat.id;
      const port: number = settings.web.port;
      return `${id} ${text} ${chatId} ${port}`;
    });
    assert.equal(bot.actions.get("typed")?.commands[0], "typed");
  });
});

describe("parseCommand", () => {
  it("reads commands the way Telegram writes them", () => {
    assert.deepEqual(parseCommand("/start"), { name: "start", args: "" });
    assert.deepEqual(parseCommand("/Echo@MyBot  a  b "), {
      name: "echo",
      bot: "MyBot",
      args: "a  b",
    });
    assert.deepEqual(parseCommand("/say\nline two"), { name: "say", args: "line two" });
    assert.equal(parseCommand("hello /start"), undefined);
    assert.equal(parseCommand(undefined), undefined);
  });
});
