import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Update } from "../src/index.js";
import { summarizeUpdate } from "../src/index.js";

const from = { id: 42, is_bot: false, first_name: "Ada" };
const privateChat = { id: 42, type: "private" as const, first_name: "Ada" };
const group = { id: -100123, type: "supergroup" as const, title: "Team" };

describe("summarizeUpdate", () => {
  it("reads chat, sender and text of a message", () => {
    const update = {
      update_id: 1,
      message: { message_id: 5, date: 1, chat: privateChat, from, text: "/start hi" },
    } as Update;
    const s = summarizeUpdate(update);
    assert.equal(s.updateId, 1);
    assert.equal(s.kind, "message");
    assert.equal(s.chat?.id, 42);
    assert.equal(s.from?.id, 42);
    assert.equal(s.text, "/start hi");
    assert.equal(s.message?.message_id, 5);
  });

  it("reads the caption of a media message and edited messages", () => {
    const update = {
      update_id: 2,
      edited_message: {
        message_id: 6,
        date: 1,
        edit_date: 2,
        chat: group,
        from,
        photo: [],
        caption: "look",
      },
    } as unknown as Update;
    const s = summarizeUpdate(update);
    assert.equal(s.kind, "edited_message");
    assert.equal(s.chat?.id, -100123);
    assert.equal(s.text, "look");
  });

  it("reads callback data and the chat of the pressed message", () => {
    const update = {
      update_id: 3,
      callback_query: {
        id: "cb1",
        from,
        chat_instance: "x",
        data: "page:2",
        message: { message_id: 7, date: 1, chat: group, text: "list" },
      },
    } as Update;
    const s = summarizeUpdate(update);
    assert.equal(s.kind, "callback_query");
    assert.equal(s.callbackData, "page:2");
    assert.equal(s.chat?.id, -100123);
    assert.equal(s.from?.id, 42);
    assert.equal(s.message?.message_id, 7);
  });

  it("keeps the chat but not the message of an inaccessible callback message", () => {
    const update = {
      update_id: 4,
      callback_query: {
        id: "cb2",
        from,
        chat_instance: "x",
        data: "x",
        message: { message_id: 8, date: 0, chat: group },
      },
    } as unknown as Update;
    const s = summarizeUpdate(update);
    assert.equal(s.chat?.id, -100123);
    assert.equal(s.message, undefined);
  });

  it("handles updates without a chat", () => {
    const update = {
      update_id: 5,
      inline_query: { id: "q", from, query: "cats", offset: "" },
    } as Update;
    const s = summarizeUpdate(update);
    assert.equal(s.kind, "inline_query");
    assert.equal(s.chat, undefined);
    assert.equal(s.text, "cats");
    assert.equal(summarizeUpdate({ update_id: 6 } as Update).kind, "other");
  });
});
