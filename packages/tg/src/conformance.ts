/**
 * The Transport conformance suite: what every {@link Transport} must do, as `node:test` tests.
 * Kamihi runs it against the Telegraf transport and the Bot API emulator; another transport
 * runs it the same way, with a harness that feeds it updates and shows what it sent:
 *
 * ```ts
 * import { runTransportConformance } from "@kamihi/tg/conformance";
 * runTransportConformance({ name: "my transport", createHarness: () => createMyHarness() });
 * ```
 *
 * The suite needs nothing but `@kamihi/core`: the harness brings the Bot API side (an
 * emulator, or arrays for an in-memory fake).
 *
 * @packageDocumentation
 */
import assert from "node:assert/strict";
import { describe, it, type TestContext } from "node:test";
import {
  type BotCommand,
  type BotInfo,
  type ChatId,
  escapeMarkdown,
  type Transport,
  type Update,
  type UpdateContext,
} from "@kamihi/core";

/** A bot message as a user sees it now. */
export interface ShownMessage {
  messageId: number;
  /** The text, or the caption of a media message, as shown. */
  text: string;
  /** Its formatting, as Telegram's entities (UTF-16 offsets); empty when there is none. */
  entities: ReadonlyArray<{ type: string; offset: number; length: number }>;
}

/** A private chat between the bot and one user, on the Bot API side of a harness. */
export interface HarnessChat {
  /** The chat's id, to send to. */
  readonly id: ChatId;
  /** The user sends a text message: one update for the bot. */
  send(text: string): Promise<void>;
  /**
   * The user presses the inline button with this callback data under a bot message: one
   * `callback_query` update. Resolves with the bot's answer once it answers.
   */
  press(messageId: number, callbackData: string): Promise<{ text?: string; showAlert: boolean }>;
  /** The bot's messages in the chat as they are now (edits applied, deleted ones gone), oldest first. */
  messages(): ShownMessage[];
  /** The command menu the user sees in this chat (the most specific scope that has one). */
  menu(): BotCommand[];
}

/**
 * One transport and the Bot API it talks to, for one test: the suite creates a harness per
 * test, and stops the transport and closes the harness after it.
 */
export interface TransportHarness<Raw = unknown> {
  /** A transport that has not started and has no middleware of its own. */
  transport: Transport<Raw>;
  /** Who the Bot API says the bot is (`getMe`). */
  bot: BotInfo;
  /** A new private chat with a new user. */
  chat(): HarnessChat | Promise<HarnessChat>;
  /**
   * Updates the Bot API still holds for the bot: not yet taken, being handed over, or
   * refused — every update the transport has not confirmed.
   */
  unconfirmed(): number;
  /** A file as if a user had sent it (no update); resolves with its `file_id`. */
  userFile(data: Uint8Array, fileName: string): string | Promise<string>;
  /** Releases what the harness holds; the suite has stopped the transport by then. */
  close(): Promise<void>;
}

/** Options of {@link runTransportConformance}. */
export interface TransportConformanceOptions<Raw = unknown> {
  /** Shown in the test names. */
  name: string;
  /** A fresh transport and Bot API side, for one test. */
  createHarness: () => TransportHarness<Raw> | Promise<TransportHarness<Raw>>;
  /**
   * How long one wait for the transport may take before the test fails (a test as a whole:
   * three times as long). Default: 10 s.
   */
  waitMs?: number;
  /** Skip the suite with this reason. */
  skip?: string;
}

