import { readFile } from "node:fs/promises";
import type { ServerResponse } from "node:http";
import multipart from "@fastify/multipart";
import type { Message } from "@telegraf/types";
import Fastify, { type FastifyReply, type FastifyRequest } from "fastify";
import mime from "mime";
import type { TestChat } from "./chat.js";
import type { ChatEvent } from "./chat-host.js";
import type { Emulator } from "./emulator.js";

/** A simulated Telegram user of the playground. */
export interface PlaygroundUser {
  /** Telegram id (positive); the user's private chat with the bot has the same id. */
  id: number;
  firstName: string;
  lastName?: string;
  username?: string;
  languageCode?: string;
  /** What this user is for, shown beside the name: "Admin", "User", "Stranger". */
  label: string;
}

/** Options of {@link createPlayground}. */
export interface PlaygroundOptions {
  /** The running emulator the bot talks to. */
  emulator: Emulator;
  /** The users one can chat as, the first one selected; at least one. */
  users: readonly PlaygroundUser[];
  /** A group chat with the bot and every user; default `Playground group` (id -100). */
  group?: { id: number; title: string } | false;
  /** Default: 127.0.0.1. The page has no sign-in: keep it on loopback. */
  host?: string;
  /** Default: 4243; 0 picks a free port. */
  port?: number;
}

/** A running playground. */
export interface Playground {
  /** The page's address, e.g. `http://127.0.0.1:4243/`. */
  readonly url: string;
  /** Stops serving the page (the emulator keeps running). */
  close(): Promise<void>;
}

/** Default port of the playground page (the web admin's is 4242). */
export const DEFAULT_PLAYGROUND_PORT = 4243;

/** How long a press waits for the bot's `answerCallbackQuery` before the page is told. */
const PRESS_TIMEOUT_MS = 10_000;
/** Largest file the page may upload (Telegram's bot download limit). */
const MAX_UPLOAD_BYTES = 20 * 1024 * 1024;
const HEARTBEAT_MS = 15_000;

const ASSETS: Record<string, string> = {
  "index.html": "text/html; charset=utf-8",
  "app.js": "text/javascript; charset=utf-8",
  "app.css": "text/css; charset=utf-8",
};

/** The page runs only its own script and style, and frames nothing. */
const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' blob: data:",
  "media-src 'self' blob:",
  "connect-src 'self'",
  "form-action 'none'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join("; ");

/** Media a browser may show inline; anything else is served as a download. */
const INLINE_TYPES =
  /^(image\/(png|jpeg|gif|webp|avif|bmp)|video\/(mp4|webm|ogg)|audio\/[\w.+-]+)$/;

class PlaygroundError extends Error {
  readonly statusCode: number;

  constructor(statusCode: number, message: string) {
    super(message);
    this.statusCode = statusCode;
  }
}

/**
 * A chat page in the browser for a bot running against the emulator: several simulated users
 * in their private chats and in a group, the bot's command menu, formatted messages, inline
 * and reply keyboards, media, uploads, and live edits and deletions over server-sent events.
 *
 * ```ts
 * const emulator = await createEmulator();
 * const playground = await createPlayground({
 *   emulator,
 *   users: [{ id: 1, firstName: "Ada", label: "Admin" }],
 * });
 * console.log(playground.url);
 * ```
 */
