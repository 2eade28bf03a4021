import { KamihiError } from "@kamihi/core";

/**
 * A counting semaphore with a FIFO queue: at most `size` holders at once, waiters served in
 * the order they asked. `close()` refuses every waiter and every later request.
 */
export class Slots {
  private readonly size: number;
  private held = 0;
  private readonly waiters: Array<{ resolve: () => void; reject: (error: Error) => void }> = [];
  private closed = false;

  constructor(size: number) {
    this.size = size;
  }

  /** How many are held right now. */
  get used(): number {
    return this.held;
  }

  /** Resolves when a slot is this caller's; give it back with {@link release}. */
  acquire(): Promise<void> {
    if (this.closed) return Promise.reject(stopping());
    if (this.held < this.size && this.waiters.length === 0) {
      this.held++;
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  /** Gives a slot back: to the longest waiter, if any. */
  release(): void {
    const next = this.waiters.shift();
    if (next !== undefined) next.resolve();
    else this.held--;
  }

  /** Refuses the waiting callers and every later `acquire()`; holders keep their slots. */
  close(): void {
    this.closed = true;
    for (const waiter of this.waiters.splice(0)) waiter.reject(stopping());
  }
}

function stopping(): KamihiError {
  return new KamihiError(
    "KAMIHI_BOT_NOT_RUNNING",
    "The bot is stopping; it takes no more updates.",
  );
}
