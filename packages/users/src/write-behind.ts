/**
 * Writes that may lag behind (a user's lastSeenAt), kept off the update path: one pending
 * write per key (a newer one replaces it), at most `concurrency` running at once, so a burst of
 * new users never floods the store with writes that compete with the updates themselves.
 */
export class WriteBehind<K> {
  private readonly queued = new Map<K, () => Promise<void>>();
  private running = 0;
  private readonly concurrency: number;
  private readonly onError: (key: K, error: unknown) => void;
  private idleWaiters: Array<() => void> = [];

  constructor(options: { concurrency: number; onError: (key: K, error: unknown) => void }) {
    this.concurrency = options.concurrency;
    this.onError = options.onError;
  }

  /** Queues `write` for `key`, replacing a write still waiting for the same key. */
  push(key: K, write: () => Promise<void>): void {
    this.queued.delete(key);
    this.queued.set(key, write);
    this.pump();
  }

  /** Resolves once nothing is queued or running. */
  idle(): Promise<void> {
    if (this.running === 0 && this.queued.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private pump(): void {
    while (this.running < this.concurrency && this.queued.size > 0) {
      const [key, write] = this.queued.entries().next().value as [K, () => Promise<void>];
      this.queued.delete(key);
      this.running++;
      write()
        .catch((error: unknown) => this.onError(key, error))
        .finally(() => {
          this.running--;
          this.pump();
          if (this.running === 0 && this.queued.size === 0) {
            for (const wake of this.idleWaiters.splice(0)) wake();
          }
        });
    }
  }
}
