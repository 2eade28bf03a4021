import type { ChatId } from "@kamihi/core";
import type { Call } from "./call.js";
import type { RateLimiter } from "./rate-limiter.js";
import type { Post } from "./send.js";

/** Runs a task as one turn of a chat's queue, with a `post` that calls within it. */
export type InTurn = <T>(chatId: ChatId, task: (post: Post) => Promise<T>) => Promise<T>;

/**
 * Everything one logical message needs (several parts, a fallback, a caption that follows)
 * runs as one turn of the chat's queue, so two messages to a chat never interleave; each
 * API call inside still waits for a slot under the limits.
 */
export function createChatTurns(limiter: RateLimiter, call: Call): InTurn {
  return (chatId, task) =>
    limiter.schedule(chatId, (slot) =>
      task(<R>(method: string, payload: Record<string, unknown>) =>
        call<R>(method, { chat_id: chatId, ...payload }, { chatId, slot }),
      ),
    );
}
