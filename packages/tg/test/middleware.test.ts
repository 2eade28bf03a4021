import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isKamihiError, type Update } from "@kamihi/core";
import type { Context } from "telegraf";
import { emulator, transport } from "./helpers.js";

/** What a test handler did with one update: resolves once `around` settled. */
type Handled = Promise<unknown>;

/** Collects the handlings of updates as they arrive, and waits for a number of them. */
function handlings() {
  const all: Handled[] = [];
  const waiters: Array<{ count: number; wake: () => void }> = [];
  return {
    add(handled: Handled) {
      all.push(handled);
      for (const waiter of waiters) if (all.length >= waiter.count) waiter.wake();
    },
    /** Every handling so far, settled, once there are `count` of them. */
    async settled(count: number): Promise<PromiseSettledResult<unknown>[]> {
      if (all.length < count) await new Promise<void>((wake) => waiters.push({ count, wake }));
      return Promise.allSettled(all.slice(0, count));
    },
  };
}

const textOf = (ctx: Context) =>
  ctx.message !== undefined && "text" in ctx.message ? ctx.message.text : undefined;

describe("Telegraf middleware around Kamihi's handling", () => {
  it("runs in order with a typed Telegraf context, before and after Kamihi's next", async () => {
    const emu = await emulator();
    const order: string[] = [];
    const seen: Array<{ name: string | undefined; text: string | undefined; isCtx: boolean }> = [];
    const tg = transport(emu, {
      middlewares: [
        async (ctx, next) => {
          // Typed: ctx.from is Telegram's User, ctx.message the message, without casts.
          const name: string | undefined = ctx.from?.first_name;
          seen.push({ name, text: textOf(ctx), isCtx: typeof ctx.reply === "function" });
          order.push("option");
          await next();
          order.push("option, after");
        },
      ],
    });
    tg.use(async (_ctx, next) => {
      order.push("use");
      await next();
    });
    const handled = handlings();
    await tg.start(async (_update, context) => {
      handled.add(
        tg.around(context, async () => {
          order.push("kamihi");
        }),
      );
    });
    await emu.chat({ firstName: "Ada" }).send("hello");
    const [result] = await handled.settled(1);
    assert.equal(result?.status, "fulfilled");
    assert.deepEqual(seen, [{ name: "Ada", text: "hello", isCtx: true }]);
    assert.deepEqual(order, ["option", "use", "kamihi", "option, after"]);
  });

  it("stops an update when a middleware does not call next, and can answer it itself", async () => {
    const emu = await emulator();
    const tg = transport(emu);
    tg.use(async (ctx, next) => {
      if (textOf(ctx) === "/ping") {
        await ctx.reply("pong");
        return;
      }
      await next();
    });
    const kamihi: string[] = [];
    const handled = handlings();
    await tg.start(async (update, context) => {
      handled.add(
        tg.around(context, async () => {
          kamihi.push((update as { message?: { text?: string } }).message?.text ?? "");
        }),
      );
    });
    const chat = emu.chat();
    await chat.send("/ping");
    await chat.send("hello");
    const results = await handled.settled(2);
    assert.deepEqual(
      results.map((r) => r.status),
      ["fulfilled", "fulfilled"],
    );
    assert.deepEqual(kamihi, ["hello"], "the stopped update never reached Kamihi");
    await chat.expectReply("pong");
  });

  it("passes errors on: a middleware's own, and Kamihi's through the middleware", async () => {
    const emu = await emulator();
    const tg = transport(emu);
    await tg.getMe();
    tg.use(async (ctx, next) => {
      if (textOf(ctx) === "boom") throw new Error("middleware failed");
      await next();
    });
    const update = (text: string) =>
      ({
        update_id: 1,
        message: {
          message_id: 1,
          date: 0,
          chat: { id: 5, type: "private", first_name: "Ada" },
          from: { id: 5, is_bot: false, first_name: "Ada" },
          text,
        },
      }) as Update;
    let ran = false;
    await assert.rejects(
      tg.around(tg.contextFor(update("boom")), async () => {
        ran = true;
      }),
      /middleware failed/,
    );
    assert.equal(ran, false);
    await assert.rejects(
      tg.around(tg.contextFor(update("hi")), async () => {
        throw new Error("kamihi failed");
      }),
      /kamihi failed/,
    );
  });

  it("without middleware, hands Kamihi's own promise back: nothing runs in between", async () => {
    const emu = await emulator();
    const tg = transport(emu);
    await tg.getMe();
    const context = tg.contextFor({ update_id: 1 } as Update);
    const handling = Promise.resolve();
    assert.equal(
      tg.around(context, () => handling),
      handling,
    );
  });

  it("refuses middleware while receiving, and takes it again once stopped", async () => {
    const emu = await emulator();
    const tg = transport(emu);
    await tg.start(async () => {});
    assert.throws(
      () => tg.use(async (_ctx, next) => next()),
      (err: unknown) => isKamihiError(err, "KAMIHI_BOT_RUNNING"),
    );
    await tg.stop();
    const calls: string[] = [];
    tg.use(async (_ctx, next) => {
      calls.push("added after stop");
      await next();
    });
    await tg.around(tg.contextFor({ update_id: 1 } as Update), async () => {
      calls.push("kamihi");
    });
    assert.deepEqual(calls, ["added after stop", "kamihi"]);
  });

  it("refuses a second start while receiving", async () => {
    const emu = await emulator();
    const tg = transport(emu);
    await tg.start(async () => {});
    await assert.rejects(
      tg.start(async () => {}),
      (err: unknown) => isKamihiError(err, "KAMIHI_BOT_RUNNING"),
    );
  });
});
