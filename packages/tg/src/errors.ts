import { KamihiError } from "@kamihi/core";

/** What a failed Bot API call looked like, from Telegraf's error or a network error. */
export interface CallFailure {
  /** Telegram's `error_code`, or undefined for a network error. */
  code?: number;
  description: string;
  retryAfter?: number;
  /** A network error whose request may not have reached Telegram at all. */
  notSent?: boolean;
  network?: boolean;
}

const NOT_SENT = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH"]);

/** Reads Telegraf's TelegramError or a fetch error, without keeping the token anywhere. */
export function readFailure(error: unknown, token: string): CallFailure {
  const e = error as {
    code?: unknown;
    errno?: unknown;
    type?: string;
    description?: string;
    message?: string;
    parameters?: { retry_after?: number };
    response?: { error_code?: number; description?: string; parameters?: { retry_after?: number } };
  };
  const scrub = (text: string) => text.split(token).join("<token>");
  if (e.response !== undefined && typeof e.response.error_code === "number") {
    return {
      code: e.response.error_code,
      description: scrub(e.response.description ?? e.description ?? ""),
      ...(e.response.parameters?.retry_after === undefined
        ? {}
        : { retryAfter: e.response.parameters.retry_after }),
    };
  }
  const systemCode =
    typeof e.code === "string" ? e.code : typeof e.errno === "string" ? e.errno : undefined;
  return {
    description: scrub(e.message ?? String(error)),
    network: true,
    notSent: systemCode !== undefined && NOT_SENT.has(systemCode),
  };
}

/** The typed error for a failed call; the message names the method, never the token. */
export function failureError(
  method: string,
  failure: CallFailure,
  chatId?: number | string,
  cause?: unknown,
): KamihiError {
  const details = {
    method,
    ...(failure.code === undefined ? {} : { errorCode: failure.code }),
    description: failure.description,
    ...(chatId === undefined ? {} : { chatId }),
  };
  const options = {
    details,
    ...(cause === undefined ? {} : { cause: sanitize(cause, failure.description) }),
  };
  if (
    failure.code === 403 &&
    /blocked|deactivated|kicked|not a member|can't initiate/i.test(failure.description)
  ) {
    return new KamihiError(
      "KAMIHI_TG_BLOCKED",
      `Telegram refused ${method} to chat ${String(chatId)}: ${failure.description}. The user has blocked the bot or left; stop messaging them.`,
      options,
    );
  }
  if (failure.code === 400 && /file is too big/i.test(failure.description)) {
    return new KamihiError(
      "KAMIHI_TG_FILE_UNAVAILABLE",
      `Telegram has no downloadable copy of that file (${method}: ${failure.description}): the Bot API serves files of up to 20 MB. Ask for a smaller file, or use a local Bot API server.`,
      options,
    );
  }
  if (failure.code === 400 && /chat not found/i.test(failure.description)) {
    return new KamihiError(
      "KAMIHI_TG_CHAT_NOT_FOUND",
      `Telegram says chat ${String(chatId)} does not exist for this bot (${method}). The user must start a chat with the bot first.`,
      options,
    );
  }
  // 404: no bot at this path (a malformed token, or an apiRoot that is not a Bot API); the
  // methods Kamihi calls all exist. Polling stops on both for the same reason.
  if (failure.code === 401 || failure.code === 404) {
    return new KamihiError(
      "KAMIHI_TG_UNAUTHORIZED",
      `The Bot API ${failure.code === 401 ? "refused" : "does not know"} the bot token (${method}: ${failure.description}). Get the current token from @BotFather and set KAMIHI_TOKEN, or check tg.apiRoot.`,
      options,
    );
  }
  return new KamihiError(
    "KAMIHI_TG_REQUEST_FAILED",
    failure.network
      ? `The Bot API could not be reached for ${method}: ${failure.description}. Check the network and tg.apiRoot.`
      : `The Bot API answered ${method} with ${failure.code}: ${failure.description}`,
    options,
  );
}

/** A cause without the token: Telegraf's errors keep the request, whose URL holds it. */
function sanitize(cause: unknown, description: string): Error {
  const error = new Error(description);
  error.name = cause instanceof Error ? cause.name : "Error";
  return error;
}

/**
 * A copy of an error that is safe to log: the token removed from its message and stack, and
 * no `cause` chain (Telegraf and node-fetch errors keep the request URL, which holds the token).
 */
export function scrubError(error: unknown, token: string): Error {
  const source = error instanceof Error ? error : new Error(String(error));
  const clean = (text: string) => text.split(token).join("<token>");
  const copy = new Error(clean(source.message));
  copy.name = source.name;
  if (source.stack !== undefined) copy.stack = clean(source.stack);
  return copy;
}
