import { randomBytes, randomInt } from "node:crypto";
import { EventEmitter } from "node:events";
import multipart from "@fastify/multipart";
import type { Clock } from "@kamihi/core";
import type {
  BotCommand,
  CallbackQuery,
  Chat,
  InlineKeyboardMarkup,
  Message,
  MessageEntity,
  ReplyKeyboardMarkup,
  Update,
  User,
} from "@telegraf/types";
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import { BotApiError, badRequest } from "./api-error.js";
import { type ChatOptions, TestChat } from "./chat.js";
import type { ChatEvent, ChatHost, StoredFile } from "./chat-host.js";
import { FloodGate, type FloodLimits } from "./limits.js";
import { EntityParseError, parseFormatted } from "./markup.js";

/** Options of {@link createEmulator}. */
export interface EmulatorOptions {
  /** The bot token the emulator answers to. Default: a fixed test token. */
  token?: string;
  /** Port to listen on; 0 (the default) picks a free one. */
  port?: number;
  /** Default: 127.0.0.1. */
  host?: string;
  /** The bot's identity in `getMe`. */
  bot?: { firstName?: string; username?: string };
  /** Telegram's flood limits; off unless given. */
  limits?: FloodLimits;
  /**
   * The clock the flood limits read (ms since the epoch). Default: the system clock; a test
   * steps its own clock past a window instead of waiting for it.
   */
  clock?: Clock;
  /** Message text limit. Default 4096, as Telegram. */
  maxMessageLength?: number;
  /** Caption limit. Default 1024, as Telegram. */
  maxCaptionLength?: number;
  /**
   * How long test chats wait for the bot by default (`expectReply`, `nextReply`, `press`…).
   * Default: 5000 ms; raise it for bots on a slow store.
   */
  replyTimeoutMs?: number;
}

/** A fault to inject into the emulated API, for a method or every method. */
export interface Fault {
  /** Bot API method name, e.g. `sendMessage`; every method when omitted. */
  method?: string;
  /** `error`: answer 500; `slow`: answer after `delayMs`; `drop`: close the connection. */
  kind: "error" | "slow" | "drop";
  /** Apply to this many calls, then stop (default: unlimited). */
  times?: number;
  /** Apply to this share of calls, 0 to 1 (default: 1). */
  rate?: number;
  /** Delay of a `slow` fault. Default: 2000 ms. */
  delayMs?: number;
}

/** A call to the emulated API, as recorded for tests. */
export interface ApiCall {
  method: string;
  params: Record<string, unknown>;
  at: number;
}

interface ChatState {
  chat: Chat;
  messages: Map<number, Message>;
  nextMessageId: number;
  blocked: boolean;
  events: ChatEvent[];
  /** The reply keyboard the bot last showed, until it removes it. */
  keyboard?: ReplyKeyboardMarkup;
}

interface WebhookState {
  url: string;
  secretToken?: string;
  maxConnections: number;
  lastErrorDate?: number;
  lastErrorMessage?: string;
}

export const DEFAULT_TEST_TOKEN = "1234567890:AAEmulatorTestTokenForKamihiTests01";

/** The largest file `getFile` hands out, as on Telegram. */
const MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024;

const MEDIA_METHODS: Record<string, string> = {
  sendPhoto: "photo",
  sendDocument: "document",
  sendVideo: "video",
  sendAudio: "audio",
  sendVoice: "voice",
  sendAnimation: "animation",
};

/**
 * The Telegram Bot API on loopback: a real HTTP server speaking `/bot<token>/<method>` as
 * Telegram does, with test chats on the user side.
 */
export class Emulator implements ChatHost {
  readonly token: string;
  /** How long test chats wait for the bot by default. */
  readonly replyTimeoutMs: number;
  readonly botUser: User;
  /** Every API call, in order. */
  readonly calls: ApiCall[] = [];
  /** The flood gate, when limits are on. */
  readonly flood: FloodGate | undefined;
  /**
   * Emits `event` (chatId, ChatEvent) whenever the bot changes a chat, `userMessage`
   * (chatId, Message) whenever a user's message goes to the bot, `call` (method, params)
   * whenever the bot calls a method, `pending` (count) when the bot confirms updates (polling)
   * or accepts one (webhook), and `webhookError` (updateId, message) when a push to the
   * webhook fails (it is retried).
   */
  readonly events = new EventEmitter();

  private readonly options: EmulatorOptions;
  private server: FastifyInstance | undefined;
  private address: string | undefined;
  private readonly chats = new Map<number, ChatState>();
  private readonly files = new Map<string, StoredFile>();
  private readonly commands = new Map<string, BotCommand[]>();
  private readonly pending: Update[] = [];
  /**
   * As on Telegram, update ids go up by one from an arbitrary start: a second emulator for the
   * same bot does not reuse the ids of the first (a bot that remembers handled ids skips those).
   */
  private nextUpdateId = randomInt(100_000_000, 900_000_000);
  /** Recent updates by id, for {@link deliverAgain}. */
  private readonly recent = new Map<number, Update>();
  private revoked = false;
  private allowedUpdates: string[] | undefined;
  private webhook: WebhookState | undefined;
  private readonly pollers = new Set<() => void>();
  private pollingRequest: FastifyReply | undefined;
  private readonly faults: Array<Fault & { used: number }> = [];
  private readonly callbackWaiters = new Map<
    string,
    { chatId: number; resolve: (answer: { text?: string; showAlert: boolean }) => void }
  >();
  private pushing = new Set<number | string>();
  private pushQueue: Update[] = [];
  private pushWake: (() => void) | undefined;
  /** Pushes to the webhook under way, retries included, for {@link webhookIdle}. */
  private readonly deliveries = new Set<Promise<void>>();
  /** Deliveries waiting to retry: woken when the webhook changes or the emulator stops. */
  private readonly backoffs = new Set<() => void>();
  private stopped = false;
  /** Bumped by drop_pending_updates: updates in flight from before are dropped too. */
  private dropGeneration = 0;
  private nextFileNumber = 1;

