import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { messageText } from "@kamihi/testing";
import { emulator, transport } from "./helpers.js";

/** The most calls in any window of `span` ms: the rate Telegram would have seen. */
function peak(times: number[], span: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let best = 0;
  let start = 0;
  for (let end = 0; end < sorted.length; end++) {
    while ((sorted[end] as number) - (sorted[start] as number) >= span) start++;
    best = Math.max(best, end - start + 1);
  }
  return best;
}

describe("sending under Telegram's flood limits", () => {
  it("delivers 200 messages to one chat, 300 to 300 chats and 30 to a group: once each, in order, no 429 reaching the caller", async (t) => {
    // Telegram's real limits (1/s per chat) would make this test take minutes; the same
    // pacing is exercised with the limits scaled up, in both the emulator and the transport.
    const limits = { perChatPerSecond: 40, perGroupPerMinute: 600, globalPerSecond: 80 };
    const emu = await emulator({ limits });
    const tg = transport(emu, { limits });
    await tg.start(async () => {});

    const one = emu.chat();
    const many = Array.from({ length: 300 }, () => emu.chat());
    const group = emu.chat({ type: "group" });
    const started = Date.now();
    const sends = [
      ...Array.from({ length: 200 }, (_, i) =>
        tg.send(one.chat.id, { type: "text", text: `one ${i}` }),
      ),
      ...many.map((chat, i) => tg.send(chat.chat.id, { type: "text", text: `many ${i}` })),
      ...Array.from({ length: 30 }, (_, i) =>
        tg.send(group.chat.id, { type: "text", text: `group ${i}` }),
      ),
    ];
    const results = await Promise.allSettled(sends);
    const elapsed = (Date.now() - started) / 1000;

    assert.deepEqual(
      results.filter((r) => r.status === "rejected"),
      [],
      "no send failed",
    );
    assert.deepEqual(
      one.replies().map((m) => messageText(m)),
      Array.from({ length: 200 }, (_, i) => `one ${i}`),
    );
    assert.deepEqual(
      group.replies().map((m) => messageText(m)),
      Array.from({ length: 30 }, (_, i) => `group ${i}`),
    );
    for (const [i, chat] of many.entries()) {
      assert.deepEqual(
        chat.replies().map((m) => messageText(m)),
        [`many ${i}`],
      );
    }

    // When each request reached the emulator (429-refused attempts included).
    const attempts = emu.calls.filter((c) => c.method === "sendMessage");
    const toOne = attempts.filter((c) => Number(c.params.chat_id) === one.chat.id).map((c) => c.at);
    const all = attempts.map((c) => c.at);
    const rejected = emu.flood?.rejected ?? 0;
    t.diagnostic(
      `530 messages in ${elapsed.toFixed(2)} s: ${(530 / elapsed).toFixed(1)}/s overall (limit ${limits.globalPerSecond}/s), ` +
        `peak ${peak(all, 1000)} requests in 1 s overall, peak ${peak(toOne, 1000)} in 1 s to one chat (limit ${limits.perChatPerSecond}/s), ` +
        `429s answered by the emulator and absorbed: ${rejected}`,
    );
    // Pacing, not retrying, does the work: a broken limiter meets hundreds of 429s. A few
    // can happen when a loaded machine delays some requests and bunches others together.
    assert.ok(rejected <= 530 * 0.1, `${rejected} 429s`);
    assert.ok(
      elapsed >= 530 / limits.globalPerSecond - 1,
      "never faster than the global limit allows",
    );
  });

  it("waits out a 429 it did not see coming, then delivers in order", async () => {
    // The emulator is stricter than the transport believes: 429s happen and must be absorbed.
    const emu = await emulator({
      limits: { perChatPerSecond: 5, perGroupPerMinute: 600, globalPerSecond: 100 },
    });
    const tg = transport(emu, {
      limits: { perChatPerSecond: 50, perGroupPerMinute: 600, globalPerSecond: 100 },
    });
    await tg.start(async () => {});
    const chat = emu.chat();
    await Promise.all(
      Array.from({ length: 12 }, (_, i) => tg.send(chat.chat.id, { type: "text", text: `m${i}` })),
    );
    assert.deepEqual(
      chat.replies().map((m) => messageText(m)),
      Array.from({ length: 12 }, (_, i) => `m${i}`),
    );
    assert.ok((emu.flood?.rejected ?? 0) > 0, "the emulator did answer 429");
  });
});
