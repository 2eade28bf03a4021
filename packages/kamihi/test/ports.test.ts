/**
 * Every escape hatch, proven: each port (store, transport, templates, users, logger) is swapped
 * for a small fake written here, and a real conversation runs through it — a command answered
 * from a template, a refusal, a question and its answer — with the other pieces the defaults.
 */
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import {
  type Collection,
  type Document,
  escapeMarkdown,
  KamihiError,
  type Store,
  silentLogger,
  type TemplateEngine,
  type TemplateSet,
} from "@kamihi/core";
import { createMemoryStore } from "@kamihi/db";
import { createEmulator, type Emulator, type TestChat } from "@kamihi/testing";
import { createUserService } from "@kamihi/users";
import { createBot } from "../src/index.js";
import { FakeTransport, fakeUsers, type Talk } from "./fakes.js";
import { fixture, LogCapture, testBot } from "./helpers.js";

const ROOT = fixture("ports");
const emulators: Emulator[] = [];
after(async () => {
  for (const emu of emulators) await emu.stop();
});

async function emulator(): Promise<Emulator> {
  const emu = await createEmulator();
  emulators.push(emu);
  return emu;
}

/** The conversation every port test runs: a template, a refusal (or not), a question. */
async function converse(chat: Talk, name: string, admin = false): Promise<void> {
  await chat.send("/greet");
  await chat.expectReply(`Hello ${name}!`);
  await chat.send("/secret");
  await chat.expectReply(admin ? "The secret is 42." : "You are not allowed to do that.");
  await chat.send("/ask");
  await chat.expectReply("Which fruit?");
  await chat.send("pear");
  await chat.expectReply("You like pear.");
}

/** An emulator chat as a {@link Talk}. */
function talk(chat: TestChat): Talk {
  return {
    send: (text) => chat.send(text),
    expectReply: (matcher) => chat.expectReply(matcher),
  };
}

describe("a swapped store", () => {
  /** A store that hands every call to another one, and remembers what it was asked. */
  function recordingStore(inner: Store) {
    const collections = new Set<string>();
    const calls: string[] = [];
    const store: Store = {
      kind: "recording",
      async connect() {
        calls.push("connect");
        await inner.connect();
      },
      async close() {
        calls.push("close");
        await inner.close();
      },
      ping: () => inner.ping(),
      raw: () => inner.raw(),
      collection<T extends Document>(name: string): Collection<T> {
        collections.add(name);
        return inner.collection<T>(name);
      },
    } as Store;
    return { store, collections, calls };
  }

  it("keeps every piece of the bot's data, and is closed only when the bot made it", async () => {
    const emu = await emulator();
    const given = recordingStore(createMemoryStore());
    const bot = testBot(emu).configure({ store: given.store });
    await bot.start({ root: ROOT });
    await converse(talk(emu.chat({ firstName: "Ada" })), "Ada");
    await bot.stop();
    for (const name of ["users", "conversations", "updates", "updates_done", "action_stats"]) {
      assert.ok(given.collections.has(name), `the bot kept ${name} elsewhere`);
    }
    assert.deepEqual(given.calls, ["connect"], "a store given as an instance is its owner's");

    let made: ReturnType<typeof recordingStore> | undefined;
    const factoryBot = testBot(emu).configure({
      store: ({ settings }) => {
        assert.equal(settings.db.url, "memory://", "the factory is given the settings");
        made = recordingStore(createMemoryStore());
        return made.store;
      },
    });
    await factoryBot.start({ root: ROOT });
    await converse(talk(emu.chat({ firstName: "Bo" })), "Bo");
    await factoryBot.stop();
    assert.deepEqual(made?.calls, ["connect", "close"], "a store the bot made is closed by it");
  });
});

describe("a swapped transport", () => {
  it("carries the conversation, knows the bot before the first update, and is stopped", async () => {
    const transport = new FakeTransport();
    const seen: unknown[] = [];
    const bot = createBot().configure({
      logger: silentLogger,
      transport,
      settings: { db: { url: "memory://" }, users: { registration: "open" } },
    });
    bot.action(
      async function whoami({ tg }) {
        seen.push(tg);
        return "checked";
      },
      { public: true },
    );
    await bot.start({ root: ROOT });
    assert.deepEqual(transport.events, ["getMe", "start"]);
    // Addressed to the bot by name on the very first update: the bot knew its name already.
    const chat = transport.chat(5001, "Ada");
    await chat.send("/greet@fakebot");
    await chat.expectReply("Hello Ada!");
    await converse(chat, "Ada");
    await chat.send("/whoami");
    await chat.expectReply("checked");
    assert.deepEqual(
      (seen[0] as { marker: string }).marker,
      "fake context",
      "ctx.tg is its context",
    );
    assert.ok(transport.menus.length > 0, "the command menu was published through it");
    await bot.stop();
    assert.equal(transport.events.at(-1), "stop");
  });

  it("refuses bot.use() middleware when the transport cannot run it", async () => {
    const bot = createBot()
      .configure({
        logger: silentLogger,
        transport: new FakeTransport(),
        settings: { db: { url: "memory://" } },
      })
      .use(async (_ctx, next) => next());
    await assert.rejects(bot.start({ root: ROOT }), (error: unknown) => {
      assert.ok(error instanceof KamihiError);
      assert.equal(error.code, "KAMIHI_BOT_MIDDLEWARE_UNSUPPORTED");
      return true;
    });
  });
});