  constructor(options: EmulatorOptions = {}) {
    this.options = options;
    this.token = options.token ?? DEFAULT_TEST_TOKEN;
    this.replyTimeoutMs = options.replyTimeoutMs ?? 5000;
    const id = Number(this.token.split(":")[0]);
    this.botUser = {
      id: Number.isFinite(id) ? id : 1,
      is_bot: true,
      first_name: options.bot?.firstName ?? "Kamihi Test Bot",
      username: options.bot?.username ?? "kamihi_test_bot",
    };
    this.flood =
      options.limits === undefined ? undefined : new FloodGate(options.limits, options.clock);
  }

  /** The Bot API root to give a client (`tg.apiRoot`), e.g. `http://127.0.0.1:41234`. */
  get apiRoot(): string {
    if (this.address === undefined)
      throw new Error("The emulator is not listening; await emulator.start() first.");
    return this.address;
  }

  /** Starts listening; resolves with the API root. */
  async start(): Promise<string> {
    const app = Fastify({ logger: false, bodyLimit: 60 * 1024 * 1024 });
    await app.register(multipart, {
      limits: { fileSize: 50 * 1024 * 1024, fieldSize: 10 * 1024 * 1024 },
    });
    app.addContentTypeParser(
      "application/x-www-form-urlencoded",
      { parseAs: "string" },
      (_req, body, done) => done(null, Object.fromEntries(new URLSearchParams(body as string))),
    );
    app.all("/bot:token/:method", (req, reply) => this.handle(req, reply));
    app.get("/file/bot:token/*", (req, reply) => this.download(req, reply));
    // Whatever goes wrong before a method runs (bad JSON, a body too large) is answered the
    // way Telegram answers, never with Fastify's own error shape.
    app.setErrorHandler((error, _req, reply) => {
      const tooLarge = (error as { statusCode?: number }).statusCode === 413;
      reply.code(tooLarge ? 413 : 400).send({
        ok: false,
        error_code: tooLarge ? 413 : 400,
        description: tooLarge
          ? "Request Entity Too Large"
          : `Bad Request: ${(error as Error).message}`,
      });
    });
    app.setNotFoundHandler((_req, reply) => {
      reply.code(404).send({ ok: false, error_code: 404, description: "Not Found" });
    });
    this.address = await app.listen({
      port: this.options.port ?? 0,
      host: this.options.host ?? "127.0.0.1",
    });
    this.server = app;
    this.stopped = false;
    void this.pushLoop();
    return this.address;
  }

  /** Stops the server and every pending long poll. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const wake of this.pollers) wake();
    this.pushWake?.();
    this.wakeBackoffs();
    await this.server?.close();
    this.server = undefined;
  }

  /**
   * Revokes the bot's token, as @BotFather's /revoke does: every later call, long polls
   * included, gets 401 Unauthorized.
   */
  revoke(): void {
    this.revoked = true;
    for (const wake of this.pollers) wake();
  }

  /** Updates waiting for the bot: not yet confirmed by polling, or not yet pushed to a webhook. */
  get pendingUpdates(): number {
    return this.pending.length + this.pushQueue.length;
  }

  /**
   * Delivers an update again, as Telegram does when it is not sure the bot got it (a webhook
   * answer lost, an offset not confirmed). Only the most recent 10,000 updates are kept.
   */
  deliverAgain(updateId: number): void {
    const update = this.recent.get(updateId);
    if (update === undefined) throw new Error(`The emulator no longer has update ${updateId}.`);
    this.enqueue(update);
  }

  /**
   * Resolves once no update is on its way to a webhook (a push, or a retry waiting): after
   * `deleteWebhook`, the updates that were in flight are then back in the polling queue.
   * While a webhook is set and keeps failing, it does not resolve.
   */
  async webhookIdle(): Promise<void> {
    while (this.deliveries.size > 0) await Promise.all(this.deliveries);
  }

  /** The id of the newest update the emulator created. */
  get lastUpdateId(): number {
    return this.nextUpdateId - 1;
  }

  /** Injects a fault; returns a function that removes it. */
  inject(fault: Fault): () => void {
    const entry = { ...fault, used: 0 };
    this.faults.push(entry);
    return () => {
      const index = this.faults.indexOf(entry);
      if (index !== -1) this.faults.splice(index, 1);
    };
  }

  // ---------------------------------------------------------------- user side

  /** A test user chatting with the bot: private by default, or a group with `type`. */
  chat(options: ChatOptions = {}): TestChat {
    return new TestChat(this, options);
  }

  /** The state of a chat, creating it on first use. */
  ensureChat(chat: Chat): ChatState {
    let state = this.chats.get(chat.id);
    if (state === undefined) {
      state = { chat, messages: new Map(), nextMessageId: 1, blocked: false, events: [] };
      this.chats.set(chat.id, state);
    }
    return state;
  }

  /** Marks a private chat as blocked by its user: the bot's sends then fail with 403. */
  setBlocked(chatId: number, blocked: boolean): void {
    const state = this.chats.get(chatId);
    if (state) state.blocked = blocked;
  }

