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
  /** Spacing between any two messages, in ms. */
  private readonly globalGap: number;
  /** Messages waiting for a global slot, in arrival order. */
  private readonly waiting: Array<() => void> = [];
  private releaseTimer: NodeJS.Timeout | undefined;
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
    this.globalGap = (1000 / limits.globalPerSecond) * (1 + this.margin);
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
   * Waits until this chat may send (its own spacing, its group's minute window, a pause), then
   * for a global slot. Waiters never poll: each waits on at most one timer of its own, and the
   * global queue is released by one shared timer, so a burst costs a timer per message, not
   * one per millisecond per message.
   */
  private async admit(key: string, chat: { next: number; minute: number[] }) {
    const slow = 1 + this.margin;
    const chatGap = (1000 / this.limits.perChatPerSecond) * slow;
    const minute = 60_000 * slow;
    const isGroup = key.startsWith("-");
    for (;;) {
      let now = Date.now();
      while (chat.minute.length > 0 && (chat.minute[0] as number) <= now - minute)
        chat.minute.shift();
      let wait = Math.max(this.pausedUntil - now, chat.next - now);
      if (isGroup && chat.minute.length >= this.limits.perGroupPerMinute) {
        wait = Math.max(wait, (chat.minute[0] as number) + minute - now);
      }
      if (wait > 0) {
        await sleep(Math.ceil(wait));
        continue;
      }
      await this.globalSlot();
      now = Date.now();
      // A 429 while this message waited for its slot: it waits out the pause too.
      if (this.pausedUntil > now) continue;
      chat.next = now + chatGap;
      if (isGroup) chat.minute.push(now);
      return;
    }
  }

  /** Resolves when the global spacing allows one more message, first come first served. */
  private globalSlot(): Promise<void> {
    if (this.waiting.length === 0 && this.releaseOne(Date.now())) return Promise.resolve();
    return new Promise((resolve) => {
      this.waiting.push(resolve);
      this.release();
    });
  }

  /**
   * Takes the next global slot if it is due. The spacing counts from when a message actually
   * leaves (a late timer does not make the next ones bunch up). Only when the spacing is
   * under a millisecond (limits above 1,000 a second, which millisecond timers could not
   * reach) may a message use up to a millisecond of unused time; at Telegram's limits the
   * spacing is never shortened, which keeps the margin for network jitter.
   */
  private releaseOne(now: number): boolean {
    if (this.nextGlobal > now || this.pausedUntil > now) return false;
    const credit = this.globalGap < 1 ? 1 : 0;
    this.nextGlobal = Math.max(this.nextGlobal, now - credit) + this.globalGap;
    return true;
  }

  /** Lets waiting messages go as their slots come due, on one timer. */
  private release(): void {
    if (this.releaseTimer !== undefined) return;
    const now = Date.now();
    while (this.waiting.length > 0 && this.releaseOne(now)) this.waiting.shift()?.();
    if (this.waiting.length === 0) return;
    const wait = Math.max(this.nextGlobal - now, this.pausedUntil - now, 1);
    this.releaseTimer = setTimeout(() => {
      this.releaseTimer = undefined;
      this.release();
    }, Math.ceil(wait));
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