describe("a swapped template engine", () => {
  /** Templates as strings in memory: `{{key}}` is replaced by the escaped value. */
  function fakeTemplates(): TemplateEngine & { closed: number; folders: string[] } {
    const engine = {
      closed: 0,
      folders: [] as string[],
      forAction(actionDir: string): TemplateSet {
        engine.folders.push(actionDir);
        const files: Record<string, string> = { "greet.md": "Hello {{name}}!" };
        return {
          names: () => Object.keys(files),
          has: (name) => name in files,
          async render(name, data = {}) {
            const source = files[name];
            if (source === undefined) {
              throw new KamihiError("KAMIHI_TEMPLATE_NOT_FOUND", `No template ${name}.`);
            }
            return source.replace(/\{\{(\w+)\}\}/g, (_, key: string) => escapeMarkdown(data[key]));
          },
        };
      },
      async reload() {},
      close() {
        engine.closed++;
      },
    };
    return engine;
  }

  it("renders the action's template with values escaped, and is closed when the bot made it", async () => {
    const emu = await emulator();
    const made = fakeTemplates();
    const bot = testBot(emu).configure({
      templates: ({ root, watch }) => {
        assert.equal(root, ROOT);
        assert.equal(watch, false);
        return made;
      },
    });
    await bot.start({ root: ROOT });
    // Markdown in a name shows as typed: the fake escapes with the shared contract.
    await converse(talk(emu.chat({ firstName: "A*da_[x]" })), "A*da_[x]");
    await bot.stop();
    assert.ok(made.folders.some((folder) => folder.endsWith("greet")));
    assert.equal(made.closed, 1);
  });
});

describe("a swapped user service", () => {
  it("answers who may do what, and users.admins become admins in it", async () => {
    const emu = await emulator();
    const service = fakeUsers();
    const bot = testBot(emu).configure({
      users: ({ settings, store }) => {
        assert.deepEqual(settings.users.admins, [4242]);
        assert.equal(typeof store.collection, "function", "the factory gets the store");
        return service;
      },
      settings: { users: { admins: [4242] } },
    });
    await bot.start({ root: ROOT });
    assert.equal(service.initialised, 1);
    assert.equal(service.users.get(4242)?.isAdmin, true);
    await service.createUser({ telegramId: 5002, firstName: "Ada" });
    await converse(talk(emu.chat({ userId: 5002, firstName: "Ada" })), "Ada");
    await converse(talk(emu.chat({ userId: 4242, firstName: "Admin 4242" })), "Admin 4242", true);
    await service.grant("secret", { users: [5002] });
    const ada = emu.chat({ userId: 5002, firstName: "Ada" });
    await ada.send("/secret");
    await ada.expectReply("The secret is 42.");
    await bot.stop();
  });

  it("makes users.admins admins with the very same createUserService given as an instance", async () => {
    const emu = await emulator();
    const store = createMemoryStore();
    await store.connect();
    const users = createUserService({ store });
    const bot = testBot(emu).configure({ store, users, settings: { users: { admins: [4242] } } });
    await bot.start({ root: ROOT });
    assert.equal((await users.getUser(4242))?.isAdmin, true);
    await converse(talk(emu.chat({ userId: 4242, firstName: "Admin" })), "Admin", true);
    await bot.stop();
    await store.close();
  });
});

describe("a swapped logger", () => {
  it("gets every line, bound to the action, user and chat, and is flushed at stop", async () => {
    const emu = await emulator();
    const capture = new LogCapture();
    let flushed = 0;
    const bot = testBot(emu).configure({
      logger: (settings) => {
        assert.equal(settings.log.level, "info");
        return {
          ...capture.logger(),
          flush: (callback) => {
            flushed++;
            callback?.();
          },
        };
      },
      settings: { users: { admins: [4343] } },
    });
    await bot.start({ root: ROOT });
    await converse(talk(emu.chat({ userId: 4343, firstName: "Root" })), "Root", true);
    await bot.stop();
    const lines = capture.entries;
    const told = lines.find((line) => line.msg === "the secret was told");
    assert.equal(told?.fields.action, "secret");
    assert.equal(told?.fields.userId, 4343);
    assert.ok(lines.some((line) => line.msg === "Kamihi bot started"));
    assert.equal(lines.at(-1)?.msg, "Kamihi bot stopped");
    assert.equal(flushed, 1);
  });
});
