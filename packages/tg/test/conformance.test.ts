import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createEmulator, type Emulator, messageText } from "@kamihi/testing";
import type { Context } from "telegraf";
import type { MessageEntity } from "telegraf/types";
import {
  type HarnessChat,
  runTransportConformance,
  type TransportHarness,
} from "../src/conformance.js";
import { createTelegrafTransport } from "../src/index.js";
import { freePort } from "./helpers.js";

/** Fast enough that a test's handful of messages to one chat never waits for a slot. */
const fast = { perChatPerSecond: 10_000, perGroupPerMinute: 10_000, globalPerSecond: 10_000 };

/** A test chat of the emulator, as the suite sees it; `created` hears of each new update. */
function chatOf(emu: Emulator, created: (updateId: number) => void): HarnessChat {
  const chat = emu.chat();
  return {
    id: chat.chat.id,
    async send(text) {
      await chat.send(text);
      created(emu.lastUpdateId);
    },
    press(messageId, callbackData) {
      const message = emu.message(chat.chat.id, messageId);
      if (message === undefined) throw new Error(`No message ${messageId} to press a button of.`);
      const answered = emu.userPress(chat.chat, chat.user, message, callbackData);
      created(emu.lastUpdateId);
      return answered;
    },
    messages: () =>
      chat.replies().map((m) => {
        const formatted = m as { entities?: MessageEntity[]; caption_entities?: MessageEntity[] };
        return {
          messageId: m.message_id,
          text: messageText(m),
          entities: formatted.entities ?? formatted.caption_entities ?? [],
        };
      }),
    menu: () => chat.menu(),
  };
}

/**
 * Sits between the emulator and the transport's webhook server and remembers which updates the
 * transport accepted (answered 2xx): the emulator does not count a push in progress or waiting
 * to be retried as pending, and the suite must see those as unconfirmed.
 */
async function webhookWitness(target: () => string): Promise<{
  url: string;
  accepted: Set<number>;
  close(): Promise<void>;
}> {
  const accepted = new Set<number>();
  const server: Server = createServer(async (request, response) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString();
    try {
      const answer = await fetch(`${target()}${request.url ?? "/"}`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "x-telegram-bot-api-secret-token": String(
            request.headers["x-telegram-bot-api-secret-token"] ?? "",
          ),
        },
        body,
      });
      if (answer.ok) accepted.add((JSON.parse(body) as { update_id: number }).update_id);
      response.writeHead(answer.status).end(await answer.text());
    } catch {
      response.writeHead(502).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    accepted,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function harnessFor(mode: "polling" | "webhook"): Promise<TransportHarness<Context>> {
  const emu = await createEmulator();
  const base = { token: emu.token, apiRoot: emu.apiRoot, retryDelayMs: 20, limits: fast };
  const bot = {
    id: emu.botUser.id,
    username: emu.botUser.username ?? "",
    firstName: emu.botUser.first_name,
  };
  const userFile = (data: Uint8Array, fileName: string) =>
    emu.storeFile(Buffer.from(data), "document", fileName).fileId;

  if (mode === "polling") {
    return {
      transport: createTelegrafTransport(base),
      bot,
      chat: () => chatOf(emu, () => {}),
      unconfirmed: () => emu.pendingUpdates,
      userFile,
      close: () => emu.stop(),
    };
  }
  const port = await freePort();
  const witness = await webhookWitness(() => `http://127.0.0.1:${port}`);
  const created = new Set<number>();
  return {
    transport: createTelegrafTransport({
      ...base,
      mode: "webhook",
      webhook: { url: `${witness.url}/hook`, host: "127.0.0.1", port },
    }),
    bot,
    chat: () => chatOf(emu, (id) => created.add(id)),
    unconfirmed: () => [...created].filter((id) => !witness.accepted.has(id)).length,
    userFile,
    async close() {
      await emu.stop();
      await witness.close();
    },
  };
}

runTransportConformance({ name: "Telegraf, polling", createHarness: () => harnessFor("polling") });
runTransportConformance({ name: "Telegraf, webhook", createHarness: () => harnessFor("webhook") });
