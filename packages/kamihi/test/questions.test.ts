import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { createMemoryStore } from "@kamihi/db";
import { createEmulator, messageText, type TestChat } from "@kamihi/testing";
import { createBot, type Kamihi, q } from "../src/index.js";
import { fixture, LogCapture, startBot, testBot } from "./helpers.js";

/** Replies as plain texts, newest last. */
const texts = (chat: TestChat) => chat.replies().map(messageText);

/** A user of the bot with the `order` permission. */
async function customer(bot: Kamihi, chat: TestChat) {
  await bot.users.createUser({ telegramId: chat.user.id, firstName: chat.user.first_name });
  await bot.users.grant("order", { users: [chat.user.id] });
}

describe("questions", async () => {
  const log = new LogCapture();
  const { bot, emu } = await startBot("access", (b) =>
    b.configure({ logger: log.logger(), settings: { users: { registration: "closed" } } }),
  );

  it("asks each question, explains a wrong answer and asks again, then runs with typed answers", async () => {
    const chat = emu.chat();
    await customer(bot, chat);
    await chat.command("order", "for the office");
    const ask = await chat.expectReply("Which fruit?");
    const buttons = (
      ask as { reply_markup?: { inline_keyboard: { text: string }[][] } }
    ).reply_markup?.inline_keyboard
      .flat()
      .map((b) => b.text);
    assert.deepEqual(buttons, ["apple", "pear", "plum"]);
    await chat.press("pear");
    await chat.expectReply("How many?");
    await chat.send("a dozen");
    await chat.expectReply("Please send a whole number.");
    await chat.expectReply("How many?");
    await chat.send("20");
    await chat.expectReply("Please send a whole number from 1 to 10.");
    await chat.expectReply("How many?");
    await chat.send(" 3 ");
    await chat.expectReply("For which day?");
    await chat.send("31/02/2026");
    await chat.expectReply("Please send a date such as 2026-11-24 or 24/11/2026.");
    await chat.expectReply("For which day?");
    await chat.send("24/11/2026");
    await chat.expectReply("Any note?");
    await chat.send("buy spam too");
    await chat.expectReply("No spam, please.");
    await chat.expectReply("Any note?");
    await chat.send("ring twice");
    await chat.expectReply("Is it a gift?");
    await chat.send("YES");
    // The bot's timezone is UTC (the default): the day starts at midnight UTC.
    await chat.expectReply(
      'Order (for the office): 3 × pear on 2026-11-24T00:00:00.000Z, note "ring twice", gift yes.',
    );
    await chat.send("and now?");
    await chat.expectReply(/^Sorry, I don't know what to do with that/);
  });

  it("typing a choice works as pressing it, and /cancel drops the conversation", async () => {
    const chat = emu.chat();
    await customer(bot, chat);
    await chat.command("order");
    await chat.expectReply("Which fruit?");
    await chat.send("Plum");
    await chat.expectReply("How many?");
    await chat.command("cancel");
    await chat.expectReply("Cancelled.");
    await chat.send("4");
    await chat.expectReply(/^Sorry, I don't know what to do with that/);
    await chat.command("cancel");
    await chat.expectReply("There is nothing to cancel.");
    // A button of the dropped conversation does nothing.
    const stale = await chat.press("apple");
    assert.equal(stale.text, "This question is not yours, or it was already answered.");
  });

  it("a new command replaces an unanswered question", async () => {
    const chat = emu.chat();
    await customer(bot, chat);
    await chat.command("order");
    await chat.expectReply("Which fruit?");
    await chat.command("start");
    await chat.expectReply(`Hello ${chat.user.first_name}!`);
    await chat.send("apple");
    await chat.expectReply(/^Sorry, I don't know what to do with that/);
  });

  it("authorizes every reply: access taken away mid-conversation stops it", async () => {
    const chat = emu.chat();
    await customer(bot, chat);
    await chat.command("order");
    await chat.expectReply("Which fruit?");
    await chat.send("apple");
    await chat.expectReply("How many?");
    await bot.users.revoke("order", { users: [chat.user.id] });
    await chat.send("2");
    await chat.expectReply("You are not allowed to do that.");
    const [refusal] = await log.until(
      (e) => e.fields.userId === chat.user.id && e.msg === "the action order was refused",
    );
    assert.equal(refusal?.fields.outcome, "known");
    await chat.send("3");
    await chat.expectReply(/^Sorry, I don't know what to do with that/);
  });

  it("authorizes choice buttons too", async () => {
    const chat = emu.chat();
    await customer(bot, chat);
    await chat.command("order");
    await chat.expectReply("Which fruit?");
    await bot.users.revoke("order", { users: [chat.user.id] });
    await chat.press("plum");
    await chat.expectReply("You are not allowed to do that.");
    assert.ok(!texts(chat).includes("How many?"));
  });

  it("in a group, answers only come from the member who was asked", async () => {
    const alice = emu.chat({ type: "group", firstName: "Alice" });
    const bob = alice.member({ firstName: "Bob" });
    await customer(bot, alice);
    await customer(bot, bob);
    await alice.command("order");
    await alice.expectReply("Which fruit?");
    const answer = await bob.press("apple");
    assert.equal(answer.text, "This question is not yours, or it was already answered.");
    await bob.send("pear");
    await alice.press("plum");
    await alice.expectReply("How many?");
    assert.deepEqual(texts(alice), ["Which fruit?", "How many?"], "Bob's chatter was ignored");
  });

  it("takes photos and files, checks their type and size, and downloads them", async () => {
    const chat = emu.chat();
    await chat.command("avatar");
    await chat.expectReply("Send a photo.");
    await chat.send("here it is");
    await chat.expectReply("Please send a photo.");
    await chat.expectReply("Send a photo.");
    await chat.upload({ data: Buffer.alloc(300, 1), as: "photo" });
    await chat.expectReply("Now a PDF of at most 1 KB.");
    await chat.upload({
      data: Buffer.alloc(2048),
      fileName: "big.pdf",
      mimeType: "application/pdf",
    });
    await chat.expectReply("That file is too big; please send one of at most 1 KB.");
    await chat.expectReply("Now a PDF of at most 1 KB.");
    await chat.upload({ data: "hello", fileName: "notes.txt", mimeType: "text/plain" });
    await chat.expectReply("Please send a file of type application/pdf.");
    await chat.expectReply("Now a PDF of at most 1 KB.");
    await chat.upload({ data: Buffer.alloc(512), fileName: "cv.pdf", mimeType: "application/pdf" });
    await chat.expectReply(
      "Picture of 300 bytes (photo); document cv.pdf (application/pdf, 512 bytes).",
    );
  });
});

describe("conversations live in the store", () => {
  const store = createMemoryStore();
  after(() => store.close());

  it("another bot on the same store continues where the user was", async () => {
    const emu = await createEmulator();
    const first = testBot(emu).configure({ store });
    await first.start({ root: fixture("access") });
    const chat = emu.chat();
    await first.users.createUser({ telegramId: chat.user.id, firstName: "Ann", isAdmin: true });
    await chat.command("order");
    await chat.expectReply("Which fruit?");
    await chat.press("apple");
    await chat.expectReply("How many?");
    await first.stop();

    const second = testBot(emu).configure({ store });
    await second.start({ root: fixture("access") });
    try {
      for (const reply of ["5", "2026-01-02", "none"]) {
        await chat.send(reply);
        await chat.nextReply();
      }
      await chat.send("no");
      await chat.expectReply('Order: 5 × apple on 2026-01-02T00:00:00.000Z, note "none", gift no.');
    } finally {
      await second.stop();
      await emu.stop();
    }
  });

  it("an unanswered question expires after questions.timeoutSeconds", async () => {
    const emu = await createEmulator();
    let now = Date.now();
    const bot = testBot(emu).configure({
      store,
      clock: () => now,
      settings: { questions: { timeoutSeconds: 1 }, timezone: "Europe/Madrid" },
    });
    await bot.start({ root: fixture("access") });
    try {
      const chat = emu.chat();
      await bot.users.createUser({ telegramId: chat.user.id, firstName: "Ben", isAdmin: true });
      await chat.command("order");
      await chat.expectReply("Which fruit?");
      await chat.send("pear");
      await chat.expectReply("How many?");
      await chat.send("1");
      await chat.expectReply("For which day?");
      await chat.send("2026-06-01");
      await chat.expectReply("Any note?");
      // The question expires once the bot's clock passes its time limit.
      now += 1100;
      await chat.send("late note");
      await chat.expectReply("That question expired. Send /order to start again.");
      await chat.send("hello");
      await chat.expectReply(/^Sorry, I don't know what to do with that/);
    } finally {
      await bot.stop();
      await emu.stop();
    }
  });
});

describe("question declarations", () => {
  it("types the answers from the questions", () => {
    const bot = createBot();
    bot.action(
      async function typed({ answers }) {
        const name: string = answers.name;
        const age: number = answers.age;
        const color: "red" | "blue" = answers.color;
        // @ts-expect-error: no such question
        void answers.missing;
        return `${name} ${age} ${color}`;
      },
      {
        questions: {
          name: q.string("Name?"),
          age: q.integer("Age?"),
          color: q.choice("Colour?", ["red", "blue"]),
        },
      },
    );
    assert.deepEqual(
      bot.actions.get("typed")?.questions.map((x) => [x.name, x.type, x.prompt]),
      [
        ["name", "string", "Name?"],
        ["age", "integer", "Age?"],
        ["color", "choice", "Colour?"],
      ],
    );
  });

  it("refuses what is not a question, with a message that says how to build one", () => {
    const bot = createBot();
    assert.throws(
      () =>
        bot.action(async function bad() {}, {
          questions: { name: "What is your name?" as never },
        }),
      /The question "name" is not a question; build it with q/,
    );
    assert.throws(() => q.string(""), /needs a prompt/);
    assert.throws(() => q.choice("Pick", [] as never), /needs a list of non-empty texts/);
    assert.throws(
      () => bot.action(async function dotted() {}, { questions: { "a.b": q.string("?") } }),
      /cannot be used/,
    );
  });

  it("parses numbers, booleans, times and dates the way people write them", async () => {
    const parse = <T>(
      question: { parse: (r: { text?: string }, zone: string) => Promise<T> },
      text: string,
      zone = "UTC",
    ) => question.parse({ text }, zone);
    assert.deepEqual(await parse(q.number("n?"), "2,5"), { value: 2.5 });
    assert.deepEqual(await parse(q.number("n?", { max: 2 }), "2.5"), {
      error: "Please send a number of at most 2.",
    });
    assert.deepEqual(await parse(q.integer("n?"), "1e3"), { error: "Please send a whole number." });
    assert.deepEqual(await parse(q.boolean("b?"), "n"), { value: false });
    assert.deepEqual(await parse(q.boolean("b?"), "perhaps"), {
      error: "Please answer Yes or No.",
    });
    assert.deepEqual(await parse(q.time("t?"), "2:05 pm"), { value: "14:05" });
    assert.deepEqual(await parse(q.time("t?"), "25:00"), {
      error: "Please send a time such as 14:30 or 2:30 pm.",
    });
    const madrid = (await parse(q.datetime("d?"), "2026-07-01 09:30", "Europe/Madrid")) as {
      value: Date;
    };
    assert.equal(madrid.value.toISOString(), "2026-07-01T07:30:00.000Z");
    assert.deepEqual(await parse(q.string("s?", { maxLength: 3 }), "four"), {
      error: "Please send at most 3 characters.",
    });
    assert.deepEqual(await parse(q.string("s?"), "   "), {
      error: "Please answer with a message.",
    });
  });
});