  /** Adds a message from a user to a chat and queues its update. */
  userMessage(chat: Chat, from: User, fields: Partial<Message> & Record<string, unknown>): Message {
    const state = this.ensureChat(chat);
    const message = {
      message_id: state.nextMessageId++,
      from,
      chat,
      date: Math.floor(Date.now() / 1000),
      ...fields,
    } as Message;
    state.messages.set(message.message_id, message);
    this.events.emit("userMessage", chat.id, message);
    this.enqueue({ update_id: this.nextUpdateId++, message } as Update);
    return message;
  }

  /** Presses an inline button of a bot message; resolves with the bot's callback answer. */
  userPress(
    chat: Chat,
    from: User,
    message: Message,
    data: string,
  ): Promise<{ text?: string; showAlert: boolean }> {
    const id = randomBytes(8).toString("hex");
    const query: CallbackQuery = {
      id,
      from,
      chat_instance: String(chat.id),
      data,
      message,
    } as CallbackQuery;
    const answered = new Promise<{ text?: string; showAlert: boolean }>((resolve) => {
      this.callbackWaiters.set(id, { chatId: chat.id, resolve });
    });
    this.enqueue({ update_id: this.nextUpdateId++, callback_query: query } as Update);
    return answered;
  }

  /** Stores a file sent by a user and returns it. */
  storeFile(data: Buffer, kind: string, fileName?: string, mimeType?: string): StoredFile {
    const n = this.nextFileNumber++;
    const extension = fileName?.includes(".") ? fileName.slice(fileName.lastIndexOf(".")) : "";
    const file: StoredFile = {
      fileId: `${kind.slice(0, 3).toUpperCase()}${randomBytes(12).toString("base64url")}`,
      fileUniqueId: randomBytes(6).toString("base64url"),
      filePath: `${kind}s/file_${n}${extension}`,
      data,
      ...(fileName === undefined ? {} : { fileName }),
      ...(mimeType === undefined ? {} : { mimeType }),
    };
    this.files.set(file.fileId, file);
    return file;
  }

  /** A file by id, for tests. */
  file(fileId: string): StoredFile | undefined {
    return this.files.get(fileId);
  }

  /** The current state of a message in a chat (edits applied), or undefined once deleted. */
  message(chatId: number, messageId: number): Message | undefined {
    return this.chats.get(chatId)?.messages.get(messageId);
  }

  /** Every message of a chat as it is now, the users' and the bot's, oldest first. */
  messages(chatId: number): Message[] {
    const messages = this.chats.get(chatId)?.messages;
    return messages === undefined
      ? []
      : [...messages.values()].sort((a, b) => a.message_id - b.message_id);
  }

  /** The reply keyboard the bot shows in a chat now, if any. */
  replyKeyboard(chatId: number): ReplyKeyboardMarkup | undefined {
    return this.chats.get(chatId)?.keyboard;
  }

  /** Everything the bot did in a chat, in order. */
  chatEvents(chatId: number): readonly ChatEvent[] {
    return this.chats.get(chatId)?.events ?? [];
  }

  /**
   * The command menu a user sees in a chat, resolved as Telegram does: the most specific
   * scope that has commands wins (member → chat admins → chat → all group/private → default).
   */
  menu(chatId: number, userId?: number, languageCode?: string): BotCommand[] {
    const chat = this.chats.get(chatId)?.chat;
    const isPrivate = chat === undefined ? chatId > 0 : chat.type === "private";
    const keys = [
      ...(userId === undefined || isPrivate ? [] : [`chat_member:${chatId}:${userId}`]),
      `chat:${chatId}`,
      isPrivate ? "all_private_chats" : "all_group_chats",
      "default",
    ];
    for (const key of keys) {
      for (const lang of languageCode ? [languageCode, ""] : [""]) {
        const found = this.commands.get(`${key}|${lang}`);
        if (found !== undefined && found.length > 0) return found;
      }
    }
    return [];
  }

  /** Whether a webhook is set, and where. */
  webhookInfo(): WebhookState | undefined {
    return this.webhook;
  }

  // ---------------------------------------------------------------- delivery

  private enqueue(update: Update) {
    this.recent.delete(update.update_id);
    this.recent.set(update.update_id, update);
    if (this.recent.size > 10_000) this.recent.delete(this.recent.keys().next().value as number);
    if (this.webhook !== undefined) {
      insertInOrder(this.pushQueue, update);
      this.pushWake?.();
      return;
    }
    insertInOrder(this.pending, update);
    for (const wake of this.pollers) wake();
  }

  private updateType(update: Update): string {
    return Object.keys(update).find((key) => key !== "update_id") ?? "unknown";
  }

  private chatKey(update: Update): number | string {
    const u = update as Update & { message?: Message; callback_query?: CallbackQuery };
    return (
      u.message?.chat.id ??
      u.callback_query?.message?.chat.id ??
      u.callback_query?.from.id ??
      update.update_id
    );
  }

  /**
   * Pushes queued updates to the webhook: up to `max_connections` at a time, never two of one
   * chat at once (so each chat's order holds), retrying with backoff while the bot fails.
   */
  private async pushLoop() {
    while (!this.stopped) {
      const index = this.pushQueue.findIndex((u) => !this.pushing.has(this.chatKey(u)));
      const webhook = this.webhook;
      if (webhook === undefined || index === -1 || this.pushing.size >= webhook.maxConnections) {
        await new Promise<void>((resolve) => {
          this.pushWake = resolve;
        });
        continue;
      }
      const [update] = this.pushQueue.splice(index, 1) as [Update];
      const key = this.chatKey(update);
      this.pushing.add(key);
      const delivery = this.deliver(webhook, update).finally(() => {
        this.deliveries.delete(delivery);
        this.pushing.delete(key);
        this.pushWake?.();
      });
      this.deliveries.add(delivery);
    }
  }

