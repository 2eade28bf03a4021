import { Agent, createServer, type IncomingMessage, request, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { performance } from "node:perf_hooks";

/**
 * A small Bot API on loopback, written for speed rather than fidelity: it answers the methods
 * the subjects call with the least work it can, so that the framework under test — not the
 * fake — is what a run measures. (@kamihi/testing's emulator models chats, files and
 * keyboards; that costs more per call than a bare bot spends on an update.)
 */

/** An update as the bench builds it: a private-chat text message. */
export interface BenchUpdate {
  update_id: number;
  message: {
    message_id: number;
    date: number;
    chat: { id: number; type: "private"; first_name: string };
    from: { id: number; is_bot: false; first_name: string };
    text: string;
    entities?: { type: "bot_command"; offset: number; length: number }[];
  };
}

/** One message a subject sent. */
export interface Reply {
  /** `performance.now()` when the call arrived. */
  at: number;
  chatId: number;
  text: string;
}

/** Options of {@link FakeBotApi}. */
export interface FakeBotApiOptions {
  /** The token subjects use; calls with another one get 401. */
  token: string;
  /** Answer sending methods with 429 past this many messages in any second (all chats). */
  floodLimit?: number;
  /** Where updates go in webhook mode: the subject's own listener (Telegram would use the registered https URL). */
  webhookTarget?: string;
  /** Webhook requests in flight at most (Telegram's `max_connections` default is 40). */
  webhookConcurrency?: number;
}

const SENDING = new Set(["sendMessage", "sendPhoto", "sendDocument", "copyMessage"]);

const BOT = { id: 7_000_001, is_bot: true, first_name: "Bench", username: "bench_bot" };

interface Waiter {
  res: ServerResponse;
  offset: number;
  limit: number;
  timer: NodeJS.Timeout;
}

/** The fake Bot API server. Start it with {@link FakeBotApi.start}. */
export class FakeBotApi {
  readonly token: string;
  readonly replies: Reply[] = [];
  /** How often each method was called. */
  readonly calls = new Map<string, number>();
  /** Methods the fake does not know; answered `true`. */
  readonly unknown = new Set<string>();
  /** When each update was first handed to the subject (`performance.now()`). */
  readonly servedAt = new Map<number, number>();
  /** Updates handed over again after they had been served once. */
  redelivered = 0;
  /** 429 answers given. */
  tooMany = 0;
  /** Edits of a message's text. */
  edits = 0;
  /** `performance.now()` of the first getUpdates, and of the first setWebhook. */
  firstPollAt: number | undefined;
  webhookSetAt: number | undefined;
  floodLimit: number | undefined;
  webhookTarget: string | undefined;

  private readonly server = createServer((req, res) => this.handle(req, res));
  private readonly queue: BenchUpdate[] = [];
  /** Index of the first unconfirmed update in `queue` (polling). */
  private head = 0;
  private maxServed = 0;
  private waiter: Waiter | undefined;
  private readonly sentWindow: number[] = [];
  private windowStart = 0;
  private messageId = 1;
  private readonly listeners = new Set<() => void>();
  private webhook: { secret: string | undefined } | undefined;
  private readonly webhookConcurrency: number;
  private readonly agent: Agent;
  private webhookInFlight = 0;
  /** Webhook mode: each chat's updates not yet acknowledged, in order; one in flight per chat. */
  private readonly chatQueues = new Map<number, BenchUpdate[]>();
  private readonly readyChats: number[] = [];
  private readonly busyChats = new Set<number>();
  private closed = false;
  url = "";

  constructor(options: FakeBotApiOptions) {
    this.token = options.token;
    this.floodLimit = options.floodLimit;
    this.webhookTarget = options.webhookTarget;
    this.webhookConcurrency = options.webhookConcurrency ?? 40;
    this.agent = new Agent({ keepAlive: true, maxSockets: this.webhookConcurrency });
    // Subjects keep connections open between calls, as they do with Telegram.
    this.server.keepAliveTimeout = 60_000;
  }

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this.url;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.waiter !== undefined) this.answerPoll(this.waiter, []);
    this.agent.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Calls `listener` after every reply and every call (for waiting on a condition). */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Resolves when `check()` holds, tested after every call; rejects after `timeoutMs`. */
  until(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
    if (check()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        off();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      const off = this.onChange(() => {
        if (!check()) return;
        clearTimeout(timer);
        off();
        resolve();
      });
    });
  }

  /**
   * Resolves with "done" when `check()` holds, "stalled" when the subject has made no call for
   * `stallMs` (it stopped making progress), or "deadline" after `deadlineMs` in all.
   */
  untilStalled(
    check: () => boolean,
    stallMs: number,
    deadlineMs = Number.POSITIVE_INFINITY,
  ): Promise<"done" | "stalled" | "deadline"> {
    if (check()) return Promise.resolve("done");
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout;
      const finish = (how: "done" | "stalled" | "deadline") => {
        clearTimeout(timer);
        clearTimeout(deadline);
        off();
        resolve(how);
      };
      const arm = () => {
        clearTimeout(timer);
        timer = setTimeout(() => finish("stalled"), stallMs);
      };
      const deadline = setTimeout(() => finish("deadline"), Math.min(deadlineMs, 2_147_000_000));
      const off = this.onChange(() => {
        if (check()) finish("done");
        else arm();
      });
      arm();
    });
  }

  /** Updates waiting to be taken (polling) or acknowledged (webhook). */
  get pending(): number {
    if (this.webhook !== undefined) {
      let n = 0;
      for (const q of this.chatQueues.values()) n += q.length;
      return n;
    }
    return this.queue.length - this.head;
  }

  /** Adds updates: served by the next getUpdates, or posted to the webhook. */
  enqueue(updates: readonly BenchUpdate[]): void {
    if (this.webhook !== undefined) {
      for (const update of updates) this.queueForWebhook(update);
      this.pump();
      return;
    }
    for (const update of updates) this.queue.push(update);
    const waiting = this.waiter;
    if (waiting !== undefined) this.answerPoll(waiting, this.batch(waiting.offset, waiting.limit));
  }

  private emit(): void {
    for (const listener of this.listeners) listener();
  }

  private count(method: string): void {
    this.calls.set(method, (this.calls.get(method) ?? 0) + 1);
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const path = req.url ?? "";
      const slash = path.indexOf("/", 4);
      const token = path.slice(4, slash);
      const method = path.slice(slash + 1).split("?")[0] ?? "";
      if (!path.startsWith("/bot") || token !== this.token) {
        send(res, 401, { ok: false, error_code: 401, description: "Unauthorized" });
        return;
      }
      let params: Record<string, unknown> = {};
      const body = Buffer.concat(chunks).toString();
      if (body !== "") {
        const type = req.headers["content-type"] ?? "";
        if (type.includes("json")) params = JSON.parse(body) as Record<string, unknown>;
        else if (type.includes("x-www-form-urlencoded"))
          params = Object.fromEntries(new URLSearchParams(body));
      }
      this.count(method);
      this.call(method, params, res);
      this.emit();
    });
  }

  private call(method: string, params: Record<string, unknown>, res: ServerResponse): void {
    if (method === "getUpdates") {
      this.getUpdates(params, res);
      return;
    }
    if (SENDING.has(method)) {
      this.sendMessage(params, res);
      return;
    }
    ok(res, this.answer(method, params));
  }

  /** The result of a method that always succeeds. */
  private answer(method: string, params: Record<string, unknown>): unknown {
    switch (method) {
      case "getMe":
        return BOT;
      case "setWebhook":
        this.webhook = {
          secret: typeof params.secret_token === "string" ? params.secret_token : undefined,
        };
        this.webhookSetAt ??= performance.now();
        // Updates queued for polling go to the webhook from now on.
        for (const update of this.queue.splice(this.head)) this.queueForWebhook(update);
        this.head = 0;
        this.queue.length = 0;
        this.pump();
        return true;
      case "deleteWebhook":
        this.webhook = undefined;
        return true;
      case "getWebhookInfo":
        return {
          url: this.webhook === undefined ? "" : "https://bench.invalid/webhook",
          has_custom_certificate: false,
          pending_update_count: this.pending,
        };
      case "editMessageText":
        this.edits++;
        return true;
      case "getMyCommands":
        return [];
      case "answerCallbackQuery":
      case "setMyCommands":
      case "deleteMyCommands":
      case "setChatMenuButton":
      case "sendChatAction":
      case "close":
      case "logOut":
        return true;
      default:
        if (!this.unknown.has(method)) {
          this.unknown.add(method);
          process.stderr.write(`fake Bot API: unknown method ${method}, answered true\n`);
        }
        return true;
    }
  }

  private sendMessage(params: Record<string, unknown>, res: ServerResponse): void {
    const at = performance.now();
    if (this.floodLimit !== undefined && this.flooded(at)) {
      this.tooMany++;
      const retryAfter = Math.max(1, Math.ceil(((this.sentWindow[0] ?? at) + 1000 - at) / 1000));
      send(res, 429, {
        ok: false,
        error_code: 429,
        description: `Too Many Requests: retry after ${retryAfter}`,
        parameters: { retry_after: retryAfter },
      });
      return;
    }
    const chatId = Number(params.chat_id);
    const text = typeof params.text === "string" ? params.text : String(params.caption ?? "");
    this.replies.push({ at, chatId, text });
    ok(res, {
      message_id: this.messageId++,
      date: Math.floor(Date.now() / 1000),
      chat: { id: chatId, type: "private", first_name: "User" },
      from: BOT,
      text,
    });
  }

  /** Whether one more message now would exceed the limit in the second before it. */
  private flooded(now: number): boolean {
    const window = this.sentWindow;
    while (this.windowStart < window.length && (window[this.windowStart] as number) <= now - 1000)
      this.windowStart++;
    if (this.windowStart > 4096) {
      window.splice(0, this.windowStart);
      this.windowStart = 0;
    }
    if (window.length - this.windowStart >= (this.floodLimit as number)) return true;
    window.push(now);
    return false;
  }

  // Polling ---------------------------------------------------------------------------------

  private getUpdates(params: Record<string, unknown>, res: ServerResponse): void {
    this.firstPollAt ??= performance.now();
    if (this.webhook !== undefined) {
      send(res, 409, {
        ok: false,
        error_code: 409,
        description: "Conflict: can't use getUpdates method while webhook is active",
      });
      return;
    }
    const offset = Number(params.offset ?? 0);
    const limit = Math.min(Math.max(Number(params.limit ?? 100), 1), 100);
    const timeout = Number(params.timeout ?? 0);
    // A newer getUpdates ends the one waiting, as Telegram's does.
    if (this.waiter !== undefined) this.answerPoll(this.waiter, []);
    const updates = this.batch(offset, limit);
    if (updates.length > 0 || timeout <= 0 || this.closed) {
      ok(res, updates);
      return;
    }
    const waiter: Waiter = {
      res,
      offset,
      limit,
      timer: setTimeout(() => this.answerPoll(waiter, []), Math.min(timeout, 50) * 1000),
    };
    res.on("close", () => {
      if (this.waiter === waiter) {
        clearTimeout(waiter.timer);
        this.waiter = undefined;
      }
    });
    this.waiter = waiter;
  }

  private answerPoll(waiter: Waiter, updates: BenchUpdate[]): void {
    clearTimeout(waiter.timer);
    if (this.waiter === waiter) this.waiter = undefined;
    if (!waiter.res.writableEnded) ok(waiter.res, updates);
  }

  /** Confirms every update before `offset`, then takes up to `limit` from the rest. */
  private batch(offset: number, limit: number): BenchUpdate[] {
    while (
      this.head < this.queue.length &&
      (this.queue[this.head] as BenchUpdate).update_id < offset
    )
      this.head++;
    if (this.head > 10_000) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
    const updates = this.queue.slice(this.head, this.head + limit);
    const now = performance.now();
    for (const update of updates) this.served(update, now);
    return updates;
  }

  private served(update: BenchUpdate, now: number): void {
    if (update.update_id <= this.maxServed && this.servedAt.has(update.update_id)) {
      this.redelivered++;
      return;
    }
    this.maxServed = Math.max(this.maxServed, update.update_id);
    this.servedAt.set(update.update_id, now);
  }

  // Webhook ---------------------------------------------------------------------------------

  private queueForWebhook(update: BenchUpdate): void {
    const chat = update.message.chat.id;
    let queue = this.chatQueues.get(chat);
    if (queue === undefined) {
      queue = [];
      this.chatQueues.set(chat, queue);
    }
    queue.push(update);
    if (queue.length === 1 && !this.busyChats.has(chat)) this.readyChats.push(chat);
  }

  /**
   * Posts updates with at most `webhookConcurrency` requests in flight and one per chat, so
   * a chat's updates arrive in order, as Telegram sends them.
   */
  private pump(): void {
    const target = this.webhookTarget;
    if (target === undefined || this.webhook === undefined || this.closed) return;
    while (this.webhookInFlight < this.webhookConcurrency && this.readyChats.length > 0) {
      const chat = this.readyChats.shift() as number;
      const update = this.chatQueues.get(chat)?.[0];
      if (update === undefined) continue;
      this.busyChats.add(chat);
      this.webhookInFlight++;
      this.served(update, performance.now());
      this.post(target, update, (accepted) => {
        this.webhookInFlight--;
        this.busyChats.delete(chat);
        const queue = this.chatQueues.get(chat) as BenchUpdate[];
        if (accepted) queue.shift();
        if (queue.length > 0) {
          // A refused update is tried again after the others, as Telegram retries later.
          if (accepted) this.readyChats.push(chat);
          else setTimeout(() => this.retry(chat), 200);
        } else this.chatQueues.delete(chat);
        this.emit();
        this.pump();
      });
    }
  }

  private retry(chat: number): void {
    if (this.closed) return;
    this.readyChats.push(chat);
    this.pump();
  }

  private post(target: string, update: BenchUpdate, done: (accepted: boolean) => void): void {
    const body = JSON.stringify(update);
    const secret = this.webhook?.secret;
    const req = request(
      target,
      {
        method: "POST",
        agent: this.agent,
        headers: {
          "content-type": "application/json",
          "content-length": Buffer.byteLength(body),
          ...(secret === undefined ? {} : { "x-telegram-bot-api-secret-token": secret }),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () => {
          const accepted = res.statusCode === 200;
          // A reply given in the webhook's answer is a Bot API call like any other.
          const answer = Buffer.concat(chunks).toString();
          if (accepted && answer.startsWith("{")) this.webhookReply(answer);
          done(accepted);
        });
      },
    );
    req.on("error", () => done(false));
    req.end(body);
  }

  private webhookReply(answer: string): void {
    let params: Record<string, unknown>;
    try {
      params = JSON.parse(answer) as Record<string, unknown>;
    } catch {
      return;
    }
    if (typeof params.method !== "string") return;
    this.count(params.method);
    if (SENDING.has(params.method)) {
      this.replies.push({
        at: performance.now(),
        chatId: Number(params.chat_id),
        text: String(params.text ?? ""),
      });
    }
  }
}

function ok(res: ServerResponse, result: unknown): void {
  send(res, 200, { ok: true, result });
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(text),
  });
  res.end(text);
}
