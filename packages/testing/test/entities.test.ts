import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Input, Telegram } from "telegraf";
import type { MessageEntity } from "telegraf/types";
import { messageText } from "../src/index.js";
import { parseEntities } from "../src/markup.js";
import { emulator } from "./helpers.js";

const photo = () => Input.fromBuffer(Buffer.from([0x89, 0x50, 0x4e, 0x47]), "p.png");

/** Asserts a call is refused as Telegram refuses bad formatting. */
async function refused(call: Promise<unknown>, reason: RegExp) {
  await assert.rejects(call, (error: Error) => {
    assert.match(error.message, /^400: Bad Request: can't parse entities: /);
    assert.match(error.message, reason);
    return true;
  });
}

describe("entities sent with a text, through a real Telegraf client", async () => {
  const emu = await emulator();
  const telegram = new Telegram(emu.token, { apiRoot: emu.apiRoot });

  it("stores the text and its entities on the message, for chats and the playground", async () => {
    const chat = emu.chat();
    const entities: MessageEntity[] = [
      { type: "bold", offset: 0, length: 5 },
      { type: "italic", offset: 2, length: 3 },
      { type: "text_link", offset: 6, length: 4, url: "https://e.x/a" },
      { type: "pre", offset: 11, length: 4, language: "ts" },
      { type: "custom_emoji", offset: 16, length: 2, custom_emoji_id: "5368324170671202286" },
    ];
    const sent = await telegram.sendMessage(chat.chat.id, "Hello link code 👍", { entities });
    const reply = await chat.nextReply();
    assert.equal(reply.message_id, sent.message_id);
    assert.equal(messageText(reply), "Hello link code 👍");
    assert.deepEqual((reply as { entities?: MessageEntity[] }).entities, entities);
    assert.deepEqual(sent.entities, entities, "the answer carries them too");
  });

  it("counts offsets and lengths in UTF-16 code units", async () => {
    const chat = emu.chat();
    // "👋 hi": the hand is two UTF-16 units, so "hi" is at 3 and the text is 5 long.
    await telegram.sendMessage(chat.chat.id, "👋 hi", {
      entities: [{ type: "bold", offset: 3, length: 2 }],
    });
    const reply = await chat.nextReply();
    assert.deepEqual((reply as { entities?: unknown }).entities, [
      { type: "bold", offset: 3, length: 2 },
    ]);
    await refused(
      telegram.sendMessage(chat.chat.id, "👋 hi", {
        entities: [{ type: "bold", offset: 3, length: 3 }],
      }),
      /ends past the text, which is 5 UTF-16 code units long/,
    );
  });

  it("refuses entities Telegram refuses, with a 400 naming the entity", async () => {
    const chat = emu.chat();
    const bad: Array<[unknown, RegExp]> = [
      [[{ type: "blink", offset: 0, length: 1 }], /unsupported type "blink"/],
      [[{ type: "bold", offset: -1, length: 1 }], /offset must be a non-negative Integer/],
      [[{ type: "bold", offset: 0, length: 0 }], /length must be a positive Integer/],
      [[{ type: "bold", offset: 1.5, length: 1 }], /offset must be a non-negative Integer/],
      [[{ type: "italic", offset: 2, length: 9 }], /ends past the text/],
      [[{ type: "text_link", offset: 0, length: 1 }], /"url" must be a non-empty String/],
      [[{ type: "text_link", offset: 0, length: 1, url: "javascript:alert(1)" }], /protocol/],
      [[{ type: "text_link", offset: 0, length: 1, url: "http://localhost/" }], /wrong HTTP URL/],
      [[{ type: "pre", offset: 0, length: 1, language: 42 }], /"language" must be a String/],
      [[{ type: "custom_emoji", offset: 0, length: 1 }], /custom emoji identifier/],
      [[{ type: "text_mention", offset: 0, length: 1 }], /"user" must be a User/],
      [["bold"], /entity 0 must be an Object/],
      [[{ offset: 0, length: 1 }], /"type" must be a String/],
      [{ type: "bold" }, /entities must be an Array/],
    ];
    for (const [entities, reason] of bad) {
      await refused(
        telegram.sendMessage(chat.chat.id, "hello", { entities: entities as MessageEntity[] }),
        reason,
      );
    }
    assert.equal(chat.replies().length, 0, "nothing refused was stored");
  });

  it("ignores the entities Telegram finds by itself, and entities when parse_mode is set", async () => {
    const chat = emu.chat();
    await telegram.sendMessage(chat.chat.id, "see https://e.x now", {
      entities: [
        { type: "url", offset: 4, length: 11 },
        { type: "bold", offset: 0, length: 3 },
      ],
    });
    assert.deepEqual(((await chat.nextReply()) as { entities?: unknown }).entities, [
      { type: "bold", offset: 0, length: 3 },
    ]);
    await telegram.sendMessage(chat.chat.id, "*parsed*", {
      parse_mode: "MarkdownV2",
      entities: [{ type: "italic", offset: 0, length: 99 }],
    });
    const parsed = await chat.nextReply();
    assert.equal(messageText(parsed), "parsed");
    assert.deepEqual((parsed as { entities?: unknown }).entities, [
      { type: "bold", offset: 0, length: 6 },
    ]);
  });

  it("takes caption entities on media, albums and caption edits, and entities on text edits", async () => {
    const chat = emu.chat();
    const bold = [{ type: "bold" as const, offset: 0, length: 4 }];
    const sent = await telegram.sendPhoto(chat.chat.id, photo(), {
      caption: "nice shot",
      caption_entities: bold,
    });
    assert.deepEqual(
      ((await chat.nextReply()) as { caption_entities?: unknown }).caption_entities,
      bold,
    );
    await refused(
      telegram.sendPhoto(chat.chat.id, photo(), {
        caption: "nice",
        caption_entities: [{ type: "bold", offset: 0, length: 5 }],
      }),
      /ends past the text/,
    );

    const album = await telegram.sendMediaGroup(chat.chat.id, [
      {
        type: "photo",
        media: photo(),
        caption: "first",
        caption_entities: [{ type: "italic", offset: 0, length: 5 }],
      },
      { type: "photo", media: photo() },
    ]);
    assert.deepEqual(
      album.map((m) => (m as { caption_entities?: unknown }).caption_entities),
      [[{ type: "italic", offset: 0, length: 5 }], undefined],
    );
    await refused(
      telegram.sendMediaGroup(chat.chat.id, [
        {
          type: "photo",
          media: photo(),
          caption: "x",
          caption_entities: [{ type: "nope", offset: 0, length: 1 }] as never,
        },
        { type: "photo", media: photo() },
      ]),
      /unsupported type "nope"/,
    );

    await telegram.editMessageCaption(chat.chat.id, sent.message_id, undefined, "edited caption", {
      caption_entities: [{ type: "underline", offset: 7, length: 7 }],
    });
    assert.deepEqual(
      (emu.message(chat.chat.id, sent.message_id) as { caption_entities?: unknown })
        .caption_entities,
      [{ type: "underline", offset: 7, length: 7 }],
    );

    const text = await telegram.sendMessage(chat.chat.id, "plain");
    await telegram.editMessageText(chat.chat.id, text.message_id, undefined, "now spoiled", {
      entities: [{ type: "spoiler", offset: 4, length: 7 }],
    });
    const edited = emu.message(chat.chat.id, text.message_id);
    assert.equal(messageText(edited as never), "now spoiled");
    assert.deepEqual((edited as { entities?: unknown }).entities, [
      { type: "spoiler", offset: 4, length: 7 },
    ]);
    // Only the entities changed: still a modification.
    await telegram.editMessageText(chat.chat.id, text.message_id, undefined, "now spoiled", {
      entities: [{ type: "bold", offset: 0, length: 3 }],
    });
    await refused(
      telegram.editMessageText(chat.chat.id, text.message_id, undefined, "now", {
        entities: [{ type: "bold", offset: 0, length: 4 }],
      }),
      /ends past the text/,
    );
  });
});

describe("parseEntities", () => {
  it("normalizes what it accepts: sorted, known fields only", () => {
    assert.deepEqual(
      parseEntities("abcdef", [
        { type: "italic", offset: 2, length: 1, extra: true },
        { type: "bold", offset: 0, length: 6 },
        { type: "pre", offset: 3, length: 3, language: "" },
      ]),
      [
        { type: "bold", offset: 0, length: 6 },
        { type: "italic", offset: 2, length: 1 },
        { type: "pre", offset: 3, length: 3 },
      ],
    );
  });
});
