import { type Clock, systemClock } from "@kamihi/core";
import { BotApiError } from "./api-error.js";

/** Flood limits the emulator enforces, as Telegram does (opt-in). */
export interface FloodLimits {
  /** Messages per second to one chat. Telegram: about 1. */
  perChatPerSecond?: number;
  /** Messages per minute to one group. Telegram: 20. */
  perGroupPerMinute?: number;
  /** Messages per second overall. Telegram: about 30. */
  globalPerSecond?: number;
}

/** Sliding windows of sent messages; answers 429 with `retry_after` when one is full. */
export class FloodGate {
  private readonly global: number[] = [];
  private readonly chats = new Map<string, number[]>();
  private readonly groups = new Map<string, number[]>();
  /** Every 429 answered, for tests. */
  rejected = 0;

  private readonly limits: FloodLimits;
  private readonly clock: Clock;

  /** `clock` tells the windows what time it is: tests step it past a window instead of waiting. */
  constructor(limits: FloodLimits, clock: Clock = systemClock) {
    this.limits = limits;
    this.clock = clock;
  }

  /** Records a send to `chatId` now, or throws the 429 Telegram would answer. */
  admit(chatId: number, now = this.clock()): void {
    const checks: Array<[number[], number | undefined, number]> = [
      [this.global, this.limits.globalPerSecond, 1000],
      [this.window(this.chats, chatId), this.limits.perChatPerSecond, 1000],
    ];
    if (chatId < 0)
      checks.push([this.window(this.groups, chatId), this.limits.perGroupPerMinute, 60_000]);
    let wait = 0;
    for (const [times, limit, span] of checks) {
      if (limit === undefined) continue;
      while (times.length > 0 && (times[0] as number) <= now - span) times.shift();
      if (times.length >= limit) wait = Math.max(wait, (times[0] as number) + span - now);
    }
    if (wait > 0) {
      this.rejected++;
      const seconds = Math.max(1, Math.ceil(wait / 1000));
      throw new BotApiError(429, `Too Many Requests: retry after ${seconds}`, seconds);
    }
    for (const [times, limit] of checks) if (limit !== undefined) times.push(now);
  }

  private window(map: Map<string, number[]>, chatId: number): number[] {
    const key = String(chatId);
    let times = map.get(key);
    if (times === undefined) {
      times = [];
      map.set(key, times);
    }
    return times;
  }
}
