import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer, type IncomingMessage, type Server } from "node:http";
import { after, describe, it } from "node:test";
import { Telegraf } from "telegraf";
import { emulator } from "./helpers.js";

/**
 * Closes a server at the end of a test, without waiting for the emulator's keep-alive
 * connections to time out.
 */
function closeServer(server: Server): Promise<void> {
  return new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/** A plain HTTP webhook receiver that records what the emulator pushes. */
async function receiver(
  handle: (body: Record<string, unknown>, req: IncomingMessage) => number | Promise<number>,
) {
  const server = createServer(async (req, res) => {
    let text = "";
    for await (const chunk of req) text += chunk;
    res.statusCode = await handle(JSON.parse(text) as Record<string, unknown>, req);
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  after(() => closeServer(server));
  return `http://127.0.0.1:${(server.address() as { port: number }).port}/hook`;
}

async function call(root: string, token: string, method: string, body: unknown) {
  const response = await fetch(`${root}/bot${token}/${method}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe("webhooks", () => {
  it("pushes updates with the secret header, retries failures, and keeps each chat's order", async () => {
    const emu = await emulator();
    const seen: string[] = [];
    const secrets = new Set<string | undefined>();
    let failures = 2;
    let resolveAll: () => void;
    const all = new Promise<void>((resolve) => {
      resolveAll = resolve;
    });
    const url = await receiver(async (body, req) => {
      secrets.add(req.headers["x-telegram-bot-api-secret-token"] as string | undefined);
      const message = body.message as { chat: { id: number }; text: string };
      if (message.text === "a1" && failures-- > 0) return 500;
      seen.push(message.text);
      if (seen.length === 6) resolveAll();
      return 200;
    });
    assert.equal(
      (await call(emu.apiRoot, emu.token, "setWebhook", { url, secret_token: "s3cret" })).status,
      200,
    );
    const a = emu.chat();
    const b = emu.chat();
    for (const text of ["a1", "a2", "a3"]) await a.send(text);
    for (const text of ["b1", "b2", "b3"]) await b.send(text);
    await all;
    assert.deepEqual([...secrets], ["s3cret"]);
    assert.deepEqual(
      seen.filter((t) => t.startsWith("a")),
      ["a1", "a2", "a3"],
    );
    assert.deepEqual(
      seen.filter((t) => t.startsWith("b")),
      ["b1", "b2", "b3"],
    );
    const info = await call(emu.apiRoot, emu.token, "getWebhookInfo", {});
    assert.match(
      String((info.body.result as { last_error_message?: string }).last_error_message),
      /500/,
    );
  });

  it("runs a method the bot returns in the webhook response (Telegraf's webhook reply)", async () => {
    const emu = await emulator();
    const bot = new Telegraf(emu.token, { telegram: { apiRoot: emu.apiRoot, webhookReply: true } });
    bot.start((ctx) => ctx.reply("hi from a webhook reply"));
    const server = createServer(bot.webhookCallback("/hook", { secretToken: "t0ken" }));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    after(() => closeServer(server));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/hook`;
    await bot.telegram.setWebhook(url, { secret_token: "t0ken" });
    const chat = emu.chat();
    await chat.command("start");
    await chat.expectReply("hi from a webhook reply");
  });
});

describe("faults and limits", () => {
  it("injects 500s, slow answers and dropped connections, for a number of calls", async () => {
    const emu = await emulator();
    const chat = emu.chat();
    emu.inject({ method: "sendMessage", kind: "error", times: 1 });
    const failed = await call(emu.apiRoot, emu.token, "sendMessage", {
      chat_id: chat.chat.id,
      text: "x",
    });
    assert.deepEqual(failed, {
      status: 500,
      body: { ok: false, error_code: 500, description: "Internal Server Error" },
    });
    assert.equal(
      (await call(emu.apiRoot, emu.token, "sendMessage", { chat_id: chat.chat.id, text: "x" }))
        .status,
      200,
    );

    emu.inject({ method: "getMe", kind: "drop", times: 1 });
    await assert.rejects(call(emu.apiRoot, emu.token, "getMe", {}));
    assert.equal((await call(emu.apiRoot, emu.token, "getMe", {})).status, 200);

    // A slow answer is held while the emulator keeps serving other calls, then arrives.
    const remove = emu.inject({ method: "getMe", kind: "slow", delayMs: 200, times: 1 });
    const received = once(emu.events, "call");
    const started = performance.now();
    let answered = false;
    const slow = call(emu.apiRoot, emu.token, "getMe", {}).then((result) => {
      answered = true;
      return result;
    });
    assert.deepEqual(await received, ["getMe", {}]);
    assert.equal(
      (await call(emu.apiRoot, emu.token, "sendMessage", { chat_id: chat.chat.id, text: "x" }))
        .status,
      200,
    );
    assert.equal(answered, false, "the slow answer is still held");
    assert.equal((await slow).status, 200);
    assert.ok(performance.now() - started >= 190);
    remove();
  });

  it("answers 429 with retry_after past Telegram's flood limits", async () => {
    let now = Date.parse("2030-01-01T00:00:00Z");
    const emu = await emulator({
      limits: { perChatPerSecond: 2, perGroupPerMinute: 3, globalPerSecond: 100 },
      clock: () => now,
    });
    const chat = emu.chat();
    const send = () =>
      call(emu.apiRoot, emu.token, "sendMessage", { chat_id: chat.chat.id, text: "x" });
    assert.equal((await send()).status, 200);
    assert.equal((await send()).status, 200);
    const limited = await send();
    assert.equal(limited.status, 429);
    assert.deepEqual(limited.body, {
      ok: false,
      error_code: 429,
      description: "Too Many Requests: retry after 1",
      parameters: { retry_after: 1 },
    });
    const group = emu.chat({ type: "group" });
    const toGroup = () =>
      call(emu.apiRoot, emu.token, "sendMessage", { chat_id: group.chat.id, text: "x" });
    // One second later the chat's window has room again.
    now += 1000;
    assert.equal((await send()).status, 200);
    // A group's per-second window empties each second, but its per-minute one does not.
    for (let i = 0; i < 3; i++) {
      assert.equal((await toGroup()).status, 200);
      now += 1000;
    }
    const groupLimited = await toGroup();
    assert.equal(groupLimited.status, 429);
    // The first of the three group sends was 3 s ago: 57 s to go.
    assert.equal((groupLimited.body.parameters as { retry_after: number }).retry_after, 57);
    now += 57_000;
    assert.equal((await toGroup()).status, 200);
    assert.equal(emu.flood?.rejected, 2);
  });

  it("enforces the caption limit", async () => {
    const emu = await emulator();
    const chat = emu.chat();
    const stored = emu.storeFile(Buffer.from("x"), "photo");
    const result = await call(emu.apiRoot, emu.token, "sendPhoto", {
      chat_id: chat.chat.id,
      photo: stored.fileId,
      caption: "c".repeat(1025),
    });
    assert.deepEqual(result.body, {
      ok: false,
      error_code: 400,
      description: "Bad Request: message caption is too long",
    });
  });
});

describe("hostile input", () => {
  it("answers bad requests the way Telegram does, never crashing", async () => {
    const emu = await emulator();
    const chat = emu.chat();
    const raw = async (method: string, body: string, type = "application/json") => {
      const response = await fetch(`${emu.apiRoot}/bot${emu.token}/${method}`, {
        method: "POST",
        headers: { "content-type": type },
        body,
      });
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    };
    const bad = await raw("sendMessage", "{ not json");
    assert.equal(bad.status, 400);
    assert.equal(bad.body.ok, false);
    assert.equal(bad.body.error_code, 400);
    const id = chat.chat.id;
    for (const [method, body] of [
      ["sendMessage", { chat_id: id, text: "&#99999999;", parse_mode: "HTML" }],
      ["sendMediaGroup", { chat_id: id, media: [null, null] }],
      ["setMyCommands", { commands: [null] }],
      ["sendPhoto", { chat_id: id, photo: { upload: { data: "abc" } } }],
      ["setWebhook", { url: "http://127.0.0.1:9/x", max_connections: 0 }],
    ] as const) {
      const result = await raw(method, JSON.stringify(body));
      assert.equal(result.status, 400, `${method}: ${JSON.stringify(result.body)}`);
    }
    assert.equal((await raw("constructor", "{}")).status, 404);
    assert.equal((await raw("getMe", "{}")).status, 200, "still serving");
  });

  it("keeps updates in order and confirmable after a webhook is removed mid-delivery", async () => {
    const emu = await emulator();
    const chat = emu.chat();
    await call(emu.apiRoot, emu.token, "setWebhook", { url: "http://127.0.0.1:9/unreachable" });
    const failed = once(emu.events, "webhookError");
    for (const text of ["m1", "m2", "m3"]) await chat.send(text);
    // m1 is mid-delivery (a push failed, a retry waits); m2 and m3 wait behind it.
    const [failedId] = (await failed) as [number];
    await call(emu.apiRoot, emu.token, "deleteWebhook", {});
    await emu.webhookIdle();
    const first = await call(emu.apiRoot, emu.token, "getUpdates", {});
    const ids = (first.body.result as Array<{ update_id: number; message: { text: string } }>).map(
      (u) => [u.update_id, u.message.text],
    );
    assert.equal(ids[0]?.[0], failedId);
    assert.deepEqual(
      ids.map(([, text]) => text),
      ["m1", "m2", "m3"],
    );
    const last = ids.at(-1)?.[0] as number;
    const confirmed = await call(emu.apiRoot, emu.token, "getUpdates", { offset: last + 1 });
    assert.deepEqual(confirmed.body.result, []);
  });

  it("drops pending updates on request, webhook or not", async () => {
    const emu = await emulator();
    const chat = emu.chat();
    await call(emu.apiRoot, emu.token, "setWebhook", { url: "http://127.0.0.1:9/unreachable" });
    const failed = once(emu.events, "webhookError");
    await chat.send("old");
    await failed;
    await call(emu.apiRoot, emu.token, "deleteWebhook", { drop_pending_updates: true });
    // The update in flight is dropped too, not handed back to polling.
    await emu.webhookIdle();
    assert.equal(emu.pendingUpdates, 0);
    assert.deepEqual((await call(emu.apiRoot, emu.token, "getUpdates", {})).body.result, []);
  });

  it("counts an album once against the flood limits", async () => {
    const emu = await emulator({
      limits: { perChatPerSecond: 1, perGroupPerMinute: 20, globalPerSecond: 30 },
    });
    const chat = emu.chat();
    const a = emu.storeFile(Buffer.from("a"), "photo");
    const b = emu.storeFile(Buffer.from("b"), "photo");
    const result = await call(emu.apiRoot, emu.token, "sendMediaGroup", {
      chat_id: chat.chat.id,
      media: [
        { type: "photo", media: a.fileId },
        { type: "photo", media: b.fileId },
      ],
    });
    assert.equal(result.status, 200);
    assert.equal(chat.replies().length, 2);
  });

  it("tells a test that the bot never answered a button", async () => {
    const emu = await emulator();
    const chat = emu.chat();
    await call(emu.apiRoot, emu.token, "sendMessage", {
      chat_id: chat.chat.id,
      text: "pick",
      reply_markup: { inline_keyboard: [[{ text: "Go", callback_data: "go" }]] },
    });
    // No bot is polling: the press can never be answered, so the shortest wait shows the error.
    await assert.rejects(chat.press("Go", { timeout: 1 }), /did not answer the press of "Go"/);
  });
});