  private async deliver(webhook: WebhookState, update: Update) {
    const generation = this.dropGeneration;
    let delay = 50;
    while (!this.stopped && this.webhook === webhook) {
      try {
        const response = await fetch(webhook.url, {
          method: "POST",
          headers: {
            "content-type": "application/json",
            ...(webhook.secretToken === undefined
              ? {}
              : { "x-telegram-bot-api-secret-token": webhook.secretToken }),
          },
          body: JSON.stringify(update),
          signal: AbortSignal.timeout(60_000),
        });
        const body = await response.text().catch(() => "");
        if (response.ok) {
          await this.webhookReply(body);
          this.events.emit("pending", this.pendingUpdates);
          return;
        }
        webhook.lastErrorMessage = `Wrong response from the webhook: ${response.status} ${response.statusText}`;
      } catch (error) {
        webhook.lastErrorMessage = `Connection failed: ${(error as Error).message}`;
      }
      webhook.lastErrorDate = Math.floor(Date.now() / 1000);
      this.events.emit("webhookError", update.update_id, webhook.lastErrorMessage);
      await this.backoff(webhook, delay);
      delay = Math.min(delay * 2, 2000);
    }
    // The webhook changed while this update was in flight: give it back to the new mode.
    if (!this.stopped && generation === this.dropGeneration) this.enqueue(update);
  }

