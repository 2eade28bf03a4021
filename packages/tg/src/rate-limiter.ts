import { sleep } from "./sleep.js";

/** Telegram's outgoing limits, as in the `limits.*` settings. */
export interface RateLimits {
  /** Messages per second to one chat. Telegram: about 1. */
  perChatPerSecond: number;
  /** Messages per minute to one group (negative chat id). Telegram: 20. */
  perGroupPerMinute: number;
  /** Messages per second overall. Telegram: about 30. */
  globalPerSecond: number;
}

/** Telegram's published limits. */
export const TELEGRAM_LIMITS: RateLimits = {
  perChatPerSecond: 1,
  perGroupPerMinute: 20,
  globalPerSecond: 30,
};

/**
 * Paces outgoing messages under Telegram's limits, one FIFO queue per chat so a chat's
 * messages leave in order. Overall and per chat, messages are spread evenly (one every
 * `1 / limit` seconds, a little slower by `margin`) rather than sent in bursts, so network
 * jitter can never squeeze more than the limit into one of Telegram's windows; a group also
 * keeps within its per-minute window. Everything can be paused at once (a 429's
 * `retry_after`: Telegram's flood signal).
 *
 * Written here rather than taken from a library because evenly spaced global and per-chat
 * slots, a per-group minute window, per-chat FIFO order and a global pause are the whole
 * job; general limiters model one of them.
 */
export class RateLimiter {
  private readonly limits: RateLimits;
  private readonly margin: number;
  private nextGlobal = 0;
  /** Until when every chat waits (a 429's `retry_after`). */
  private pausedUntil = 0;
  private readonly chats = new Map<
    string,
    { next: number; minute: number[]; tail: Promise<void>; pending: number }
  >();
  private finished = 0;

  constructor(limits: RateLimits = TELEGRAM_LIMITS, options: { margin?: number } = {}) {
    this.limits = limits;
    this.margin = options.margin ?? 0.05;
  }

  /**
   * Runs `task` for `chatId` after every task queued earlier for the same chat. The task calls
   * `slot()` before each message it sends, and `slot` resolves when the limits allow one more;
   * the task's retries (429, 5xx) happen inside its turn, keeping the chat's order.
   */
  schedule<T>(
    chatId: number | string,
    task: (slot: () => Promise<void>) => Promise<T>,
  ): Promise<T> {
    const key = String(chatId);
    let chat = this.chats.get(key);
    if (chat === undefined) {
      chat = { next: 0, minute: [], tail: Promise.resolve(), pending: 0 };
      this.chats.set(key, chat);
    }
    const state = chat;
    state.pending++;
    const run = state.tail.then(() => task(() => this.admit(key, state)));
    state.tail = run.then(
      () => undefined,
      () => undefined,
    );
    return run.finally(() => {
      state.pending--;
      // Forget idle chats now and then, so a busy bot's map does not grow with every chat.
      if (++this.finished % 256 === 0) this.prune();
    });
  }

  /**
   * Holds every chat's queue until `ms` from now. Returns whether this starts a new pause (or
   * lengthens one by more than a second), so the caller logs a flood once, not per message.
   */
  pauseAll(ms: number): boolean {
    const until = Date.now() + ms;
    const news = until > this.pausedUntil + 1000;
    this.pausedUntil = Math.max(this.pausedUntil, until);
    return news;
  }

  /** Resolves when a pause started by {@link pauseAll} is over (at once when there is none). */
  async pausedFor(signal?: AbortSignal): Promise<void> {
    for (;;) {
      const wait = this.pausedUntil - Date.now();
      if (wait <= 0) return;
      await sleep(wait, signal);
    }
  }

  /**
   * Reserves the message's slot (the first moment the global and chat spacing allow, in
   * arrival order) and waits for it with one timer. Waiters never poll: a burst of sends costs
   * one timer each, not one per millisecond each. A group past its minute window, or a pause,
   * is waited out before reserving, so it holds no slot others could use.
   */
  private async admit(key: string, chat: { next: number; minute: number[] }) {
    const slow = 1 + this.margin;
    const globalGap = (1000 / this.limits.globalPerSecond) * slow;
    const chatGap = (1000 / this.limits.perChatPerSecond) * slow;
    const minute = 60_000 * slow;
    const isGroup = key.startsWith("-");
    for (;;) {
      let now = Date.now();
      while (chat.minute.length > 0 && (chat.minute[0] as number) <= now - minute)
        chat.minute.shift();
      let blocked = this.pausedUntil - now;
      if (isGroup && chat.minute.length >= this.limits.perGroupPerMinute) {
        blocked = Math.max(blocked, (chat.minute[0] as number) + minute - now);
      }
      if (blocked > 0) {
        await sleep(Math.ceil(blocked));
        continue;
      }
      const at = Math.max(now, this.nextGlobal, chat.next);
      this.nextGlobal = at + globalGap;
      chat.next = at + chatGap;
      if (isGroup) chat.minute.push(at);
      // Under a millisecond early is within a timer's own precision: sent now, the reserved
      // spacing still holds the pace.
      if (at - now >= 1) {
        await sleep(Math.floor(at - now));
        now = Date.now();
      }
      // A 429 during the wait pauses everyone, this message too.
      if (this.pausedUntil <= now) return;
    }
  }

  /** Drops idle chats (nothing queued, nothing recent), so the map stays small. */
  private prune() {
    const now = Date.now();
    const recent = now - 60_000 * (1 + this.margin);
    for (const [key, chat] of this.chats) {
      const idle = chat.next < now && (chat.minute.at(-1) ?? 0) < recent;
      if (idle && chat.pending === 0) this.chats.delete(key);
    }
  }
}
