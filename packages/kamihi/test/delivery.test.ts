import assert from "node:assert/strict";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { describe, it } from "node:test";
import {
  type Collection,
  type Document,
  KamihiError,
  type Store,
  silentLogger,
} from "@kamihi/core";
import { createMemoryStore } from "@kamihi/db";
import {
  createEmulator,
  type Emulator,
  freePort,
  messageText,
  type TestChat,
} from "@kamihi/testing";
import { createTelegrafTransport } from "@kamihi/tg";
import { createBot, type Kamihi } from "../src/index.js";
import { fixture, LogCapture } from "./helpers.js";

const ROOT = fixture("delivery");
const FAST = { perChatPerSecond: 1000, perGroupPerMinute: 1000, globalPerSecond: 1000 };

interface Gate {
  running: number;
  most: number;
  open: Promise<void>;
  release(): void;
}
const global = globalThis as { __kamihiGate?: Gate; __kamihiCounts?: Map<number, number> };

function gate(): Gate {
  let release: () => void = () => {};
  const open = new Promise<void>((resolve) => {
    release = resolve;
  });
  const created: Gate = { running: 0, most: 0, open, release };
  global.__kamihiGate = created;
  return created;
}

/** How often /count ran in a chat, in this process. */
const counted = (chat: TestChat) => global.__kamihiCounts?.get(chat.chat.id) ?? 0;

function bot(emu: Emulator, settings: Record<string, unknown> = {}, store?: Store): Kamihi {
  return createBot().configure({
    logger: silentLogger,
    ...(store === undefined ? {} : { store }),
    settings: {
      token: emu.token,
      tg: { apiRoot: emu.apiRoot },
      db: { url: "memory://" },
      users: { registration: "open" },
      limits: FAST,
      ...settings,
    },
  });
}

/** Resolves once `check()` holds, re-checked on every call, chat change and confirmation. */
function whenever(emu: Emulator, check: () => boolean): Promise<void> {
  const events = ["call", "event", "pending"];
  return new Promise((resolve) => {
    const test = () => {
      if (!check()) return;
      for (const event of events) emu.events.off(event, test);
      resolve();
    };
    for (const event of events) emu.events.on(event, test);
    test();
  });
}

describe("an update delivered twice runs once", { timeout: 60_000 }, () => {
  it("polling: a redelivery after it was handled is recognised and skipped", async () => {
    const emu = await createEmulator();
    const kamihi = bot(emu);
    await kamihi.start({ root: ROOT });
    try {
      const chat = emu.chat();
      await chat.command("count");
      await chat.expectReply("count 1");
      emu.deliverAgain(emu.lastUpdateId);
      await whenever(emu, () => emu.pendingUpdates === 0);
      await chat.command("count", "next");
      await chat.expectReply("count 2 next");
      assert.equal(counted(chat), 2);
      assert.equal(chat.replies().length, 2);
    } finally {
      await kamihi.stop();
      await emu.stop();
    }
  });

  it("webhook: the same update posted again is answered 200 and not run again", async () => {
    const emu = await createEmulator();
    const port = await freePort();
    // Settings insist on https for Telegram; the emulator posts to loopback over http.
    const kamihi = bot(emu).configure({
      transport: createTelegrafTransport({
        token: emu.token,
        apiRoot: emu.apiRoot,
        mode: "webhook",
        webhook: { url: `http://127.0.0.1:${port}/hook`, host: "127.0.0.1", port },
        limits: FAST,
      }),
    });
    await kamihi.start({ root: ROOT });
    try {
      const chat = emu.chat();
      await chat.command("count");
      await chat.expectReply("count 1");
      emu.deliverAgain(emu.lastUpdateId);
      await whenever(emu, () => emu.pendingUpdates === 0);
      await chat.command("count", "next");
      await chat.expectReply("count 2 next");
      assert.equal(counted(chat), 2);
    } finally {
      await kamihi.stop();
      await emu.stop();
    }
  });
});

describe("bounded intake", { timeout: 60_000 }, () => {
  it("handles at most updates.maxInFlight at once, and leaves the rest with Telegram", async () => {
    const emu = await createEmulator();
    const kamihi = bot(emu, { updates: { maxInFlight: 3 } });
    const held = gate();
    await kamihi.start({ root: ROOT });
    try {
      const chats = Array.from({ length: 10 }, () => emu.chat());
      for (const chat of chats) await chat.command("wait");
      await whenever(emu, () => held.running === 3);
      // Three run; the other seven were not confirmed: Telegram still has them.
      assert.ok(emu.pendingUpdates >= 7, `pending: ${emu.pendingUpdates}`);
      held.release();
      for (const chat of chats) await chat.expectReply("waited");
      assert.equal(held.most, 3);
      await whenever(emu, () => emu.pendingUpdates === 0);
    } finally {
      held.release();
      await kamihi.stop();
      await emu.stop();
    }
  });
});

describe("a hung action", { timeout: 60_000 }, () => {
  it("is given up on after actions.timeoutSeconds: the user is told, the chat moves on, stop() is prompt", async () => {
    const emu = await createEmulator();
    const log = new LogCapture();
    const kamihi = bot(emu, { actions: { timeoutSeconds: 1 }, updates: { drainSeconds: 1 } });
    kamihi.configure({ logger: log.logger() });
    await kamihi.start({ root: ROOT });
    try {
      const chat = emu.chat();
      await chat.command("hang");
      await chat.expectReply("Something went wrong. Please try again later.");
      await chat.command("count");
      await chat.expectReply("count 1");
      const [entry] = await log.until((e) => /did not finish within 1s/.test(e.msg));
      assert.equal(entry?.level, "error");
      assert.equal(entry?.fields.action, "hang");
    } finally {
      await kamihi.stop();
      await emu.stop();
    }
  });

  it("does not hold stop() past updates.drainSeconds", async () => {
    const emu = await createEmulator();
    const kamihi = bot(emu, { actions: { timeoutSeconds: 600 }, updates: { drainSeconds: 1 } });
    const log = new LogCapture();
    kamihi.configure({ logger: log.logger() });
    await kamihi.start({ root: ROOT });
    const chat = emu.chat();
    await chat.command("hang");
    await log.until((e) => e.msg === "hanging forever");
    await kamihi.stop();
    const [late] = await log.until((e) => /still in progress at the stop deadline/.test(e.msg));
    assert.equal(late?.fields.updates, 1);
    await emu.stop();
  });
});