  /**
   * Waits before a retry; a webhook changed or removed (or the emulator stopping) ends the wait
   * at once, so the update goes back to the new mode without a stale delay.
   */
  private backoff(webhook: WebhookState, ms: number): Promise<void> {
    if (this.stopped || this.webhook !== webhook) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.backoffs.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.backoffs.add(wake);
    });
  }

  private wakeBackoffs() {
    for (const wake of [...this.backoffs]) wake();
  }

  /** Runs a method the bot answered the webhook request with, as Telegram does. */
  private async webhookReply(body: string) {
    if (body.trim() === "") return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch {
      return;
    }
    const { method, ...params } = (parsed ?? {}) as { method?: unknown };
    if (typeof method !== "string") return;
    this.calls.push({ method, params, at: Date.now() });
    this.events.emit("call", method, params);
    // Telegram never reports the outcome of a webhook reply; neither does the emulator.
    await this.call(method, params).catch(() => undefined);
  }

  // ---------------------------------------------------------------- HTTP

  private async handle(req: FastifyRequest, reply: FastifyReply) {
    const { token, method } = req.params as { token: string; method: string };
    if (token !== this.token || this.revoked) {
      return reply.code(401).send({ ok: false, error_code: 401, description: "Unauthorized" });
    }
    let params: Record<string, unknown>;
    try {
      params = await this.readParams(req);
    } catch (error) {
      const apiError = error instanceof BotApiError ? error : badRequest((error as Error).message);
      return reply.code(apiError.errorCode).send(apiError.toJSON());
    }
    this.calls.push({ method, params, at: Date.now() });
    this.events.emit("call", method, params);
    const fault = this.takeFault(method);
    if (fault?.kind === "drop") {
      req.raw.socket.destroy();
      return reply;
    }
    if (fault?.kind === "error") {
      return reply
        .code(500)
        .send({ ok: false, error_code: 500, description: "Internal Server Error" });
    }
    if (fault?.kind === "slow")
      await new Promise((resolve) => setTimeout(resolve, fault.delayMs ?? 2000));
    try {
      const result = await this.call(method, params, reply);
      if (reply.sent) return reply;
      return reply.send({ ok: true, result });
    } catch (error) {
      if (error instanceof BotApiError) return reply.code(error.errorCode).send(error.toJSON());
      if (error instanceof EntityParseError) {
        return reply.code(400).send(badRequest(`can't parse entities: ${error.message}`).toJSON());
      }
      return reply.code(500).send({
        ok: false,
        error_code: 500,
        description: `Internal Server Error: ${(error as Error).message}`,
      });
    }
  }

  private takeFault(method: string): Fault | undefined {
    for (const fault of this.faults) {
      if (fault.method !== undefined && fault.method !== method) continue;
      if (fault.times !== undefined && fault.used >= fault.times) continue;
      if (fault.rate !== undefined && Math.random() >= fault.rate) continue;
      fault.used++;
      return fault;
    }
    return undefined;
  }

  /** Reads query, JSON, urlencoded or multipart parameters; files become `{ upload }`. */
  private async readParams(req: FastifyRequest): Promise<Record<string, unknown>> {
    const params: Record<string, unknown> = { ...(req.query as Record<string, unknown>) };
    if (req.isMultipart()) {
      for await (const part of req.parts()) {
        if (part.type === "file") {
          const data = await part.toBuffer();
          params[part.fieldname] = new Upload(data, part.filename, part.mimetype);
        } else {
          params[part.fieldname] = part.value;
        }
      }
    } else if (req.body !== undefined && req.body !== null && typeof req.body === "object") {
      Object.assign(params, req.body);
    }
    return params;
  }

  private async download(req: FastifyRequest, reply: FastifyReply) {
    const { token } = req.params as { token: string };
    const path = (req.params as Record<string, string>)["*"];
    if (token !== this.token) return reply.code(401).send("Unauthorized");
    const file = [...this.files.values()].find((f) => f.filePath === path);
    if (file === undefined)
      return reply.code(404).send({ ok: false, error_code: 404, description: "Not Found" });
    return reply
      .header("content-type", file.mimeType ?? "application/octet-stream")
      .send(file.data);
  }

  // ---------------------------------------------------------------- methods

  private async call(
    method: string,
    p: Record<string, unknown>,
    reply?: FastifyReply,
  ): Promise<unknown> {
    switch (method) {
      case "getMe":
        return this.botUser;
      case "getUpdates":
        return this.getUpdates(p, reply);
      case "setWebhook":
        return this.setWebhook(p);
      case "deleteWebhook":
        this.webhook = undefined;
        this.wakeBackoffs();
        if (bool(p.drop_pending_updates)) {
          this.pending.length = 0;
          this.pushQueue.length = 0;
          this.dropGeneration++;
        }
        // Updates waiting for the old webhook go back to polling.
        for (const update of this.pushQueue.splice(0)) insertInOrder(this.pending, update);
        return true;
      case "getWebhookInfo":
        return {
          url: this.webhook?.url ?? "",
          has_custom_certificate: false,
          pending_update_count: this.webhook ? this.pushQueue.length : this.pending.length,
          max_connections: this.webhook?.maxConnections ?? 40,
          ...(this.webhook?.lastErrorDate === undefined
            ? {}
            : {
                last_error_date: this.webhook.lastErrorDate,
                last_error_message: this.webhook.lastErrorMessage,
              }),
        };
      case "sendMessage":
        return this.sendMessage(p);
      case "editMessageText":
        return this.editMessageText(p);
      case "editMessageReplyMarkup":
        return this.editMessageReplyMarkup(p);
      case "editMessageCaption":
        return this.editMessageCaption(p);
      case "deleteMessage":
        return this.deleteMessage(p);
      case "answerCallbackQuery":
        return this.answerCallbackQuery(p);
      case "sendLocation":
        return this.sendLocation(p);
      case "sendMediaGroup":
        return this.sendMediaGroup(p);
      case "getFile":
        return this.getFile(p);
      case "setMyCommands":
        return this.setMyCommands(p);
      case "getMyCommands":
        return this.commands.get(`${scopeKey(json(p.scope))}|${str(p.language_code) ?? ""}`) ?? [];
      case "deleteMyCommands":
        this.commands.delete(`${scopeKey(json(p.scope))}|${str(p.language_code) ?? ""}`);
        return true;
      case "sendChatAction":
        this.chatFor(p);
        return true;
      default: {
        const kind = Object.hasOwn(MEDIA_METHODS, method) ? MEDIA_METHODS[method] : undefined;
        if (kind !== undefined) return this.sendMedia(kind, p);
        throw new BotApiError(404, "Not Found");
      }
    }
  }

  private getUpdates(
    p: Record<string, unknown>,
    reply?: FastifyReply,
  ): Promise<Update[]> | Update[] {
    if (this.webhook !== undefined) {
      throw new BotApiError(
        409,
        "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first",
      );
    }
    const offset = num(p.offset);
    if (offset !== undefined) {
      const cut = offset < 0 ? Math.max(0, this.pending.length + offset) : undefined;
      if (cut !== undefined) this.pending.splice(0, cut);
      else {
        const kept = this.pending.filter((u) => u.update_id >= offset);
        this.pending.splice(0, this.pending.length, ...kept);
      }
      this.events.emit("pending", this.pendingUpdates);
    }
    const allowed = json(p.allowed_updates);
    if (Array.isArray(allowed))
      this.allowedUpdates = allowed.length === 0 ? undefined : (allowed as string[]);
    const limit = Math.min(Math.max(num(p.limit) ?? 100, 1), 100);
    const timeout = Math.max(num(p.timeout) ?? 0, 0);
    const take = () => {
      if (this.allowedUpdates !== undefined) {
        const allowedSet = new Set(this.allowedUpdates);
        for (let i = this.pending.length - 1; i >= 0; i--) {
          if (!allowedSet.has(this.updateType(this.pending[i] as Update)))
            this.pending.splice(i, 1);
        }
      }
      return this.pending.slice(0, limit);
    };
    const ready = take();
    if (ready.length > 0 || timeout === 0 || reply === undefined) return ready;
    // A newer long poll terminates an older one, as on Telegram.
    if (this.pollingRequest !== undefined && !this.pollingRequest.sent) {
      this.pollingRequest.code(409).send({
        ok: false,
        error_code: 409,
        description:
          "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running",
      });
    }
    this.pollingRequest = reply;
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const wake = () => {
        clearTimeout(timer);
        this.pollers.delete(wake);
        if (this.pollingRequest === reply) this.pollingRequest = undefined;
        resolve(this.stopped ? [] : take());
      };
      timer = setTimeout(wake, timeout * 1000);
      this.pollers.add(wake);
      reply.raw.on("close", () => {
        clearTimeout(timer);
        this.pollers.delete(wake);
      });
    });
  }

  private setWebhook(p: Record<string, unknown>) {
    const url = str(p.url) ?? "";
    if (url === "") {
      this.webhook = undefined;
      this.wakeBackoffs();
      for (const update of this.pushQueue.splice(0)) insertInOrder(this.pending, update);
      return true;
    }
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw badRequest("bad webhook: Failed to resolve host: Name or service not known");
    }
    if (
      parsed.protocol !== "https:" &&
      !["127.0.0.1", "localhost", "[::1]"].includes(parsed.hostname)
    ) {
      throw badRequest("bad webhook: An HTTPS URL must be provided for webhook");
    }
    const secret = str(p.secret_token);
    if (secret !== undefined && !/^[A-Za-z0-9_-]{1,256}$/.test(secret)) {
      throw badRequest("bad webhook: secret token contains unallowed characters");
    }
    if (bool(p.drop_pending_updates)) {
      this.pending.length = 0;
      this.pushQueue.length = 0;
      this.dropGeneration++;
    }
    const maxConnections = num(p.max_connections) ?? 40;
    if (!Number.isInteger(maxConnections) || maxConnections < 1 || maxConnections > 100) {
      throw badRequest("bad webhook: max_connections must be between 1 and 100");
    }
    this.webhook = {
      url,
      ...(secret === undefined ? {} : { secretToken: secret }),
      maxConnections,
    };
    this.wakeBackoffs();
    const allowed = json(p.allowed_updates);
    if (Array.isArray(allowed))
      this.allowedUpdates = allowed.length === 0 ? undefined : (allowed as string[]);
    for (const update of this.pending.splice(0)) insertInOrder(this.pushQueue, update);
    this.pushWake?.();
    return true;
  }

  private chatFor(p: Record<string, unknown>): ChatState {
    const chatId = num(p.chat_id);
    const state = chatId === undefined ? undefined : this.chats.get(chatId);
    if (state === undefined) throw badRequest("chat not found");
    if (state.blocked) throw new BotApiError(403, "Forbidden: bot was blocked by the user");
    return state;
  }

  private botMessage(
    state: ChatState,
    fields: Record<string, unknown>,
    p: Record<string, unknown>,
    counted = false,
  ): Message {
    if (!counted) this.flood?.admit(state.chat.id);
    const markup = json(p.reply_markup);
    const replyTo =
      num(p.reply_to_message_id) ??
      num((json(p.reply_parameters) as { message_id?: unknown })?.message_id);
    const message = {
      message_id: state.nextMessageId++,
      from: this.botUser,
      chat: state.chat,
      date: Math.floor(Date.now() / 1000),
      ...fields,
      ...(markup !== undefined && isInlineKeyboard(markup) ? { reply_markup: markup } : {}),
      ...(replyTo === undefined ? {} : { reply_to_message: state.messages.get(replyTo) }),
    } as Message;
    state.messages.set(message.message_id, message);
    this.record(state, { type: "message", message });
    // A reply keyboard is not part of the message: it stays under the input field until the
    // bot removes it.
    if (isReplyKeyboard(markup)) {
      state.keyboard = markup;
      this.record(state, { type: "keyboard", keyboard: markup });
    } else if (markupField(markup, "remove_keyboard") === true && state.keyboard !== undefined) {
      delete state.keyboard;
      this.record(state, { type: "keyboard" });
    }
    return message;
  }

  private record(state: ChatState, event: ChatEvent) {
    state.events.push(event);
    this.events.emit("event", state.chat.id, event);
  }

  /**
   * A text or caption as Telegram stores it: parsed by `parse_mode`, or with the `entities`
   * the bot sent (checked as the Bot API checks them), within the length limit.
   */
  private formatted(
    text: string | undefined,
    parseMode: unknown,
    entities: unknown,
    max: number,
    tooLong: string,
  ) {
    if (text === undefined || text.length === 0) return undefined;
    const parsed = parseFormatted(
      text,
      parseMode,
      entities === undefined ? undefined : json(entities),
    );
    if (parsed.text.length > max) throw badRequest(tooLong);
    return parsed;
  }

  private sendMessage(p: Record<string, unknown>) {
    const state = this.chatFor(p);
    const text = str(p.text);
    if (text === undefined || text.trim() === "") throw badRequest("message text is empty");
    const parsed = this.formatted(
      text,
      p.parse_mode,
      p.entities,
      this.options.maxMessageLength ?? 4096,
      "message is too long",
    );
    if (parsed === undefined || parsed.text.trim() === "")
      throw badRequest("message text is empty");
    return this.botMessage(
      state,
      { text: parsed.text, ...entitiesField("entities", parsed.entities) },
      p,
    );
  }

  private resolveInputFile(value: unknown, kind: string): StoredFile {
    if (value instanceof Upload)
      return this.storeFile(value.data, kind, value.fileName, value.mimeType);
    const id = str(value);
    const existing = id === undefined ? undefined : this.files.get(id);
    if (existing !== undefined) return existing;
    throw badRequest("wrong file identifier/HTTP URL specified");
  }

  private describeFile(kind: string, file: StoredFile): Record<string, unknown> {
    const base = {
      file_id: file.fileId,
      file_unique_id: file.fileUniqueId,
      file_size: file.data.length,
    };
    if (kind === "photo") return { photo: [{ ...base, width: 0, height: 0 }] };
    return {
      [kind]: {
        ...base,
        ...(file.fileName === undefined ? {} : { file_name: file.fileName }),
        ...(file.mimeType === undefined ? {} : { mime_type: file.mimeType }),
        ...(kind === "video" || kind === "animation" ? { width: 0, height: 0, duration: 0 } : {}),
        ...(kind === "audio" || kind === "voice" ? { duration: 0 } : {}),
      },
    };
  }

  private sendMedia(kind: string, p: Record<string, unknown>) {
    const state = this.chatFor(p);
    const file = this.resolveInputFile(p[kind], kind);
    const caption = this.formatted(
      str(p.caption),
      p.parse_mode,
      p.caption_entities,
      this.options.maxCaptionLength ?? 1024,
      "message caption is too long",
    );
    return this.botMessage(
      state,
      {
        ...this.describeFile(kind, file),
        ...(caption === undefined
          ? {}
          : { caption: caption.text, ...entitiesField("caption_entities", caption.entities) }),
      },
      p,
    );
  }

  private sendLocation(p: Record<string, unknown>) {
    const state = this.chatFor(p);
    const latitude = num(p.latitude);
    const longitude = num(p.longitude);
    if (
      latitude === undefined ||
      longitude === undefined ||
      Math.abs(latitude) > 90 ||
      Math.abs(longitude) > 180
    ) {
      throw badRequest("wrong latitude or longitude specified");
    }
    return this.botMessage(state, { location: { latitude, longitude } }, p);
  }

  private sendMediaGroup(p: Record<string, unknown>) {
    const state = this.chatFor(p);
    const media = json(p.media);
    if (!Array.isArray(media) || media.length < 2 || media.length > 10) {
      throw badRequest("wrong number of media specified: must include 2-10 items");
    }
    const groupId = randomBytes(8).toString("hex");
    const files = media.map(
      (
        item: {
          type?: string;
          media?: unknown;
          caption?: string;
          parse_mode?: string;
          caption_entities?: unknown;
        } | null,
      ) => {
        if (item === null || typeof item !== "object")
          throw badRequest("media items must be objects");
        const kind = String(item.type ?? "");
        if (!["photo", "video", "document", "audio"].includes(kind))
          throw badRequest(`wrong media type "${kind}"`);
        const reference = str(item.media) ?? "";
        const source = reference.startsWith("attach://")
          ? p[reference.slice("attach://".length)]
          : item.media;
        const caption = this.formatted(
          item.caption,
          item.parse_mode,
          item.caption_entities,
          this.options.maxCaptionLength ?? 1024,
          "message caption is too long",
        );
        return { kind, file: this.resolveInputFile(source, kind), caption };
      },
    );
    // The album is one send for the flood limits: all of it is stored, or none.
    this.flood?.admit(state.chat.id);
    return files.map(({ kind, file, caption }) =>
      this.botMessage(
        state,
        {
          media_group_id: groupId,
          ...this.describeFile(kind, file),
          ...(caption === undefined
            ? {}
            : { caption: caption.text, ...entitiesField("caption_entities", caption.entities) }),
        },
        { ...p, reply_markup: undefined },
        true,
      ),
    );
  }

  private target(p: Record<string, unknown>): { state: ChatState; message: Message } {
    if (p.inline_message_id !== undefined)
      throw badRequest("inline messages are not supported by the emulator");
    const state = this.chatFor(p);
    const message = state.messages.get(num(p.message_id) ?? -1);
    if (message === undefined) throw badRequest("message to edit not found");
    if (message.from?.id !== this.botUser.id) throw badRequest("message can't be edited");
    return { state, message };
  }

  private replaceMessage(state: ChatState, before: Message, after: Message) {
    const content = (m: Message) => {
      const f = m as unknown as Record<string, unknown>;
      return JSON.stringify([f.text, f.entities, f.caption, f.caption_entities, f.reply_markup]);
    };
    if (content(before) === content(after)) {
      throw badRequest(
        "message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message",
      );
    }
    state.messages.set(after.message_id, after);
    this.record(state, { type: "edit", message: after });
    return after;
  }

  private editMessageText(p: Record<string, unknown>) {
    const { state, message } = this.target(p);
    if (!("text" in message)) throw badRequest("there is no text in the message to edit");
    const parsed = this.formatted(
      str(p.text),
      p.parse_mode,
      p.entities,
      this.options.maxMessageLength ?? 4096,
      "MESSAGE_TOO_LONG",
    );
    if (parsed === undefined) throw badRequest("message text is empty");
    const markup = json(p.reply_markup);
    const { entities: _old, reply_markup: _oldMarkup, ...rest } = message as Message.TextMessage;
    const after = {
      ...rest,
      text: parsed.text,
      ...entitiesField("entities", parsed.entities),
      ...(markup !== undefined && isInlineKeyboard(markup) ? { reply_markup: markup } : {}),
      edit_date: Math.floor(Date.now() / 1000),
    } as Message;
    return this.replaceMessage(
      state,
      { ...message, edit_date: (after as { edit_date: number }).edit_date } as Message,
      after,
    );
  }

  private editMessageCaption(p: Record<string, unknown>) {
    const { state, message } = this.target(p);
    const caption = this.formatted(
      str(p.caption),
      p.parse_mode,
      p.caption_entities,
      this.options.maxCaptionLength ?? 1024,
      "message caption is too long",
    );
    const markup = json(p.reply_markup);
    const {
      caption: _c,
      caption_entities: _e,
      reply_markup: _m,
      ...rest
    } = message as Message.PhotoMessage;
    const after = {
      ...rest,
      ...(caption === undefined
        ? {}
        : { caption: caption.text, ...entitiesField("caption_entities", caption.entities) }),
      ...(markup !== undefined && isInlineKeyboard(markup) ? { reply_markup: markup } : {}),
      edit_date: Math.floor(Date.now() / 1000),
    } as Message;
    return this.replaceMessage(
      state,
      { ...message, edit_date: (after as { edit_date: number }).edit_date } as Message,
      after,
    );
  }

  private editMessageReplyMarkup(p: Record<string, unknown>) {
    const { state, message } = this.target(p);
    const markup = json(p.reply_markup);
    const { reply_markup: _old, ...rest } = message as Message.TextMessage;
    const after = {
      ...rest,
      ...(markup !== undefined && isInlineKeyboard(markup) && markup.inline_keyboard.length > 0
        ? { reply_markup: markup }
        : {}),
      edit_date: Math.floor(Date.now() / 1000),
    } as Message;
    return this.replaceMessage(
      state,
      { ...message, edit_date: (after as { edit_date: number }).edit_date } as Message,
      after,
    );
  }

  private deleteMessage(p: Record<string, unknown>) {
    const state = this.chatFor(p);
    const messageId = num(p.message_id) ?? -1;
    if (!state.messages.has(messageId)) throw badRequest("message to delete not found");
    state.messages.delete(messageId);
    this.record(state, { type: "delete", messageId });
    return true;
  }

  private answerCallbackQuery(p: Record<string, unknown>) {
    const id = str(p.callback_query_id) ?? "";
    const waiter = this.callbackWaiters.get(id);
    if (waiter === undefined)
      throw badRequest("query is too old and response timeout expired or query ID is invalid");
    this.callbackWaiters.delete(id);
    const text = str(p.text);
    const answer = { ...(text === undefined ? {} : { text }), showAlert: bool(p.show_alert) };
    const state = this.chats.get(waiter.chatId);
    if (state !== undefined)
      this.record(state, { type: "callbackAnswer", callbackQueryId: id, ...answer });
    waiter.resolve(answer);
    return true;
  }

  private getFile(p: Record<string, unknown>) {
    const file = this.files.get(str(p.file_id) ?? "");
    if (file === undefined) throw badRequest("invalid file_id");
    // As Telegram: the Bot API hands out files of up to 20 MB.
    if (file.data.length > MAX_DOWNLOAD_BYTES) throw badRequest("file is too big");
    return {
      file_id: file.fileId,
      file_unique_id: file.fileUniqueId,
      file_size: file.data.length,
      file_path: file.filePath,
    };
  }

  private setMyCommands(p: Record<string, unknown>) {
    const commands = json(p.commands);
    if (!Array.isArray(commands)) throw badRequest("commands must be an array");
    if (commands.length > 100) throw badRequest("too many commands specified");
    for (const command of commands as Array<BotCommand | null>) {
      if (command === null || typeof command !== "object") throw badRequest("BOT_COMMAND_INVALID");
      if (typeof command.command !== "string" || !/^[a-z0-9_]{1,32}$/.test(command.command)) {
        throw badRequest("BOT_COMMAND_INVALID");
      }
      if (
        typeof command.description !== "string" ||
        command.description.length < 1 ||
        command.description.length > 256
      ) {
        throw badRequest("BOT_COMMAND_DESCRIPTION_INVALID");
      }
    }
    const scope = json(p.scope) as { chat_id?: unknown } | undefined;
    if (scope?.chat_id !== undefined && !this.chats.has(Number(scope.chat_id))) {
      // Telegram scopes menus to chats it knows: a user who never wrote to the bot has none.
      throw badRequest("chat not found");
    }
    this.commands.set(
      `${scopeKey(json(p.scope))}|${str(p.language_code) ?? ""}`,
      commands as BotCommand[],
    );
    const state = scope?.chat_id === undefined ? undefined : this.chats.get(Number(scope.chat_id));
    if (state !== undefined)
      this.record(state, { type: "menu", commands: commands as BotCommand[] });
    return true;
  }
}

