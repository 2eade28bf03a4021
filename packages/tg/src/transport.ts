import { createHmac, timingSafeEqual } from "node:crypto";
import {
  type BotCommand,
  type BotInfo,
  type ChatId,
  type CommandScope,
  type DownloadedFile,
  type InputFile,
  KamihiError,
  type Logger,
  type MessageRef,
  type OutgoingMessage,
  type ReplyMarkup,
  silentLogger,
  type TextMessage,
  type Transport,
  type Update,
  type UpdateHandler,
} from "@kamihi/core";
import Fastify, { type FastifyInstance } from "fastify";
import { type Context, Input, type Middleware, Telegraf } from "telegraf";
import { type CallFailure, failureError, readFailure, scrubError } from "./errors.js";
import { MAX_CAPTION_LENGTH, prepare, splitText } from "./markdown.js";
import { RateLimiter, type RateLimits, TELEGRAM_LIMITS } from "./rate-limiter.js";

/** Options of {@link createTelegrafTransport}: the `tg.*` and `limits.*` settings plus wiring. */
export interface TelegrafTransportOptions {
  /** The bot token (`token`). */
  token: string;
  /** `tg.apiRoot`. Default: Telegram's public Bot API. */
  apiRoot?: string;
  /** `tg.mode`. Default: `polling`. */
  mode?: "polling" | "webhook";
  /** `tg.webhook.*`. `url` is required in webhook mode. */
  webhook?: { url?: string; path?: string; secretToken?: string; host?: string; port?: number };
  /** `limits.*`. Default: Telegram's published limits. */
  limits?: RateLimits;
  /** Retries of a call after a 5xx or a network error that it is safe to retry. Default: 3. */
  retries?: number;
  /** First retry delay; doubles each time. Default: 250 ms. */
  retryDelayMs?: number;
  /** Update types to receive; Telegram's default when omitted. */
  allowedUpdates?: string[];
  /** Raw Telegraf middleware that runs before the handler (call `next()` to go on). */
  middlewares?: ReadonlyArray<Middleware<Context>>;
  logger?: Logger;
}

/** One API call inside a chat's turn: waits for a slot, then calls with retries. */
type Post = <R>(method: string, payload: Record<string, unknown>) => Promise<R>;

/** Methods that can run twice without a second visible effect. */
const IDEMPOTENT = new Set([
  "getMe",
  "getFile",
  "editMessageText",
  "editMessageCaption",
  "editMessageReplyMarkup",
  "deleteMessage",
  "answerCallbackQuery",
  "setMyCommands",
  "deleteMyCommands",
  "setWebhook",
  "deleteWebhook",
  "sendChatAction",
]);

/** A transport over Telegraf, with the webhook's bound address once started. */
export interface TelegrafTransport extends Transport {
  /** The webhook server's address (`http://host:port`) once started in webhook mode. */
  readonly webhookAddress: string | undefined;
  raw(): Telegraf;
}

/**
 * The default {@link Transport}: Telegraf as the client, polling or a Fastify webhook,
 * Markdown converted safely, long texts split, sends paced under Telegram's limits, 429s
 * waited out, 5xx and safe network failures retried, failures typed.
 */
