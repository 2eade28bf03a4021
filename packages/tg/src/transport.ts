import type { Logger, Transport, Update, UpdateContext } from "@kamihi/core";
import { silentLogger } from "@kamihi/core";
import { type Context, type Middleware, Telegraf } from "telegraf";
import { createCall } from "./call.js";
import { answerCallback } from "./callback.js";
import { publishCommands } from "./commands.js";
import { deleteMessage } from "./delete.js";
import { downloadFile } from "./download.js";
import { createIdentity } from "./identity.js";
import { createLifecycle } from "./lifecycle.js";
import { createMiddlewareChain } from "./middleware.js";
import { RateLimiter, type RateLimits, TELEGRAM_LIMITS } from "./rate-limiter.js";
import { editMessage, sendMessage } from "./send.js";
import { createChatTurns } from "./turn.js";
import type { WebhookSettings } from "./webhook.js";

/** Options of {@link createTelegrafTransport}: the `tg.*` and `limits.*` settings plus wiring. */
export interface TelegrafTransportOptions {
  /** The bot token (`token`). */
  token: string;
  /** `tg.apiRoot`. Default: Telegram's public Bot API. */
  apiRoot?: string;
  /** `tg.mode`. Default: `polling`. */
  mode?: "polling" | "webhook";
  /** `tg.webhook.*`. `url` is required in webhook mode. */
  webhook?: WebhookSettings;
  /** `limits.*`. Default: Telegram's published limits. */
  limits?: RateLimits;
  /** Retries of a call after a 5xx or a network error that it is safe to retry. Default: 3. */
  retries?: number;
  /** First retry delay; doubles each time. Default: 250 ms. */
  retryDelayMs?: number;
  /** Update types to receive; Telegram's default when omitted. */
  allowedUpdates?: string[];
  /** How long a `getUpdates` long poll waits when nothing is pending. Default: 30 s. */
  pollTimeoutSeconds?: number;
  /**
   * Telegraf middleware run, in order, around Kamihi's handling of each update
   * ({@link TelegrafTransport.around}); {@link TelegrafTransport.use} adds more before start.
   */
  middlewares?: Middleware<Context>[];
  logger?: Logger;
}

/**
 * The transport over Telegraf: its updates come with Telegraf's `Context` as `raw`, it runs
 * Telegraf middleware around Kamihi's handling, and it knows the webhook's bound address.
 */
export interface TelegrafTransport extends Transport<Context> {
  /** The webhook server's address (`http://host:port`) once started in webhook mode. */
  readonly webhookAddress: string | undefined;
  contextFor(update: Update): UpdateContext<Context>;
  /**
   * Runs the Telegraf middleware (the `middlewares` option, then each {@link use}) on the
   * update's context with `next` as the last step; with none, runs `next` alone.
   */
  around(context: UpdateContext<Context>, next: () => Promise<void>): Promise<void>;
  /**
   * Adds Telegraf middleware after the ones given so far. Refused with `KAMIHI_BOT_RUNNING`
   * while the transport receives updates.
   */
  use(...middleware: Middleware<Context>[]): void;
  raw(): Telegraf;
}

/**
 * The default {@link Transport}: Telegraf as the client, polling or a Fastify webhook that
 * confirm an update only once it is safe, Markdown sent as entities, long texts split, sends
 * paced under Telegram's limits, 429s waited out by every chat, 5xx and safe network failures
 * retried, failures typed, Telegraf middleware run around each update.
 */
export function createTelegrafTransport(options: TelegrafTransportOptions): TelegrafTransport {
  const { token } = options;
  const log = (options.logger ?? silentLogger).child({ component: "tg" });
  const limiter = new RateLimiter(options.limits ?? TELEGRAM_LIMITS);
  const bot = new Telegraf(token, {
    // Kamihi needs the sent message (its id) back, so never answer through the webhook reply.
    telegram: {
      ...(options.apiRoot === undefined ? {} : { apiRoot: options.apiRoot }),
      webhookReply: false,
    },
  });
  const call = createCall({
    telegram: bot.telegram,
    token,
    log,
    limiter,
    retries: options.retries ?? 3,
    retryDelayMs: options.retryDelayMs ?? 250,
  });
  const identity = createIdentity(bot, call);
  const inTurn = createChatTurns(limiter, call);
  const lifecycle = createLifecycle({
    token,
    call,
    log,
    getMe: identity.getMe,
    contextFor: identity.contextFor,
    mode: options.mode ?? "polling",
    ...(options.webhook === undefined ? {} : { webhook: options.webhook }),
    ...(options.allowedUpdates === undefined ? {} : { allowedUpdates: options.allowedUpdates }),
    ...(options.pollTimeoutSeconds === undefined
      ? {}
      : { pollTimeoutSeconds: options.pollTimeoutSeconds }),
  });
  const middleware = createMiddlewareChain(options.middlewares ?? [], () => lifecycle.receiving);
  const download = { call, token, apiRoot: options.apiRoot ?? "https://api.telegram.org" };

  return {
    get webhookAddress() {
      return lifecycle.webhookAddress;
    },
    getMe: identity.getMe,
    contextFor: identity.contextFor,
    start: lifecycle.start,
    stop: lifecycle.stop,
    around: middleware.around,
    use: middleware.use,
    send: (chatId, message) => inTurn(chatId, (post) => sendMessage(chatId, message, post, log)),
    edit: (ref, message) => inTurn(ref.chatId, (post) => editMessage(ref, message, post)),
    delete: (ref) => deleteMessage(call, ref),
    answerCallback: (callbackQueryId, answer) => answerCallback(call, callbackQueryId, answer),
    setCommands: (commands, scope) => publishCommands(call, commands, scope),
    downloadFile: (fileId) => downloadFile(download, fileId),
    raw: () => bot,
  };
}
