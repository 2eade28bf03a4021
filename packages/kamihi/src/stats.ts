import { type Logger, redactTokens, type Store } from "@kamihi/core";

interface StatDoc extends Record<string, unknown> {
  action: string;
  runs: number;
  lastRunAt: Date;
}

interface ErrorDoc extends Record<string, unknown> {
  at: Date;
  action?: string;
  message: string;
}

/** Counts are written this often: one write per action per interval, not per run. */
const FLUSH_MS = 5_000;

/**
 * How often each action ran (`kamihi_action_stats`, summed over every instance) and the errors
 * actions threw (`kamihi_errors`, kept a week), for the admin's dashboard and actions page.
 */
export class ActionStats {
  private readonly stats;
  private readonly errors;
  private readonly log: Logger;
  private pending = new Map<string, { runs: number; lastRunAt: Date }>();
  private timer: NodeJS.Timeout | undefined;
  private ready: Promise<unknown> | undefined;

  constructor(store: Store, log: Logger) {
    this.stats = store.collection<StatDoc>("action_stats");
    this.errors = store.collection<ErrorDoc>("errors");
    this.log = log;
  }

  init(): Promise<unknown> {
    this.ready ??= Promise.all([
      this.stats.createIndex({ keys: { action: 1 }, unique: true }),
      this.errors.createIndex({ keys: { at: 1 }, expireAfterSeconds: 7 * 86_400 }),
    ]);
    this.timer ??= setInterval(() => void this.flush(), FLUSH_MS);
    this.timer.unref();
    return this.ready;
  }

  /** Counts one run (written with the next flush). */
  ran(action: string): void {
    const entry = this.pending.get(action) ?? { runs: 0, lastRunAt: new Date() };
    entry.runs += 1;
    entry.lastRunAt = new Date();
    this.pending.set(action, entry);
  }

  /** Records an error an action threw: its first line, tokens hidden. */
  failed(action: string, error: unknown): void {
    const text = error instanceof Error ? error.message : String(error);
    const message = redactTokens(text.split("\n")[0] ?? "").slice(0, 300);
    void this.errors.insertOne({ at: new Date(), action, message }).catch((cause: unknown) => {
      this.log.debug({ err: cause }, "an action error could not be recorded");
    });
  }

  /** Writes the counts gathered since the last flush. */
  async flush(): Promise<void> {
    if (this.pending.size === 0) return;
    const batch = this.pending;
    this.pending = new Map();
    for (const [action, { runs, lastRunAt }] of batch) {
      await this.stats
        .updateOne({ action }, { $inc: { runs }, $set: { lastRunAt } }, { upsert: true })
        .catch((error: unknown) => {
          this.log.debug({ err: error, action }, "action counts could not be written");
        });
    }
  }

  async read(): Promise<{ action: string; runs: number; lastRunAt?: Date }[]> {
    await this.flush();
    const docs = await this.stats.find({}, { sort: { action: 1 } });
    return docs.map((doc) => ({ action: doc.action, runs: doc.runs, lastRunAt: doc.lastRunAt }));
  }

  async recentErrors(limit = 10): Promise<{ at: Date; action?: string; message: string }[]> {
    const docs = await this.errors.find({}, { sort: { at: -1 }, limit });
    return docs.map((doc) => ({
      at: doc.at,
      message: doc.message,
      ...(doc.action === undefined ? {} : { action: doc.action }),
    }));
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.flush();
  }
}