/** A store that can be switched off: every operation fails as MongoDB's do during an outage. */
class SwitchableStore implements Store {
  readonly kind = "switchable";
  down = false;
  private readonly inner = createMemoryStore();

  private check(operation: string): void {
    if (this.down) {
      throw new KamihiError("KAMIHI_DB_OPERATION_FAILED", `the store is down (${operation})`);
    }
  }

  connect() {
    return this.inner.connect();
  }
  async ping() {
    this.check("ping");
  }
  close() {
    return this.inner.close();
  }
  raw() {
    return this.inner;
  }
  collection<T extends Document = Document>(name: string): Collection<T> {
    const real = this.inner.collection<T>(name);
    return new Proxy(real, {
      get: (target, key, receiver) => {
        const value = Reflect.get(target, key, receiver);
        if (typeof value !== "function") return value;
        return async (...args: unknown[]) => {
          this.check(`${name}.${String(key)}`);
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
  }
}

describe("a store outage", { timeout: 90_000 }, () => {
  it("answers nobody with an error: known users are served from the cache, the rest once the store is back, each once", async () => {
    const emu = await createEmulator();
    const store = new SwitchableStore();
    const kamihi = bot(emu, { updates: { leaseSeconds: 2 } }, store);
    await kamihi.start({ root: ROOT });
    try {
      // Eleven users the bot knows (cached), eleven it has never seen.
      const known = Array.from({ length: 11 }, () => emu.chat());
      for (const chat of known) {
        await chat.command("count");
        await chat.expectReply("count 1");
      }
      const strangers = Array.from({ length: 11 }, () => emu.chat());
      store.down = true;
      for (const chat of known) await chat.command("count", "during");
      for (const chat of strangers) await chat.command("count", "during");
      // Known users' answers do not need the store.
      for (const chat of known) await chat.expectReply("count 2 during");
      assert.ok(
        emu.pendingUpdates > 0,
        "nothing was confirmed to Telegram while the store was down",
      );
      store.down = false;
      for (const chat of strangers) await chat.expectReply("count 1 during", { timeout: 15_000 });
      await whenever(emu, () => emu.pendingUpdates === 0);
      // Each update ran once, and nobody was told something went wrong.
      for (const chat of known) assert.equal(counted(chat), 2);
      for (const chat of strangers) assert.equal(counted(chat), 1);
      for (const chat of [...known, ...strangers]) {
        assert.ok(!chat.replies().some((m) => /Something went wrong/.test(messageText(m))));
      }
    } finally {
      store.down = false;
      await kamihi.stop();
      await store.close();
      await emu.stop();
    }
  });

  it("an action that needs the store waits for it instead of failing", async () => {
    const emu = await createEmulator();
    const store = new SwitchableStore();
    const kamihi = bot(emu, {}, store);
    await kamihi.start({ root: ROOT });
    try {
      const chat = emu.chat();
      await chat.command("count");
      await chat.expectReply("count 1");
      store.down = true;
      await chat.command("note", "kept");
      await assert.rejects(chat.nextReply({ timeout: 300 }), /No reply/);
      store.down = false;
      await chat.expectReply("noted kept");
      const notes = await store.collection("notes").find({});
      assert.deepEqual(
        notes.map((n) => n.text),
        ["kept"],
      );
    } finally {
      store.down = false;
      await kamihi.stop();
      await store.close();
      await emu.stop();
    }
  });
});

describe("a very long answer", { timeout: 60_000 }, () => {
  it("arrives whole, in order, and never stalls the bot: another chat is answered meanwhile", async () => {
    // What the fixture's /long renders to: its lines, with the Markdown shown as formatting.
    const expected: string[] = [];
    for (let i = 0, length = 0; length < 100_000; i++) {
      const line = `line ${i}: **bold ${i}** and _italic_ text, then \`code ${i}\` and more words`;
      length += line.length + 1;
      expected.push(`line ${i}: bold ${i} and italic text, then code ${i} and more words`);
    }
    const emu = await createEmulator();
    const kamihi = bot(emu);
    await kamihi.start({ root: ROOT });
    const delay = monitorEventLoopDelay({ resolution: 10 });
    try {
      const reader = emu.chat();
      const other = emu.chat();
      delay.enable();
      await reader.command("long");
      await other.command("count");
      await other.expectReply("count 1");
      const shown = () =>
        reader
          .replies()
          .map((m) => messageText(m))
          .join("\n");
      await whenever(emu, () => shown().endsWith(expected.at(-1) ?? ""));
      delay.disable();
      assert.deepEqual(shown().split("\n"), expected);
      const least = Math.ceil(expected.join("\n").length / 4096);
      assert.ok(reader.replies().length >= least, "split over Telegram's 4096-character messages");
      // A stall of seconds (the old converter took minutes on this text) would show here.
      assert.ok(delay.max < 1e9, `the event loop was blocked for ${delay.max / 1e6} ms`);
    } finally {
      await kamihi.stop();
      await emu.stop();
    }
  });
});
