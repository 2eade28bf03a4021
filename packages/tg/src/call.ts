import type { ChatId, Logger } from "@kamihi/core";
import type { Telegraf } from "telegraf";
import { type CallFailure, failureError, readFailure } from "./errors.js";
import type { RateLimiter } from "./rate-limiter.js";
import { sleep } from "./sleep.js";

/** Methods that can run twice without a second visible effect. */
const IDEMPOTENT = new Set([
  "getMe",
  "getFile",
  "getUpdates",
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

/** How one call waits and for whom. */
export interface CallOptions {
  /** The chat a message goes to: named in errors. */
  chatId?: ChatId;
  /**
   * Waits for a sending slot under the rate limits; awaited before every attempt, so a retry
   * after a 429 waits out the pause and keeps the pace like any other message.
   */
  slot?: () => Promise<void>;
  /** Aborts the call and any wait between its attempts (a stop). */
  signal?: AbortSignal;
}

/** One Bot API call, with the waiting and retrying Telegram asks for. */
export type Call = <T>(
  method: string,
  payload: Record<string, unknown>,
  options?: CallOptions,
) => Promise<T>;

/** What {@link createCall} works with. */
export interface CallDeps {
  telegram: Telegraf["telegram"];
  token: string;
  log: Logger;
  limiter: RateLimiter;
  /** Retries of a call after a 5xx or a network error that it is safe to retry. */
  retries: number;
  /** First retry delay; doubles each time. */
  retryDelayMs: number;
}

/**
 * Calls the Bot API. A 429 is never a failure: Telegram's `retry_after` is waited out however
 * long it is, and every chat waits with it (Telegram signals flood for the bot, so one chat's
 * 429 holds all sending, not just that chat's). 5xx answers and network failures that are
 * safe to repeat back off and retry a few times; anything else is a typed error.
 */
export function createCall(deps: CallDeps): Call {
  const { telegram, token, log, limiter, retries, retryDelayMs } = deps;
  return async function call<T>(
    method: string,
    payload: Record<string, unknown>,
    options: CallOptions = {},
  ): Promise<T> {
    const { chatId, slot, signal } = options;
    let failures = 0;
    for (;;) {
      await slot?.();
      try {
        return (await telegram.callApi(
          method as never,
          payload as never,
          // node-fetch (inside Telegraf) accepts the native AbortSignal; its typings name another.
          (signal === undefined ? {} : { signal }) as never,
        )) as T;
      } catch (error) {
        if (signal?.aborted) throw signal.reason;
        const failure = readFailure(error, token);
        if (failure.code === 429) {
          const wait = Math.max(failure.retryAfter ?? 1, 1) * 1000;
          if (limiter.pauseAll(wait)) {
            log.warn(
              { method, waitMs: wait, ...(chatId === undefined ? {} : { chatId }) },
              `Telegram asked to slow down (429); every chat waits ${wait / 1000}s`,
            );
          }
          // With a slot, the next attempt waits in it for the pause to end.
          if (slot === undefined) await limiter.pausedFor(signal);
          continue;
        }
        if (!retryable(method, failure) || failures >= retries) {
          throw failureError(method, failure, chatId, error);
        }
        const wait = retryDelayMs * 2 ** failures++;
        log.warn(
          { method, waitMs: wait, code: failure.code },
          `retrying ${method}: ${failure.description}`,
        );
        await sleep(wait, signal);
      }
    }
  };
}

function retryable(method: string, failure: CallFailure): boolean {
  if (failure.code !== undefined && failure.code >= 500) return true;
  return failure.network === true && (failure.notSent === true || IDEMPOTENT.has(method));
}