export function createTelegrafTransport(options: TelegrafTransportOptions): TelegrafTransport {
  const { token } = options;
  const log = (options.logger ?? silentLogger).child({ component: "tg" });
  const retries = options.retries ?? 3;
  const retryDelayMs = options.retryDelayMs ?? 250;
  const limiter = new RateLimiter(options.limits ?? TELEGRAM_LIMITS);
  const bot = new Telegraf(token, {
    // Kamihi needs the sent message (its id) back, so never answer through the webhook reply.
    telegram: {
      ...(options.apiRoot === undefined ? {} : { apiRoot: options.apiRoot }),
      webhookReply: false,
    },
    handlerTimeout: Number.POSITIVE_INFINITY,
  });
  const webhookMode = (options.mode ?? "polling") === "webhook";
  let handler: UpdateHandler | undefined;
  for (const middleware of options.middlewares ?? []) bot.use(middleware);
  // One middleware for the transport's life: a restart swaps the handler, never stacks them.
  bot.use(async (ctx) => {
    await handler?.(ctx.update as Update, { raw: ctx });
  });
  bot.catch((error) => {
    // A webhook answers 500 so Telegram delivers the update again; polling must go on.
    if (webhookMode) throw error;
    log.error({ err: scrubError(error, token) }, "update handler failed");
  });
  let me: BotInfo | undefined;
  let server: FastifyInstance | undefined;
  let webhookAddress: string | undefined;
  let polling: Promise<void> | undefined;
  let started = false;

  /** One Bot API call with retries: 429 waits `retry_after`, 5xx and safe network errors back off. */
  async function call<T>(
    method: string,
    payload: Record<string, unknown>,
    chatId?: ChatId,
  ): Promise<T> {
    let floods = 0;
    let failures = 0;
    for (;;) {
      try {
        return (await bot.telegram.callApi(method as never, payload as never)) as T;
      } catch (error) {
        const failure = readFailure(error, token);
        let wait: number | undefined;
        if (failure.code === 429) {
          // Flood control is not a failure: wait as long as Telegram asks, a few times over.
          wait = floods++ < 10 ? (failure.retryAfter ?? 1) * 1000 : undefined;
          if (wait !== undefined && chatId !== undefined) limiter.pause(chatId, wait);
        } else if (retryable(method, failure) && failures < retries) {
          wait = retryDelayMs * 2 ** failures++;
        }
        if (wait === undefined) throw failureError(method, failure, chatId, error);
        log.warn(
          { method, waitMs: wait, code: failure.code },
          `retrying ${method}: ${failure.description}`,
        );
        await new Promise((resolve) => setTimeout(resolve, wait));
      }
    }
  }

  function retryable(method: string, failure: CallFailure): boolean {
    if (failure.code !== undefined && failure.code >= 500) return true;
    return failure.network === true && (failure.notSent === true || IDEMPOTENT.has(method));
  }

  /**
   * Everything one logical message needs (several parts, a fallback, a caption that follows)
   * runs as one turn of the chat's queue, so two messages to a chat never interleave; each
   * API call inside still waits for a slot under the limits.
   */
  function inTurn<T>(chatId: ChatId, task: (post: Post) => Promise<T>): Promise<T> {
    return limiter.schedule(chatId, (slot) =>
      task(async <R>(method: string, payload: Record<string, unknown>) => {
        await slot();
        return call<R>(method, { chat_id: chatId, ...payload }, chatId);
      }),
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

  async function startWebhook() {
    const url = options.webhook?.url;
    if (url === undefined) {
      throw new KamihiError(
        "KAMIHI_TG_WEBHOOK_UNAVAILABLE",
        "tg.mode is webhook but tg.webhook.url is not set; set it to the public https URL Telegram should post updates to.",
      );
    }
    const path = options.webhook?.path ?? new URL(url).pathname;
    const secret = options.webhook?.secretToken ?? deriveSecret(token);
    const expected = Buffer.from(secret);
    const app = Fastify({ logger: false, bodyLimit: 10 * 1024 * 1024 });
    // The secret is checked before the body is read: a stranger's request costs nothing.
    app.addHook("onRequest", async (request, reply) => {
      const given = Buffer.from(String(request.headers["x-telegram-bot-api-secret-token"] ?? ""));
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
        log.warn({ ip: request.ip }, "webhook call with a wrong or missing secret token refused");
        return reply.code(401).send({ ok: false, description: "wrong secret token" });
      }
    });
    app.post(path, async (request, reply) => {
      const update = request.body as Update | undefined;
      if (update === null || typeof update !== "object" || typeof update.update_id !== "number") {
        return reply.code(400).send({ ok: false, description: "not a Telegram update" });
      }
      try {
        await bot.handleUpdate(update);
        return reply.code(200).send({ ok: true });
      } catch (error) {
        log.error(
          { err: scrubError(error, token), updateId: update.update_id },
          "update handler failed; Telegram will retry",
        );
        return reply.code(500).send({ ok: false });
      }
    });
    const host = options.webhook?.host ?? "0.0.0.0";
    const port = options.webhook?.port ?? 8443;
    try {
      webhookAddress = await app.listen({ host, port });
    } catch (error) {
      throw new KamihiError(
        "KAMIHI_TG_WEBHOOK_UNAVAILABLE",
        `The webhook server could not listen on ${host}:${port} (${(error as Error).message}); set tg.webhook.port to a free port.`,
        { cause: error },
      );
    }
    server = app;
    try {
      await call("setWebhook", {
        url,
        secret_token: secret,
        ...(options.allowedUpdates ? { allowed_updates: options.allowedUpdates } : {}),
      });
    } catch (error) {
      await app.close();
      server = undefined;
      throw new KamihiError(
        "KAMIHI_TG_WEBHOOK_UNAVAILABLE",
        `Telegram did not accept the webhook ${url}: ${(error as Error).message}`,
        { cause: error },
      );
    }
    log.info({ url, listening: webhookAddress }, "receiving updates by webhook");
  }

  const transport: TelegrafTransport = {
    get webhookAddress() {
      return webhookAddress;
    },
    getMe,
    async start(onUpdate) {
      if (started)
        throw new KamihiError("KAMIHI_INTERNAL_BUG", "The transport is already started.");
      started = true;
      handler = onUpdate;
      try {
        await getMe();
        if (webhookMode) {
          await startWebhook();
          return;
        }
        await call("deleteWebhook", {});
        // Telegraf's launch() would create the poller only after its own awaits, so a stop()
        // right after start() could miss it; the webhook is already gone, so poll directly.
        const telegraf = bot as unknown as { startPolling(allowed?: unknown): Promise<void> };
        polling = telegraf.startPolling(options.allowedUpdates).catch((error: unknown) => {
          log.error(
            { err: failureError("getUpdates", readFailure(error, token)) },
            "polling stopped",
          );
        });
        log.info({ bot: me?.username }, "receiving updates by long polling");
      } catch (error) {
        started = false;
        handler = undefined;
        throw error;
      }
    },
    async stop() {
      if (!started) return;
      started = false;
      if (server !== undefined) {
        await server.close();
        server = undefined;
      }
      if (polling !== undefined) {
        try {
          bot.stop("kamihi stop");
        } catch {
          // already stopped
        }
        await polling;
        polling = undefined;
      }
      handler = undefined;
    },
    async send(chatId, message) {
      return inTurn(chatId, (post) => sendMessage(chatId, message, post));
    },
    async edit(ref, message) {
      const format = message.format ?? "markdown";
      await inTurn(ref.chatId, async (post) => {
        // Text messages change their text; media messages their caption.
        const edit = async (text: string, parseMode?: string, asCaption = false) =>
          post(asCaption ? "editMessageCaption" : "editMessageText", {
            message_id: ref.messageId,
            [asCaption ? "caption" : "text"]: text,
            ...(parseMode ? { parse_mode: parseMode } : {}),
            ...markup(message.replyMarkup),
            ...(!asCaption && message.disableLinkPreview
              ? { link_preview_options: { is_disabled: true } }
              : {}),
          });
        const editEither = async (text: string, parseMode?: string) => {
          try {
            await edit(text, parseMode);
          } catch (error) {
            if (!/there is no text in the message to edit/.test((error as Error).message))
              throw error;
            await edit(text.slice(0, MAX_CAPTION_LENGTH), parseMode, true);
          }
        };
        // An edit replaces one message: text beyond Telegram's limit is cut, never split.
        const [prepared] = splitText(message.text, format);
        try {
          try {
            await editEither(prepared?.text ?? "", prepared?.parseMode);
          } catch (error) {
            if (format !== "markdown" || !isEntityError(error)) throw error;
            await editEither(splitText(message.text, "plain")[0]?.text ?? "");
          }
        } catch (error) {
          if (/message is not modified/.test((error as Error).message)) return;
          throw error;
        }
      });
    },
    async delete(ref) {
      try {
        await call("deleteMessage", { chat_id: ref.chatId, message_id: ref.messageId }, ref.chatId);
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

  /** Sends one logical message within a chat's turn (see {@link inTurn}). */
  async function sendMessage(
    chatId: ChatId,
    message: OutgoingMessage,
    send: Post,
  ): Promise<MessageRef[]> {
    const refs: MessageRef[] = [];
    const sent = (result: unknown) => {
      const messages = (Array.isArray(result) ? result : [result]) as Array<{ message_id: number }>;
      for (const m of messages) refs.push({ chatId, messageId: m.message_id });
    };
    const common = (m: { silent?: boolean; replyToMessageId?: number }) => ({
      ...(m.silent ? { disable_notification: true } : {}),
      ...(m.replyToMessageId === undefined
        ? {}
        : {
            reply_parameters: { message_id: m.replyToMessageId, allow_sending_without_reply: true },
          }),
    });
    switch (message.type) {
      case "text": {
        const format = message.format ?? "markdown";
        const parts = splitText(message.text, format);
        for (const [index, part] of parts.entries()) {
          const extra = {
            ...(message.disableLinkPreview ? { link_preview_options: { is_disabled: true } } : {}),
            ...(index === 0 ? common(message) : { disable_notification: message.silent ?? false }),
            // The keyboard goes under the last part, where the user reads it.
            ...(index === parts.length - 1 ? markup(message.replyMarkup) : {}),
          };
          try {
            sent(
              await send("sendMessage", {
                text: part.text,
                ...(part.parseMode ? { parse_mode: part.parseMode } : {}),
                ...extra,
              }),
            );
          } catch (error) {
            if (format !== "markdown" || !isEntityError(error)) throw error;
            // The Markdown converter produced something Telegram refuses: the words matter
            // more than the formatting, so they go out as plain text.
            log.warn(
              { chatId, err: error },
              "Telegram refused the converted Markdown; sent as plain text",
            );
            const plain = splitText(part.source, "plain");
            for (const [i, chunk] of plain.entries()) {
              sent(
                await send("sendMessage", {
                  text: chunk.text,
                  ...(i === plain.length - 1 ? extra : {}),
                }),
              );
            }
          }
        }
        return refs;
      }
      case "location":
        sent(
          await send("sendLocation", {
            latitude: message.latitude,
            longitude: message.longitude,
            ...common(message),
            ...markup(message.replyMarkup),
          }),
        );
        return refs;
      case "mediaGroup": {
        const media = message.items.map((item) => ({
          type: item.type,
          media: inputFile(item.file),
          ...caption(item.caption, item.format),
        }));
        sent(await send("sendMediaGroup", { media, ...common(message) }));
        return refs;
      }
      default: {
        const method = `send${message.type[0]?.toUpperCase()}${message.type.slice(1)}`;
        const captionFits =
          message.caption === undefined ||
          caption(message.caption, message.format).caption !== undefined;
        const payload = {
          [message.type]: inputFile(message.file),
          ...common(message),
          ...(captionFits ? markup(message.replyMarkup) : {}),
        };
        try {
          sent(
            await send(method, {
              ...payload,
              ...(captionFits ? caption(message.caption, message.format) : {}),
            }),
          );
        } catch (error) {
          if ((message.format ?? "markdown") !== "markdown" || !isEntityError(error)) throw error;
          log.warn(
            { chatId, err: error },
            "Telegram refused the converted caption; sent as plain text",
          );
          sent(await send(method, { ...payload, ...caption(message.caption, "plain") }));
        }
        // A caption over Telegram's limit follows as text, with the keyboard under it.
        if (!captionFits && message.caption !== undefined) {
          const follow: TextMessage = {
            type: "text",
            text: message.caption,
            ...(message.format === undefined ? {} : { format: message.format }),
            ...(message.replyMarkup === undefined ? {} : { replyMarkup: message.replyMarkup }),
          };
          refs.push(...(await sendMessage(chatId, follow, send)));
        }
        return refs;
      }
    }
  }

  return transport;
}

/** Telegram's answer to formatting it cannot parse. */
function isEntityError(error: unknown): boolean {
  return error instanceof Error && /can't parse entities/.test(error.message);
}

function caption(
  text: string | undefined,
  format: TextMessage["format"],
): { caption?: string; parse_mode?: string } {
  if (text === undefined || text === "") return {};
  const prepared = prepare(text, format ?? "markdown");
  if (prepared.text.length > MAX_CAPTION_LENGTH) return {};
  return {
    caption: prepared.text,
    ...(prepared.parseMode ? { parse_mode: prepared.parseMode } : {}),
  };
}

function inputFile(file: InputFile): unknown {
  if ("fileId" in file) return file.fileId;
  if ("url" in file) return file.url;
  if ("path" in file) return Input.fromLocalFile(file.path, file.fileName);
  return Input.fromBuffer(Buffer.from(file.data), file.fileName);
}

function markup(replyMarkup: ReplyMarkup | undefined): { reply_markup?: unknown } {
  if (replyMarkup === undefined) return {};
  if ("inlineKeyboard" in replyMarkup) {
    return {
      reply_markup: {
        inline_keyboard: replyMarkup.inlineKeyboard.map((row) =>
          row.map((button) =>
            "url" in button
              ? { text: button.text, url: button.url }
              : { text: button.text, callback_data: button.callbackData },
          ),
        ),
      },
    };
  }
  if ("keyboard" in replyMarkup) {
    return {
      reply_markup: {
        keyboard: replyMarkup.keyboard.map((row) => row.map((text) => ({ text }))),
        ...(replyMarkup.oneTime ? { one_time_keyboard: true } : {}),
        ...(replyMarkup.resize === false ? {} : { resize_keyboard: true }),
        ...(replyMarkup.placeholder === undefined
          ? {}
          : { input_field_placeholder: replyMarkup.placeholder }),
      },
    };
  }
  return { reply_markup: { remove_keyboard: true } };
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

/**
 * The webhook secret when none is configured: derived from the token, so every instance of
 * the bot agrees on it without configuration, and nobody without the token can guess it.
 */
export function deriveSecret(token: string): string {
  return createHmac("sha256", token).update("kamihi webhook secret").digest("base64url");
}