/** A file that arrived as a multipart part (never something a JSON body can imitate). */
class Upload {
  readonly data: Buffer;
  readonly fileName: string | undefined;
  readonly mimeType: string | undefined;

  constructor(data: Buffer, fileName?: string, mimeType?: string) {
    this.data = data;
    this.fileName = fileName;
    this.mimeType = mimeType;
  }
}

/** Puts an update in its place by `update_id`, so queues stay in Telegram's order. */
function insertInOrder(queue: Update[], update: Update) {
  let index = queue.length;
  while (index > 0 && (queue[index - 1] as Update).update_id > update.update_id) index--;
  queue.splice(index, 0, update);
}

function entitiesField(name: string, entities: MessageEntity[]) {
  return entities.length === 0 ? {} : { [name]: entities };
}

/** A field of a `reply_markup` value, which may be anything a client sent. */
function markupField(value: unknown, key: string): unknown {
  return value !== null && typeof value === "object"
    ? (value as Record<string, unknown>)[key]
    : undefined;
}

function isInlineKeyboard(value: unknown): value is InlineKeyboardMarkup {
  return Array.isArray(markupField(value, "inline_keyboard"));
}

function isReplyKeyboard(value: unknown): value is ReplyKeyboardMarkup {
  return Array.isArray(markupField(value, "keyboard"));
}

