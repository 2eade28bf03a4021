import {
  type AccessChange,
  type Clock,
  type Collection,
  KamihiError,
  type Logger,
} from "@kamihi/core";
import type { AccessCache } from "./cache.js";
import type { ChangeDoc, CounterDoc } from "./documents.js";

/** A seq number taken but not written this long is treated as a lost change (everyone). */
export const GAP_GRACE_MS = 10_000;
/** How many entries of the log one read takes. */
const BATCH = 500;

/** What {@link ChangeLog} needs. */
export interface ChangeLogOptions {
  changes: Collection<ChangeDoc>;
  counters: Collection<CounterDoc>;
  cache: AccessCache;
  clock: Clock;
  log: Logger;
  /** How long what was read stays fresh before `refreshIfStale()` reads the log again. */
  cacheMs: number;
}

/**
 * The numbered log of changes of access in `kamihi_access_changes`, shared by every instance
 * over one store. A write here records what it touched and applies it to this instance's cache
 * at once; `refresh()` reads what the others recorded since, and applies that. Listeners hear
 * both.
 */
export class ChangeLog {
  private readonly changes: Collection<ChangeDoc>;
  private readonly counters: Collection<CounterDoc>;
  private readonly cache: AccessCache;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly cacheMs: number;
  private readonly listeners = new Set<(change: AccessChange) => void>();
  /** The last entry this instance has applied. */
  private lastSeq = 0;
  private lastRefresh = 0;
  private refreshing: Promise<AccessChange[]> | undefined;
  /** Since when the entry after `lastSeq` is missing while later ones are there. */
  private gapSince: number | undefined;
  /** Entries this instance wrote: already applied, so not reported again by `refresh()`. */
  private readonly ownSeqs = new Set<number>();

  constructor(options: ChangeLogOptions) {
    this.changes = options.changes;
    this.counters = options.counters;
    this.cache = options.cache;
    this.clock = options.clock;
    this.log = options.log;
    this.cacheMs = options.cacheMs;
  }

  /** Starts reading the log from its current end: what happened before is in the store. */
  async start(): Promise<void> {
    const last = await this.changes.findOne({}, { sort: { seq: -1 } });
    this.lastSeq = last?.seq ?? 0;
    this.lastRefresh = this.clock();
  }

  onChange(listener: (change: AccessChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Reads and applies what other instances recorded since the last read (one read at a time). */
  refresh(): Promise<AccessChange[]> {
    this.refreshing ??= this.readChanges().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  /**
   * Refreshes when the last read is `cacheMs` old. When the log cannot be read (the store is
   * slow or down), known users go on being served from the cache and the log is read again
   * after `cacheMs`: nothing in it is lost meanwhile.
   */
  async refreshIfStale(): Promise<void> {
    if (!this.stale()) return;
    try {
      await this.refresh();
    } catch (error) {
      if (this.stale()) {
        this.lastRefresh = this.clock();
        this.log.warn(
          { err: error },
          "changes to users and permissions could not be read; known users are served from the cache",
        );
      }
    }
  }

  /** Resolves once no read of the log is under way (for a service that is closing). */
  async settled(): Promise<void> {
    await this.refreshing?.catch(() => undefined);
  }

  /** Records a change in the log (for the other instances) and applies it here at once. */
  async record(change: AccessChange): Promise<void> {
    this.apply(change);
    try {
      const counter = await this.counters.findOneAndUpdate(
        { name: "access" },
        { $inc: { seq: 1 } },
        { upsert: true },
      );
      const seq = counter?.seq;
      if (typeof seq !== "number")
        throw new KamihiError("KAMIHI_INTERNAL_BUG", "The change counter returned no number.");
      this.ownSeqs.add(seq);
      await this.changes.insertOne({
        seq,
        ...("all" in change ? { all: true } : { users: [...change.users] }),
        at: new Date(this.clock()),
      });
    } catch (error) {
      // The write itself succeeded; other instances will see it after their cache time at worst
      // (a lost log entry shows up as a gap, which they treat as "everything changed").
      this.log.warn({ err: error }, "a change of access could not be written to the change log");
    }
  }

  private stale(): boolean {
    return this.clock() - this.lastRefresh >= this.cacheMs;
  }

  private async readChanges(): Promise<AccessChange[]> {
    const found: AccessChange[] = [];
    for (;;) {
      const docs = await this.changes.find(
        { seq: { $gt: this.lastSeq } },
        { sort: { seq: 1 }, limit: BATCH },
      );
      let stoppedAtGap = false;
      for (const doc of docs) {
        if (doc.seq !== this.lastSeq + 1) {
          // A writer took the number but has not written the change yet; wait for it a while,
          // then treat it as lost (the writer died): drop everything rather than miss it.
          this.gapSince ??= this.clock();
          if (this.clock() - this.gapSince < GAP_GRACE_MS) {
            stoppedAtGap = true;
            break;
          }
          found.push({ all: true });
        }
        this.gapSince = undefined;
        this.lastSeq = doc.seq;
        if (this.ownSeqs.delete(doc.seq)) continue;
        found.push(doc.all === true ? { all: true } : { users: doc.users ?? [] });
      }
      if (stoppedAtGap || docs.length < BATCH) break;
    }
    this.lastRefresh = this.clock();
    for (const change of found) this.apply(change);
    return found;
  }

  private apply(change: AccessChange): void {
    this.cache.forget(change);
    for (const listener of this.listeners) {
      try {
        listener(change);
      } catch (error) {
        this.log.error({ err: error }, "an access change listener failed");
      }
    }
  }
}