/** Registers the conformance tests for one transport. */
export function runTransportConformance<Raw>(options: TransportConformanceOptions<Raw>): void {
  const waitMs = options.waitMs ?? 10_000;

  /** Runs a test with a fresh harness, stopped and closed after it whatever happens. */
  const withHarness =
    (test: (harness: TransportHarness<Raw>, t: TestContext) => Promise<void>) =>
    async (t: TestContext): Promise<void> => {
      const harness = await options.createHarness();
      try {
        await test(harness, t);
      } finally {
        await harness.transport.stop();
        await harness.close();
      }
    };
  /** Resolves once `check()` holds; fails the test, naming `what`, if it never does. */
  const until = (check: () => boolean, what: string) => eventually(check, what, waitMs);
  const inbox = () => new Inbox<Raw>(waitMs);
  // A test never hangs, whatever the transport does (a stop() that never returns…).
  const limit = { timeout: waitMs * 3 };

  describe(`Transport conformance: ${options.name}`, { skip: options.skip ?? false }, () => {
    describe("lifecycle", () => {
      it(
        "tells who the bot is before it starts",
        limit,
        withHarness(async ({ transport, bot }) => {
          const me = await transport.getMe();
          assert.deepEqual(
            { id: me.id, username: me.username, firstName: me.firstName },
            { id: bot.id, username: bot.username, firstName: bot.firstName },
          );
        }),
      );

      it(
        "hands each update to the handler in order, with its context",
        limit,
        withHarness(async (harness) => {
          const received = inbox();
          await harness.transport.start(received.handler);
          const chat = await harness.chat();
          for (const text of ["one", "two", "three"]) await chat.send(text);
          const updates = await received.take(3);
          assert.deepEqual(updates.map(textOf), ["one", "two", "three"]);
          assert.ok(
            received.contexts.every((context) => typeof context === "object" && "raw" in context),
            "every update comes with an UpdateContext",
          );
          await until(() => harness.unconfirmed() === 0, "every update confirmed");
        }),
      );

      it(
        "confirms an update only once the handler resolved",
        limit,
        withHarness(async (harness) => {
          const received = inbox();
          const gate = latch();
          await harness.transport.start(async (update, context) => {
            await received.handler(update, context);
            await gate.opened;
          });
          const chat = await harness.chat();
          await chat.send("hold me");
          await received.take(1);
          // A round trip, so a transport that confirms early has had the time to.
          await harness.transport.send(chat.id, { type: "text", text: "…", format: "plain" });
          assert.equal(harness.unconfirmed(), 1, "confirmed while its handler still runs");
          gate.open();
          await until(() => harness.unconfirmed() === 0, "the update confirmed once handled");
        }),
      );

      it(
        "leaves an update whose handler rejected with the Bot API, which hands it over again",
        limit,
        withHarness(async (harness) => {
          const received = inbox();
          let refused = false;
          await harness.transport.start(async (update, context) => {
            await received.handler(update, context);
            if (!refused) {
              refused = true;
              throw new Error("not safe yet");
            }
          });
          const chat = await harness.chat();
          await chat.send("again");
          const [first, second] = await received.take(2);
          assert.equal(second?.update_id, first?.update_id, "the same update, handed over again");
          await until(() => harness.unconfirmed() === 0, "the update confirmed once handled");
        }),
      );

      it(
        "takes no further update of a chat while one is being handed over",
        limit,
        withHarness(async (harness) => {
          const received = inbox();
          const gate = latch();
          let firstDone = false;
          let secondEarly = false;
          await harness.transport.start(async (update, context) => {
            await received.handler(update, context);
            if (textOf(update) === "first") {
              await gate.opened;
              firstDone = true;
            } else if (!firstDone) {
              secondEarly = true;
            }
          });
          const chat = await harness.chat();
          await chat.send("first");
          await received.take(1);
          await chat.send("second");
          await harness.transport.send(chat.id, { type: "text", text: "…", format: "plain" });
          assert.equal(received.updates.length, 1, "took the second while the first was pending");
          gate.open();
          const updates = await received.take(2);
          assert.deepEqual(updates.map(textOf), ["first", "second"]);
          assert.equal(secondEarly, false, "the second update came before the first was handled");
          await until(() => harness.unconfirmed() === 0, "both updates confirmed");
        }),
      );

      it(
        "stops receiving after waiting for the hand-over in progress, which can still send",
        limit,
        withHarness(async (harness) => {
          const { transport } = harness;
          const received = inbox();
          const gate = latch();
          const order: string[] = [];
          const chat = await harness.chat();
          await transport.start(async (update, context) => {
            await received.handler(update, context);
            await gate.opened;
            await transport.send(chat.id, { type: "text", text: "finished", format: "plain" });
            order.push("handled");
          });
          await chat.send("in flight");
          await received.take(1);
          const stopping = transport.stop().then(() => order.push("stopped"));
          await turns(20);
          assert.deepEqual(order, [], "stop() resolved before the hand-over ended");
          gate.open();
          await stopping;
          assert.deepEqual(order, ["handled", "stopped"]);
          assert.ok(chat.messages().some((m) => m.text === "finished"));
          await until(() => harness.unconfirmed() === 0, "the handled update confirmed");

          // Stopped: a new update stays with the Bot API until the transport starts again.
          await chat.send("after stop");
          const later = inbox();
          await transport.start(later.handler);
          assert.deepEqual((await later.take(1)).map(textOf), ["after stop"]);
          assert.equal(received.updates.length, 1, "the stopped handler got nothing more");
        }),
      );
    });

    describe("sending", () => {
      it(
        "sends Markdown as formatting, escaped values as written, other formats as they are",
        limit,
        withHarness(async (harness) => {
          const { transport } = harness;
          await transport.getMe();
          const chat = await harness.chat();
          const hostile =
            "*not bold* _x_ [link](https://e.x) `code` # 1. - > ~~s~~ ||sp|| 1.5€ (50%!) C:\\dir\\";
          const cases: Array<{
            text: string;
            format?: "markdown" | "plain" | "MarkdownV2" | "HTML";
            shown: string;
            entities: Array<[type: string, covered: string]>;
          }> = [
            { text: "Hello, *friend*!", shown: "Hello, friend!", entities: [["italic", "friend"]] },
            {
              text: "**Hi** there",
              format: "markdown",
              shown: "Hi there",
              entities: [["bold", "Hi"]],
            },
            { text: `Say ${escapeMarkdown(hostile)}`, shown: `Say ${hostile}`, entities: [] },
            { text: "**as is**", format: "plain", shown: "**as is**", entities: [] },
            {
              text: "*bold* v1\\.0",
              format: "MarkdownV2",
              shown: "bold v1.0",
              entities: [["bold", "bold"]],
            },
            {
              text: "<b>bold</b> &amp; co",
              format: "HTML",
              shown: "bold & co",
              entities: [["bold", "bold"]],
            },
          ];
          for (const sample of cases) {
            const refs = await transport.send(chat.id, {
              type: "text",
              text: sample.text,
              ...(sample.format === undefined ? {} : { format: sample.format }),
            });
            assert.equal(refs.length, 1, sample.text);
            const [ref] = refs as [(typeof refs)[0]];
            assert.deepEqual(ref.chatId, chat.id);
            const shown = chat.messages().find((m) => m.messageId === ref.messageId);
            assert.ok(shown, `the message sent for ${JSON.stringify(sample.text)} is shown`);
            assert.equal(shown.text, sample.shown, sample.text);
            assert.deepEqual(spans(shown), sample.entities, sample.text);
          }
        }),
      );

      it(
        "splits a text over Telegram's limit into messages, in order, each with its ref",
        limit,
        withHarness(async (harness) => {
          const { transport } = harness;
          await transport.getMe();
          const chat = await harness.chat();
          const text = Array.from(
            { length: 12 },
            (_, i) => `Part ${i}: ${"lorem ipsum ".repeat(60)}`,
          ).join("\n\n");
          const refs = await transport.send(chat.id, { type: "text", text });
          assert.ok(refs.length >= 2, "split into several messages");
          const shown = chat.messages();
          assert.deepEqual(
            shown.map((m) => m.messageId),
            refs.map((r) => r.messageId),
            "one ref per message, in order",
          );
          assert.ok(shown.every((m) => m.text.length <= 4096));
          const words = (s: string) => s.replace(/\s+/g, "");
          assert.equal(words(shown.map((m) => m.text).join("")), words(text), "nothing lost");
        }),
      );

      it(
        "edits a sent message and deletes it",
        limit,
        withHarness(async (harness) => {
          const { transport } = harness;
          await transport.getMe();
          const chat = await harness.chat();
          const [ref] = await transport.send(chat.id, { type: "text", text: "before" });
          assert.ok(ref);
          await transport.edit(ref, { type: "text", text: "after **all**" });
          const edited = chat.messages().find((m) => m.messageId === ref.messageId);
          assert.equal(edited?.text, "after all");
          assert.deepEqual(edited && spans(edited), [["bold", "all"]]);
          await transport.delete(ref);
          assert.equal(
            chat.messages().some((m) => m.messageId === ref.messageId),
            false,
          );
        }),
      );

      it(
        "answers a pressed inline button",
        limit,
        withHarness(async (harness) => {
          const { transport } = harness;
          const received = inbox();
          await transport.start(received.handler);
          const chat = await harness.chat();
          const [ref] = await transport.send(chat.id, {
            type: "text",
            text: "Sure?",
            replyMarkup: { inlineKeyboard: [[{ text: "Yes", callbackData: "yes" }]] },
          });
          assert.ok(ref);
          const answered = chat.press(ref.messageId, "yes");
          const [update] = await received.take(1);
          const query = (update as { callback_query?: { id: string; data?: string } })
            .callback_query;
          assert.equal(query?.data, "yes");
          await transport.answerCallback(query?.id ?? "", { text: "Done", showAlert: true });
          assert.deepEqual(await answered, { text: "Done", showAlert: true });
        }),
      );

      it(
        "publishes command menus by scope, and removes one with an empty list",
        limit,
        withHarness(async (harness) => {
          const { transport } = harness;
          await transport.getMe();
          const admin = await harness.chat();
          const other = await harness.chat();
          await transport.setCommands([{ command: "start", description: "Start" }]);
          await transport.setCommands([{ command: "admin", description: "Admin" }], {
            type: "chat",
            chatId: admin.id,
          });
          assert.deepEqual(admin.menu(), [{ command: "admin", description: "Admin" }]);
          assert.deepEqual(other.menu(), [{ command: "start", description: "Start" }]);
          await transport.setCommands([], { type: "chat", chatId: admin.id });
          assert.deepEqual(admin.menu(), [{ command: "start", description: "Start" }]);
        }),
      );

      it(
        "downloads a file a user sent",
        limit,
        withHarness(async (harness) => {
          const { transport } = harness;
          await transport.getMe();
          const bytes = new TextEncoder().encode("report contents ✓");
          const fileId = await harness.userFile(bytes, "report.txt");
          const file = await transport.downloadFile(fileId);
          assert.deepEqual(new Uint8Array(file.data), bytes);
          assert.equal(file.size, bytes.length);
        }),
      );
    });

    describe("contexts and middleware", () => {
      it(
        "builds, with contextFor, the kind of context start hands over",
        limit,
        withHarness(async (harness, t) => {
          const { transport } = harness;
          if (transport.contextFor === undefined)
            return t.skip("the transport has no contextFor()");
          const received = inbox();
          await transport.start(received.handler);
          const chat = await harness.chat();
          await chat.send("later");
          const [update] = await received.take(1);
          assert.ok(update);
          const live = received.contexts[0]?.raw;
          const rebuilt = transport.contextFor(update).raw;
          assert.equal(typeof rebuilt, typeof live);
          if (typeof live === "object" && live !== null) {
            assert.equal(Object.getPrototypeOf(rebuilt), Object.getPrototypeOf(live));
          }
        }),
      );

      it(
        "runs next exactly once through around, and passes on its outcome",
        limit,
        withHarness(async (harness, t) => {
          const { transport } = harness;
          if (transport.around === undefined) return t.skip("the transport has no around()");
          await transport.getMe();
          const context: UpdateContext<Raw> = transport.contextFor
            ? transport.contextFor({ update_id: 1 } as Update)
            : { raw: undefined as Raw };
          let runs = 0;
          const gate = latch();
          let settled = false;
          const around = transport.around(context, async () => {
            runs++;
            await gate.opened;
          });
          void around.then(() => {
            settled = true;
          });
          await turns(5);
          assert.equal(settled, false, "around resolved before next did");
          gate.open();
          await around;
          assert.equal(runs, 1);
          await assert.rejects(
            transport.around(context, async () => {
              throw new Error("handling failed");
            }),
            /handling failed/,
          );
        }),
      );
    });
  });
}

