import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Logger, Update } from "@kamihi/core";
import { messageText } from "@kamihi/testing";
import { emulator, transport } from "./helpers.js";

/** A logger that keeps every line, and lets a test wait for one. */
function capture() {
  const lines: Array<{ level: string; msg: string; fields: Record<string, unknown> }> = [];
  const waiters = new Set<() => void>();
  const write =
    (level: string) =>
    (first: unknown, second?: unknown): void => {
      const msg = typeof first === "string" ? first : typeof second === "string" ? second : "";
      const fields = typeof first === "object" && first !== null ? (first as never) : {};
      lines.push({ level, msg, fields });
      for (const wake of waiters) wake();
    };
  const logger: Logger = {
    trace: write("trace"),
    debug: write("debug"),
    info: write("info"),
    warn: write("warn"),
    error: write("error"),
    fatal: write("fatal"),
    child: () => logger,
  };
  const until = (test: (msg: string, level: string) => boolean) =>
    new Promise<void>((resolve) => {
      const check = () => {
        if (lines.some((line) => test(line.msg, line.level))) {
          waiters.delete(check);
          resolve();
        }
      };
      waiters.add(check);
      check();
    });
  return { lines, logger, until };
}

/** Resolves once `check()` holds, re-checked on every emulator event. */
function eventually(emu: { events: NodeJS.EventEmitter }, check: () => boolean): Promise<void> {
  return new Promise((resolve) => {
    const test = () => {
      if (!check()) return;
      emu.events.off("call", test);
      emu.events.off("event", test);
      resolve();
    };
    emu.events.on("call", test);
    emu.events.on("event", test);
    test();
  });
}

describe("polling confirms only what is safe", { timeout: 60_000 }, () => {
  it("an update the receiver could not take in stays with Telegram and comes again", async () => {
    const emu = await emulator();
    const tg = transport(emu, { pollTimeoutSeconds: 1 });
    const seen: number[] = [];
    let refuse = true;
    await tg.start(async (update) => {
      seen.push(update.update_id);
      if (refuse) {
        refuse = false;
        throw new Error("the store is down");
      }
    });
    const chat = emu.chat();
    await chat.send("hello");
    await eventually(emu, () => seen.length >= 2);
    const id = emu.lastUpdateId;
    assert.deepEqual(seen.slice(0, 2), [id, id], "refused, then delivered again");
    await eventually(emu, () => emu.pendingUpdates === 0);
    await tg.stop();
  });

  it("a batch taken in is confirmed, and not fetched again after a restart", async () => {
    const emu = await emulator();
    const chat = emu.chat();
    for (let i = 0; i < 5; i++) await chat.send(`m${i}`);
    const first = transport(emu, { pollTimeoutSeconds: 1 });
    const got: number[] = [];
    await first.start(async (update) => {
      got.push(update.update_id);
    });
    await eventually(emu, () => got.length === 5);
    await first.stop();
    // stop() confirms the last offset, so nothing is waiting any more.
    assert.equal(emu.pendingUpdates, 0);
    const second = transport(emu, { pollTimeoutSeconds: 1 });
    const again: Update[] = [];
    await second.start(async (update) => {
      again.push(update);
    });
    await chat.send("new");
    await eventually(emu, () => again.length > 0);
    assert.deepEqual(
      again.map((u) => (u as { message?: { text?: string } }).message?.text),
      ["new"],
    );
    await second.stop();
  });

  it("waits for the receiver before fetching more: a burst is taken as fast as it is handled", async () => {
    const emu = await emulator();
    const tg = transport(emu, { pollTimeoutSeconds: 1 });
    const chats = Array.from({ length: 30 }, () => emu.chat());
    for (const chat of chats) await chat.send("burst");
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let taken = 0;
    let allTaken: () => void = () => {};
    const thirty = new Promise<void>((resolve) => {
      allTaken = resolve;
    });
    await tg.start(async () => {
      if (++taken === 30) allTaken();
      await gate;
    });
    await thirty;
    // Nothing is confirmed while the receiver holds the batch.
    assert.equal(emu.pendingUpdates, 30);
    release();
    await eventually(emu, () => emu.pendingUpdates === 0);
    await tg.stop();
  });
});

describe("another instance with the same token", { timeout: 60_000 }, () => {
  it("warns, keeps retrying, and receives again once the other one stops", async () => {
    const emu = await emulator();
    const log = capture();
    const first = transport(emu, { logger: log.logger, pollTimeoutSeconds: 1 });
    const second = transport(emu, { pollTimeoutSeconds: 1 });
    const firstGot: string[] = [];
    await first.start(async (update) => {
      firstGot.push((update as { message?: { text?: string } }).message?.text ?? "");
    });
    await second.start(async () => {});
    await log.until(
      (msg, level) => level === "warn" && /another instance is receiving updates/.test(msg),
    );
    await second.stop();
    await log.until((msg) => /receiving updates again/.test(msg));
    await emu.chat().send("after the other one left");
    await eventually(emu, () => firstGot.includes("after the other one left"));
    await first.stop();
  });
});

describe("a revoked token", { timeout: 60_000 }, () => {
  it("stops polling and reports the fatal error once", async () => {
    const emu = await emulator();
    const tg = transport(emu, { pollTimeoutSeconds: 1 });
    const fatal: Error[] = [];
    let reported: () => void = () => {};
    const once = new Promise<void>((resolve) => {
      reported = resolve;
    });
    await tg.start(async () => {}, {
      onFatal: (error) => {
        fatal.push(error);
        reported();
      },
    });
    emu.revoke();
    await once;
    assert.equal(fatal.length, 1);
    assert.equal((fatal[0] as { code?: string }).code, "KAMIHI_TG_UNAUTHORIZED");
    await tg.stop();
  });
});

describe("Telegram's flood control", { timeout: 60_000 }, () => {
  it("holds every chat when one gets a 429, and delivers every message however many 429s come", async (t) => {
    // Telegram allows 3 messages a second here; the transport is configured for 60, so it runs
    // into 429s over and over and must wait them out rather than give up.
    const emu = await emulator({ limits: { globalPerSecond: 3 } });
    const log = capture();
    const tg = transport(emu, {
      logger: log.logger,
      limits: { perChatPerSecond: 60, perGroupPerMinute: 600, globalPerSecond: 60 },
    });
    await tg.start(async () => {});
    const chats = Array.from({ length: 60 }, () => emu.chat());
    const results = await Promise.allSettled(
      chats.map((chat, i) => tg.send(chat.chat.id, { type: "text", text: `answer ${i}` })),
    );
    assert.deepEqual(
      results.filter((r) => r.status === "rejected"),
      [],
      "no send failed",
    );
    const delivered = chats.filter((chat, i) =>
      chat.replies().some((m) => messageText(m) === `answer ${i}`),
    );
    assert.equal(delivered.length, 60);
    assert.ok((emu.flood?.rejected ?? 0) > 0, "the test provoked 429s");
    t.diagnostic(`60 of 60 delivered through ${emu.flood?.rejected} answers of 429`);
    assert.ok(
      log.lines.some((l) => l.level === "warn" && /every chat waits/.test(l.msg)),
      "the flood is logged",
    );
    await tg.stop();
  });
});