/** Parameters arrive as JSON values or, in multipart and query strings, as JSON text. */
function json(value: unknown): unknown {
  if (typeof value !== "string") return value;
  try {
    return JSON.parse(value);
  } catch {
    throw badRequest(`can't parse JSON parameter ${JSON.stringify(value.slice(0, 40))}`);
  }
}

function num(value: unknown): number | undefined {
  if (typeof value === "number") return value;
  if (typeof value === "string" && /^-?\d+(\.\d+)?$/.test(value)) return Number(value);
  return undefined;
}

function str(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  if (typeof value === "number") return String(value);
  return undefined;
}

function bool(value: unknown): boolean {
  return value === true || value === "true" || value === "1" || value === 1;
}

function scopeKey(scope: unknown): string {
  const s = (scope ?? { type: "default" }) as {
    type?: string;
    chat_id?: unknown;
    user_id?: unknown;
  };
  switch (s.type) {
    case "chat":
    case "chat_administrators":
      return `${s.type}:${String(s.chat_id)}`;
    case "chat_member":
      return `chat_member:${String(s.chat_id)}:${String(s.user_id)}`;
    case undefined:
      return "default";
    default:
      return s.type;
  }
}

/** Creates an emulator and starts it. */
export async function createEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  const emulator = new Emulator(options);
  await emulator.start();
  return emulator;
}