export async function createPlayground(options: PlaygroundOptions): Promise<Playground> {
  const { emulator } = options;
  const users = checkUsers(options.users);
  const group =
    options.group === false
      ? undefined
      : (options.group ?? { id: -100, title: "Playground group" });
  if (group !== undefined && !(Number.isSafeInteger(group.id) && group.id < 0)) {
    throw new Error(`The playground's group id must be a negative integer, not ${group.id}.`);
  }

  // One test chat per user and chat: the users' side of the emulator.
  const privateChats = new Map<number, TestChat>();
  const groupChats = new Map<number, TestChat>();
  let first: TestChat | undefined;
  for (const user of users) {
    const identity = {
      userId: user.id,
      firstName: user.firstName,
      ...(user.lastName === undefined ? {} : { lastName: user.lastName }),
      ...(user.username === undefined ? {} : { username: user.username }),
      ...(user.languageCode === undefined ? {} : { languageCode: user.languageCode }),
    };
    privateChats.set(user.id, emulator.chat(identity));
    if (group !== undefined) {
      first ??= emulator.chat({ ...identity, type: "group", chatId: group.id, title: group.title });
      groupChats.set(user.id, first.user.id === user.id ? first : first.member(identity));
    }
  }

  /** The test chat of `user` in `chat` (the user's own private chat, or the group). */
  const chatOf = (userId: unknown, chatId: unknown): TestChat => {
    const user = Number(userId);
    const chat = Number(chatId);
    const mine = privateChats.get(user);
    if (mine === undefined) {
      throw new PlaygroundError(
        400,
        `Unknown playground user ${JSON.stringify(userId)}; the users are ${users.map((u) => u.id).join(", ")}.`,
      );
    }
    if (chat === user) return mine;
    const inGroup = group !== undefined && chat === group.id ? groupChats.get(user) : undefined;
    if (inGroup !== undefined) return inGroup;
    throw new PlaygroundError(
      400,
      `User ${user} has no chat ${JSON.stringify(chatId)} in the playground: use their own id (private chat)${group === undefined ? "" : ` or ${group.id} (the group)`}.`,
    );
  };

  const chatView = (chat: TestChat) => ({
    chat: chat.chat,
    messages: emulator.messages(chat.chat.id).map(view),
    menu: chat.menu(),
    keyboard: emulator.replyKeyboard(chat.chat.id) ?? null,
  });

  const assets = await loadAssets();
  const app = Fastify({ logger: false, forceCloseConnections: true, bodyLimit: 64 * 1024 });
  await app.register(multipart, { limits: { fileSize: MAX_UPLOAD_BYTES, files: 1, fields: 8 } });

  const allowedHosts = new Set<string>();
  app.addHook("onRequest", async (req, reply) => {
    reply.header("x-content-type-options", "nosniff");
    reply.header("referrer-policy", "no-referrer");
    reply.header("cache-control", "no-store");
    // A page elsewhere must not drive the playground: no other Host (DNS rebinding), and no
    // state change without the page's own header (which a cross-site form cannot send).
    if (allowedHosts.size > 0 && !allowedHosts.has(String(req.headers.host ?? ""))) {
      throw new PlaygroundError(421, "This playground answers only on its own address.");
    }
    if (req.method === "POST") {
      const origin = req.headers.origin;
      const own = `http://${req.headers.host}`;
      if (req.headers["x-kamihi-playground"] !== "1" || (origin !== undefined && origin !== own)) {
        throw new PlaygroundError(403, "Only the playground page may do this.");
      }
    }
  });

  app.setErrorHandler((error: Error & { statusCode?: number }, _req, reply) => {
    const status = error.statusCode ?? 500;
    const message =
      status === 413
        ? `The file is larger than ${MAX_UPLOAD_BYTES / 1024 / 1024} MB.`
        : status >= 500
          ? "The playground failed; see the terminal."
          : error.message;
    if (status >= 500) process.stderr.write(`playground: ${error.stack ?? error.message}\n`);
    void reply.code(status).send({ error: message });
  });

  for (const [name, type] of Object.entries(ASSETS)) {
    const path = name === "index.html" ? "/" : `/${name}`;
    app.get(path, (_req, reply) => {
      if (name === "index.html") reply.header("content-security-policy", CSP);
      return reply.type(type).send(assets[name]);
    });
  }

  app.get("/api/state", () => ({
    bot: {
      id: emulator.botUser.id,
      firstName: emulator.botUser.first_name,
      username: emulator.botUser.username,
    },
    users: users.map(({ id, firstName, lastName, username, label }) => ({
      id,
      firstName,
      lastName,
      username,
      label,
    })),
    group: group ?? null,
  }));

  app.get("/api/chat", (req: FastifyRequest<{ Querystring: { user?: string; chat?: string } }>) =>
    chatView(chatOf(req.query.user, req.query.chat)),
  );

  app.post("/api/send", async (req: FastifyRequest<{ Body: unknown }>) => {
    const body = object(req.body);
    const chat = chatOf(body.user, body.chat);
    const text = typeof body.text === "string" ? body.text : "";
    if (text.trim() === "") throw new PlaygroundError(400, "Type a message first.");
    if (text.length > 4096)
      throw new PlaygroundError(400, "A message is at most 4096 characters, as in Telegram.");
    const command = /^\/[A-Za-z0-9_]{1,32}(@[A-Za-z0-9_]+)?(?=\s|$)/.exec(text);
    const message =
      command === null
        ? await chat.send(text)
        : emulator.userMessage(chat.chat, chat.user, {
            text,
            entities: [{ type: "bot_command", offset: 0, length: command[0].length }],
          });
    return { message: view(message) };
  });

  app.post("/api/press", async (req: FastifyRequest<{ Body: unknown }>) => {
    const body = object(req.body);
    const chat = chatOf(body.user, body.chat);
    const message = emulator.message(chat.chat.id, Number(body.message));
    if (message === undefined)
      throw new PlaygroundError(404, "That message is gone: the bot deleted it.");
    const data = typeof body.data === "string" ? body.data : "";
    const rows =
      (message as { reply_markup?: { inline_keyboard?: Array<Array<{ callback_data?: string }>> } })
        .reply_markup?.inline_keyboard ?? [];
    if (!rows.flat().some((button) => button.callback_data === data)) {
      throw new PlaygroundError(409, "That button is not on the message any more.");
    }
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), PRESS_TIMEOUT_MS);
    });
    const answer = await Promise.race([
      emulator.userPress(chat.chat, chat.user, message, data),
      late,
    ]).finally(() => clearTimeout(timer));
    return answer === undefined
      ? {
          answered: false,
          text: `The bot did not answer the press within ${PRESS_TIMEOUT_MS / 1000} s.`,
        }
      : { answered: true, ...answer };
  });

  app.post("/api/upload", async (req) => {
    const fields: Record<string, string> = {};
    let file: { data: Buffer; fileName: string; mimeType: string } | undefined;
    for await (const part of req.parts()) {
      if (part.type === "file") {
        const data = await part.toBuffer();
        file = { data, fileName: safeFileName(part.filename), mimeType: part.mimetype };
      } else if (typeof part.value === "string") {
        fields[part.fieldname] = part.value;
      }
    }
    const chat = chatOf(fields.user, fields.chat);
    if (file === undefined || file.data.length === 0)
      throw new PlaygroundError(400, "Choose a non-empty file to send.");
    const caption = fields.caption?.trim();
    if (caption !== undefined && caption.length > 1024)
      throw new PlaygroundError(400, "A caption is at most 1024 characters, as in Telegram.");
    // As Telegram apps do: a picture goes as a photo unless sent "as a file".
    const asPhoto = fields.as !== "document" && /^image\/(png|jpeg|gif|webp)$/.test(file.mimeType);
    const message = await chat.upload({
      data: file.data,
      fileName: file.fileName,
      mimeType: file.mimeType,
      as: asPhoto ? "photo" : "document",
      ...(caption === undefined || caption === "" ? {} : { caption }),
    });
    return { message: view(message) };
  });

  app.get(
    "/api/files/:fileId",
    (req: FastifyRequest<{ Params: { fileId: string } }>, reply: FastifyReply) => {
      const file = emulator.file(req.params.fileId);
      if (file === undefined) throw new PlaygroundError(404, "No such file.");
      const type =
        file.mimeType ?? mime.getType(file.fileName ?? file.filePath) ?? "application/octet-stream";
      const inline = INLINE_TYPES.test(type);
      reply
        .type(inline ? type : "application/octet-stream")
        // Whatever a file holds, it never runs as a page of the playground.
        .header("content-security-policy", "sandbox; default-src 'none'")
        .header(
          "content-disposition",
          `${inline ? "inline" : "attachment"}; filename*=UTF-8''${encodeURIComponent(file.fileName ?? file.filePath.split("/").pop() ?? "file")}`,
        );
      return reply.send(file.data);
    },
  );

  // Live updates: every change in a chat the page may show, as one server-sent event.
  const streams = new Set<ServerResponse>();
  const known = new Set<number>([
    ...privateChats.keys(),
    ...(group === undefined ? [] : [group.id]),
  ]);
  const broadcast = (payload: unknown) => {
    const frame = `data: ${JSON.stringify(payload)}\n\n`;
    for (const stream of streams) stream.write(frame);
  };
  const onEvent = (chatId: number, event: ChatEvent) => {
    if (!known.has(chatId)) return;
    if (event.type === "message" || event.type === "edit") {
      broadcast({ chat: chatId, type: event.type, message: view(event.message) });
    } else if (event.type === "callbackAnswer") {
      // The press's own request carries the answer to the page that pressed.
    } else {
      broadcast({ chat: chatId, ...event });
    }
  };
  const onUserMessage = (chatId: number, message: Message) => {
    if (known.has(chatId)) broadcast({ chat: chatId, type: "message", message: view(message) });
  };
  emulator.events.on("event", onEvent);
  emulator.events.on("userMessage", onUserMessage);

  app.get("/api/events", (req, reply) => {
    reply.hijack();
    const stream = reply.raw;
    stream.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-store",
      connection: "keep-alive",
      "x-content-type-options": "nosniff",
    });
    stream.write("retry: 1000\n\n");
    streams.add(stream);
    const heartbeat = setInterval(() => stream.write(": keep-alive\n\n"), HEARTBEAT_MS);
    req.raw.on("close", () => {
      clearInterval(heartbeat);
      streams.delete(stream);
    });
  });

  const host = options.host ?? "127.0.0.1";
  const port = options.port ?? DEFAULT_PLAYGROUND_PORT;
  try {
    await app.listen({ host, port });
  } catch (error) {
    emulator.events.off("event", onEvent);
    emulator.events.off("userMessage", onUserMessage);
    await app.close().catch(() => {});
    throw listenError(error, host, port);
  }
  const bound = (app.server.address() as { port: number }).port;
  for (const name of [host, "127.0.0.1", "localhost", "[::1]"])
    allowedHosts.add(`${name}:${bound}`);
  const url = `http://${host.includes(":") ? `[${host}]` : host}:${bound}/`;

  return {
    url,
    async close() {
      emulator.events.off("event", onEvent);
      emulator.events.off("userMessage", onUserMessage);
      for (const stream of streams) stream.end();
      streams.clear();
      await app.close();
    },
  };
}

