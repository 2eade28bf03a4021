import type { Logger } from "@kamihi/core";

/**
 * What a running bot must undo, in the reverse order it was set up (the shape of avvio's
 * `onClose`): `compose()` and `start()` push one entry per piece as it opens, and both a
 * failed start and `stop()` undo them by closing this one stack.
 */
export class Disposers {
  private readonly stack: Array<{ name: string; dispose: () => unknown }> = [];

  /** Pushes what undoes `name`; it runs before everything pushed earlier. */
  defer(name: string, dispose: () => unknown): void {
    this.stack.push({ name, dispose });
  }

  /** How many entries wait to run. */
  get size(): number {
    return this.stack.length;
  }

  /**
   * Runs every entry, newest first. One that fails is logged and the rest still run, so a
   * stuck piece never keeps the store open; closing twice does nothing the second time.
   */
  async close(log: Logger): Promise<void> {
    for (let entry = this.stack.pop(); entry !== undefined; entry = this.stack.pop()) {
      try {
        await entry.dispose();
      } catch (error) {
        log.warn({ err: error }, `${entry.name} did not close cleanly`);
      }
    }
  }
}
