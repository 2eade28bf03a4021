import {
  type BotCommand,
  type BotInfo,
  type ChatId,
  type CommandScope,
  type DownloadedFile,
  KamihiError,
  type Logger,
  silentLogger,
  type Transport,
  type Update,
  type UpdateContext,
  type UpdateHandler,
} from "@kamihi/core";
import { Context, Telegraf } from "telegraf";
import { createCall } from "./call.js";
import { failureError, readFailure, scrubError } from "./errors.js";
import { type Polling, startPolling } from "./polling.js";
import { RateLimiter, type RateLimits, TELEGRAM_LIMITS } from "./rate-limiter.js";
import { editMessage, type Post, sendMessage } from "./send.js";
import { startWebhook, type Webhook, type WebhookSettings } from "./webhook.js";

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
  logger?: Logger;
}

/** A transport over Telegraf, with the webhook's bound address once started. */
export interface TelegrafTransport extends Transport {
  /** The webhook server's address (`http://host:port`) once started in webhook mode. */
  readonly webhookAddress: string | undefined;
  raw(): Telegraf;
}

/**
 * The default {@link Transport}: Telegraf as the client, polling or a Fastify webhook that
 * confirm an update only once it is safe, Markdown sent as entities, long texts split, sends
 * paced under Telegram's limits, 429s waited out by every chat, 5xx and safe network failures
 * retried, failures typed.
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
  const webhookMode = (options.mode ?? "polling") === "webhook";
  let me: BotInfo | undefined;
  let webhook: Webhook | undefined;
  let polling: Polling | undefined;
  let started = false;

  /**
   * Everything one logical message needs (several parts, a fallback, a caption that follows)
   * runs as one turn of the chat's queue, so two messages to a chat never interleave; each
   * API call inside still waits for a slot under the limits.
   */
  function inTurn<T>(chatId: ChatId, task: (post: Post) => Promise<T>): Promise<T> {
    return limiter.schedule(chatId, (slot) =>
      task(<R>(method: string, payload: Record<string, unknown>) =>
        call<R>(method, { chat_id: chatId, ...payload }, { chatId, slot }),
      ),
    );
  }

  async function getMe(): Promise<BotInfo> {
    if (me === undefined) {
      const info = await call<{ id: number; username?: string; first_name: string }>("getMe", {});
      me = { id: info.id, username: info.username ?? "", firstName: info.first_name };
      bot.botInfo = { ...info, is_bot: true } as typeof bot.botInfo;
    }
    return me;
  }

  /** The Telegraf context of an update: the escape hatch handed over with it. */
  function contextFor(update: Update): UpdateContext {
    return {
      raw: new Context(update, bot.telegram, bot.botInfo as NonNullable<typeof bot.botInfo>),
    };
  }

  const transport: TelegrafTransport = {
    get webhookAddress() {
      return webhook?.address;
    },
    getMe,
    contextFor,
    async start(onUpdate: UpdateHandler, startOptions = {}) {
      if (started)
        throw new KamihiError("KAMIHI_INTERNAL_BUG", "The transport is already started.");
      started = true;
      // A receiver's error may quote a request URL, which holds the token.
      const deliver = (update: Update) =>
        onUpdate(update, contextFor(update)).catch((error: unknown) => {
          throw scrubError(error, token);
        });
      try {
        await getMe();
        if (webhookMode) {
          webhook = await startWebhook({
            settings: options.webhook,
            token,
            call,
            log,
            deliver,
            ...(options.allowedUpdates ? { allowedUpdates: options.allowedUpdates } : {}),
          });
          return;
        }
        await call("deleteWebhook", {});
        polling = startPolling({
          call,
          log,
          ...(options.allowedUpdates ? { allowedUpdates: options.allowedUpdates } : {}),
          ...(options.pollTimeoutSeconds === undefined
            ? {}
            : { timeoutSeconds: options.pollTimeoutSeconds }),
          // In update order, all at once: the receiver keeps each chat's order.
          deliver: async (updates) => {
            await Promise.all(updates.map(deliver));
          },
          onFatal: (error) => {
            started = false;
            polling = undefined;
            if (startOptions.onFatal) startOptions.onFatal(error);
          },
        });
        log.info({ bot: me?.username }, "receiving updates by long polling");
      } catch (error) {
        started = false;
        throw error;
      }
    },
    async stop() {
      if (!started) return;
      started = false;
      await webhook?.close();
      webhook = undefined;
      await polling?.stop();
      polling = undefined;
    },
    async send(chatId, message) {
      return inTurn(chatId, (post) => sendMessage(chatId, message, post, log));
    },
    async edit(ref, message) {
      await inTurn(ref.chatId, (post) => editMessage(ref, message, post));
    },
    async delete(ref) {
      try {
        await call(
          "deleteMessage",
          { chat_id: ref.chatId, message_id: ref.messageId },
          { chatId: ref.chatId },
        );
      } catch (error) {
        // Deleting what is already gone is done.
        if (/message to delete not found/.test((error as Error).message)) return;
        throw error;
      }
    },
    async answerCallback(callbackQueryId, answer = {}) {
      await call("answerCallbackQuery", {
        callback_query_id: callbackQueryId,
        ...(answer.text === undefined ? {} : { text: answer.text }),
        ...(answer.showAlert ? { show_alert: true } : {}),
      });
    },
    async setCommands(commands: readonly BotCommand[], scope?: CommandScope) {
      const payload = { ...(scope === undefined ? {} : { scope: scopeOf(scope) }) };
      if (commands.length === 0) await call("deleteMyCommands", payload);
      else await call("setMyCommands", { ...payload, commands: commands.map((c) => ({ ...c })) });
    },
    async downloadFile(fileId): Promise<DownloadedFile> {
      const file = await call<{ file_path?: string; file_size?: number }>("getFile", {
        file_id: fileId,
      });
      if (file.file_path === undefined) {
        throw new KamihiError(
          "KAMIHI_TG_REQUEST_FAILED",
          `Telegram has no downloadable path for file ${fileId} (too big for the Bot API?).`,
        );
      }
      const root = options.apiRoot ?? "https://api.telegram.org";
      let response: Response;
      try {
        response = await fetch(`${root}/file/bot${token}/${file.file_path}`);
      } catch (error) {
        throw failureError("downloadFile", readFailure(error, token));
      }
      if (!response.ok) {
        throw failureError("downloadFile", {
          code: response.status,
          description: response.statusText,
        });
      }
      const data = new Uint8Array(await response.arrayBuffer());
      return { data, filePath: file.file_path, size: data.length };
    },
    raw: () => bot,
  };

  return transport;
}

function scopeOf(scope: CommandScope): Record<string, unknown> {
  switch (scope.type) {
    case "chat":
    case "chat_administrators":
      return { type: scope.type, chat_id: scope.chatId };
    case "chat_member":
      return { type: scope.type, chat_id: scope.chatId, user_id: scope.userId };
    default:
      return { type: scope.type };
  }
}