/** Updates handed to a handler, with their contexts; a test waits for a number of them. */
class Inbox<Raw> {
  readonly updates: Update[] = [];
  readonly contexts: UpdateContext<Raw>[] = [];
  private readonly waiters = new Set<() => void>();
  private readonly waitMs: number;

  constructor(waitMs: number) {
    this.waitMs = waitMs;
  }

  /** The handler to give `start()`: it takes every update at once. */
  readonly handler = async (update: Update, context: UpdateContext<Raw>): Promise<void> => {
    this.updates.push(update);
    this.contexts.push(context);
    for (const wake of this.waiters) wake();
  };

  /** The first `count` updates, once they arrived. */
  async take(count: number): Promise<Update[]> {
    await eventually(
      () => this.updates.length >= count,
      `${count} update(s) handed over (got ${this.updates.length})`,
      this.waitMs,
      this.waiters,
    );
    return this.updates.slice(0, count);
  }
}

/**
 * Resolves once `check()` holds: re-checked whenever a waker in `wakers` is called, and every
 * few milliseconds (the Bot API side changes without telling). Rejects after `waitMs`.
 */
function eventually(
  check: () => boolean,
  what: string,
  waitMs: number,
  wakers?: Set<() => void>,
): Promise<void> {
  if (check()) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const done = () => {
      clearInterval(poll);
      clearTimeout(limit);
      wakers?.delete(test);
    };
    const test = () => {
      if (!check()) return;
      done();
      resolve();
    };
    const poll = setInterval(test, 5);
    const limit = setTimeout(() => {
      done();
      reject(new Error(`Waited ${waitMs} ms for ${what}.`));
    }, waitMs);
    wakers?.add(test);
  });
}

/** A promise a test opens when it decides. */
function latch(): { opened: Promise<void>; open: () => void } {
  let open: () => void = () => {};
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { opened, open };
}

/** Lets `count` turns of the event loop pass: time for a promise that should not settle. */
async function turns(count: number): Promise<void> {
  for (let i = 0; i < count; i++) await new Promise((resolve) => setImmediate(resolve));
}

function textOf(update: Update): string | undefined {
  return (update as { message?: { text?: string } }).message?.text;
}

/** Each entity as `[type, the text it covers]`. */
function spans(message: ShownMessage): Array<[string, string]> {
  return message.entities.map((e) => [e.type, message.text.slice(e.offset, e.offset + e.length)]);
}
