import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isKamihiError, type Logger } from "@kamihi/core";
import { messageText } from "@kamihi/testing";
import { failureError } from "../src/errors.js";
import { editMessage, type Post, sendMessage } from "../src/send.js";
import { emulator, transport } from "./helpers.js";

/** A Post that records every call and refuses entities the first `refusals` times. */
function telegram(refusals: number) {
  const calls: Array<{ method: string; payload: Record<string, unknown> }> = [];
  let left = refusals;
  const post: Post = async <R>(method: string, payload: Record<string, unknown>) => {
    calls.push({ method, payload });
    const formatted =
      payload.entities !== undefined ||
      payload.caption_entities !== undefined ||
      (Array.isArray(payload.media) &&
        payload.media.some((item: { caption_entities?: unknown }) => item.caption_entities));
    if (formatted && left > 0) {
      left--;
      throw failureError("sendMessage", {
        code: 400,
        description: "Bad Request: can't parse entities: Unsupported type specified",
      });
    }
    return { message_id: calls.length } as R;
  };
  return { calls, post };
}

function recordingLogger() {
  const warnings: string[] = [];
  const logger: Logger = {
    trace: () => {},
    debug: () => {},
    info: () => {},
    warn: (_fields: unknown, message?: string) => {
      warnings.push(String(message));
    },
    error: () => {},
    fatal: () => {},
    child: () => logger,
  } as unknown as Logger;
  return { logger, warnings };
}

describe("sending formatted text", () => {
  it("sends Markdown as text and entities, never with a parse mode", async () => {
    const { calls, post } = telegram(0);
    await sendMessage(
      1,
      { type: "text", text: "Hi **there** 1.5!" },
      post,
      recordingLogger().logger,
    );
    assert.deepEqual(calls, [
      {
        method: "sendMessage",
        payload: { text: "Hi there 1.5!", entities: [{ type: "bold", offset: 3, length: 5 }] },
      },
    ]);
  });

  it("sends the same words without entities when Telegram refuses them, and says so", async () => {
    const { calls, post } = telegram(1);
    const { logger, warnings } = recordingLogger();
    const refs = await sendMessage(
      7,
      {
        type: "text",
        text: "**bold** words",
        replyMarkup: { inlineKeyboard: [[{ text: "OK", callbackData: "ok" }]] },
      },
      post,
      logger,
    );
    assert.equal(refs.length, 1);
    assert.equal(calls.length, 2);
    assert.deepEqual(calls[1]?.payload, {
      text: "bold words",
      reply_markup: { inline_keyboard: [[{ text: "OK", callback_data: "ok" }]] },
    });
    assert.equal(warnings.length, 1);
    assert.match(warnings[0] ?? "", /refused the entities of sendMessage; sent as plain text/);
  });

  it("falls back for captions and albums too, and never for MarkdownV2 or other errors", async () => {
    const file = { data: new Uint8Array([1]), fileName: "p.png" };
    const photo = telegram(1);
    await sendMessage(
      1,
      { type: "photo", file, caption: "a *photo*" },
      photo.post,
      recordingLogger().logger,
    );
    assert.equal(photo.calls.length, 2);
    assert.equal(photo.calls[1]?.payload.caption, "a photo");
    assert.equal(photo.calls[1]?.payload.caption_entities, undefined);

    const album = telegram(1);
    await sendMessage(
      1,
      {
        type: "mediaGroup",
        items: [
          { type: "photo", file, caption: "**one**" },
          { type: "photo", file },
        ],
      },
      album.post,
      recordingLogger().logger,
    );
    assert.equal(album.calls.length, 2);
    assert.deepEqual(
      (
        (album.calls[1]?.payload.media ?? []) as Array<{
          caption?: string;
          caption_entities?: unknown;
        }>
      ).map((item) => [item.caption, item.caption_entities]),
      [
        ["one", undefined],
        [undefined, undefined],
      ],
    );

    const v2 = telegram(0);
    const failing: Post = async (method, payload) => {
      v2.calls.push({ method, payload });
      throw failureError("sendMessage", {
        code: 400,
        description: "Bad Request: can't parse entities: Character '.' is reserved",
      });
    };
    await assert.rejects(
      sendMessage(
        1,
        { type: "text", text: "1.5", format: "MarkdownV2" },
        failing,
        recordingLogger().logger,
      ),
      (err: unknown) => isKamihiError(err, "KAMIHI_TG_REQUEST_FAILED"),
    );
    assert.equal(v2.calls.length, 1, "the author's MarkdownV2 is not second-guessed");
  });

  it("edits with entities, and without them if Telegram refuses", async () => {
    const { calls, post } = telegram(1);
    await editMessage({ chatId: 1, messageId: 5 }, { type: "text", text: "now **bold**" }, post);
    assert.deepEqual(
      calls.map((c) => [c.method, c.payload.text, c.payload.entities]),
      [
        ["editMessageText", "now bold", [{ type: "bold", offset: 4, length: 4 }]],
        ["editMessageText", "now bold", undefined],
      ],
    );
  });
});

describe("formatted text through the emulator", () => {
  it("refuses Markdown that shows nothing, as Telegram refuses an empty text", async () => {
    const emu = await emulator();
    const tg = transport(emu);
    await tg.start(async () => {});
    const chat = emu.chat();
    await assert.rejects(
      tg.send(chat.chat.id, { type: "text", text: "```\n```" }),
      (err: unknown) =>
        isKamihiError(err, "KAMIHI_TG_REQUEST_FAILED") && /message text is empty/.test(err.message),
    );
    await tg.send(chat.chat.id, { type: "text", text: "> **quoted** and `code`\n\n~~gone~~" });
    const reply = await chat.nextReply();
    assert.equal(messageText(reply), "quoted and code\n\ngone");
    assert.deepEqual((reply as { entities?: unknown }).entities, [
      { type: "blockquote", offset: 0, length: 15 },
      { type: "bold", offset: 0, length: 6 },
      { type: "code", offset: 11, length: 4 },
      { type: "strikethrough", offset: 17, length: 4 },
    ]);
  });
});