function checkUsers(users: readonly PlaygroundUser[]): readonly PlaygroundUser[] {
  if (users.length === 0) throw new Error("The playground needs at least one user.");
  const seen = new Set<number>();
  for (const user of users) {
    if (!(Number.isSafeInteger(user.id) && user.id > 0)) {
      throw new Error(`A playground user's id must be a positive integer, not ${user.id}.`);
    }
    if (seen.has(user.id)) throw new Error(`Two playground users have the id ${user.id}.`);
    seen.add(user.id);
  }
  return users;
}

/** A message as the page shows it: the quoted message cut down to what a quote needs. */
function view(message: Message): Message {
  const quoted = (message as { reply_to_message?: Message }).reply_to_message;
  if (quoted === undefined) return message;
  const { reply_to_message: _r, ...rest } = message as Message & { reply_to_message?: Message };
  const q = quoted as unknown as Record<string, unknown>;
  return {
    ...rest,
    reply_to_message: {
      message_id: quoted.message_id,
      from: quoted.from,
      text: typeof q.text === "string" ? q.text : typeof q.caption === "string" ? q.caption : "",
    },
  } as unknown as Message;
}

function object(body: unknown): Record<string, unknown> {
  if (body === null || typeof body !== "object" || Array.isArray(body))
    throw new PlaygroundError(400, "Send a JSON object.");
  return body as Record<string, unknown>;
}

function safeFileName(name: string | undefined): string {
  const base = [...((name ?? "").split(/[\\/]/).pop() ?? "")]
    .filter((c) => c.charCodeAt(0) >= 0x20)
    .join("");
  return base.slice(0, 255) || "file";
}

async function loadAssets(): Promise<Record<string, string>> {
  // `playground/` sits beside `src/` and `dist/` in the package.
  const folder = new URL("../playground/", import.meta.url);
  const entries = await Promise.all(
    Object.keys(ASSETS).map(async (name) => [name, await readFile(new URL(name, folder), "utf8")]),
  );
  return Object.fromEntries(entries);
}

function listenError(error: unknown, host: string, port: number): Error {
  const code = (error as { code?: string }).code;
  if (code === "EADDRINUSE") {
    return new Error(
      `The playground cannot listen on ${host}:${port}: the port is taken. Stop what uses it, or pick another port (kamihi playground --port <n>).`,
    );
  }
  if (code === "EACCES") {
    return new Error(
      `The playground may not listen on ${host}:${port}; pick a port above 1023 (kamihi playground --port <n>).`,
    );
  }
  return error instanceof Error ? error : new Error(String(error));
}
