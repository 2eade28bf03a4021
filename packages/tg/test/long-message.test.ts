import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { messageText } from "@kamihi/testing";
import type { MessageEntity } from "telegraf/types";
import { markdownToEntities } from "../src/index.js";
import { emulator, transport } from "./helpers.js";
import { longAnswer } from "./long-answer.js";

describe("a 100,000-character Markdown answer", () => {
  it("arrives complete, in order, formatted, in messages Telegram accepts", async () => {
    const emu = await emulator();
    const fast = { perChatPerSecond: 10_000, perGroupPerMinute: 10_000, globalPerSecond: 10_000 };
    const tg = transport(emu, { limits: fast });
    await tg.start(async () => {});
    const chat = emu.chat();
    const markdown = longAnswer(100_000);
    const expected = markdownToEntities(markdown);

    const refs = await tg.send(chat.chat.id, { type: "text", text: markdown });
    const replies = chat.replies();
    assert.ok(replies.length > 20, `${replies.length} messages`);
    assert.equal(replies.length, refs.length);
    assert.equal(
      emu.calls.filter((c) => c.method === "sendMessage").length,
      replies.length,
      "no message was refused and sent again without formatting",
    );

    // Each message is the next piece of the rendering; only whitespace lies between them.
    let position = 0;
    const masks = new Map<string, Uint8Array>();
    const mask = (type: string) => {
      let found = masks.get(type);
      if (found === undefined) {
        found = new Uint8Array(expected.text.length);
        masks.set(type, found);
      }
      return found;
    };
    const shown = new Uint8Array(expected.text.length);
    for (const reply of replies) {
      const text = messageText(reply);
      assert.ok(text.length <= 4096);
      const at = expected.text.indexOf(text, position);
      assert.ok(
        at >= position,
        `the message starting ${JSON.stringify(text.slice(0, 40))} is next`,
      );
      assert.equal(
        expected.text.slice(position, at).trim(),
        "",
        "nothing skipped between messages",
      );
      shown.fill(1, at, at + text.length);
      for (const entity of (reply as { entities?: MessageEntity[] }).entities ?? []) {
        mask(entity.type).fill(1, at + entity.offset, at + entity.offset + entity.length);
      }
      position = at + text.length;
    }
    assert.equal(expected.text.slice(position).trim(), "", "nothing missing at the end");

    // Every character shown carries exactly the formatting of the whole rendering.
    const types = new Set([...expected.entities.map((e) => e.type), ...masks.keys()]);
    for (const type of types) {
      const want = new Uint8Array(expected.text.length);
      for (const entity of expected.entities) {
        if (entity.type === type) want.fill(1, entity.offset, entity.offset + entity.length);
      }
      const got = mask(type);
      for (let i = 0; i < want.length; i++) {
        if (shown[i] === 1 && want[i] !== got[i]) {
          assert.fail(`${type} at ${i}: ${JSON.stringify(expected.text.slice(i - 20, i + 20))}`);
        }
      }
    }
    const languages = replies.flatMap((m) =>
      ((m as { entities?: MessageEntity[] }).entities ?? []).flatMap((e) =>
        e.type === "pre" ? [e.language] : [],
      ),
    );
    assert.ok(languages.length > 100 && languages.every((language) => language === "ts"));
  });
});
