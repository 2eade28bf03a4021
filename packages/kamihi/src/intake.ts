import { randomUUID } from "node:crypto";
import {
  KamihiError,
  type Logger,
  type Store,
  type Update,
  type UpdateContext,
} from "@kamihi/core";
import type { ChatQueue } from "./chat-queue.js";
import { type Claim, Inbox } from "./inbox.js";
import { isStoreOutage, storeIsDown } from "./outage.js";
import { Slots } from "./slots.js";

/** `updates.*` settings. */
export interface IntakeSettings {
  maxInFlight: number;
  rememberHours: number;
  leaseSeconds: number;
  drainSeconds: number;
}

/** What {@link Intake} works with. */
export interface IntakeOptions {
  store: Store;
  log: Logger;
  /** The bot's Telegram id: update ids are per bot. */
  bot: number;
  settings: IntakeSettings;
  queue: ChatQueue;
  /** The queue key of an update: its chat, so one chat's updates run in order. */
  keyOf(update: Update): string;
  /** Handles one update (the dispatcher). A store outage rejects with a StoreOutage. */
  handle(update: Update, raw: unknown): Promise<void>;
  /** The transport's context for an update taken from the store (after a restart). */
  contextFor?(update: Update): UpdateContext;
  /** Updates tried this many times (each attempt a start or a takeover) are dropped. Default: 5. */
  maxAttempts?: number;
  /**
   * This is the only instance taking updates (polling: Telegram serves one poller), so
   * whatever is pending at start was left by a process that is gone.
   */
  exclusive?: boolean;
}

/** One update this process has taken: handling, or handled but not yet marked in the store. */
interface Local {
  update: Update;
  /** The store holds it as this process last left it (pending and held here, or done). */
  stored: boolean;
  /** `skipped`: handled before, or held by another live instance; nothing to write. */
  state: "running" | "finished" | "skipped";
  /** The write of this entry in progress, so two callers never write it twice at once. */
  writing?: Promise<void>;
}

/**
 * Takes updates in so that none is lost and none runs twice (docs/architecture §3, Delivery).
 *
 * - An update is stored (`kamihi_updates`, pending, held by this instance) before the
 *   transport confirms it to Telegram; once handled it is marked done, and its id is
 *   remembered `updates.rememberHours`, so a redelivery is recognised and skipped.
 * - At most `updates.maxInFlight` updates are handled at once; the transport waits for a slot
 *   before taking more, so a burst is taken as fast as it is handled and memory stays bounded.
 * - While the store is down, updates are still handled from memory where they can be (known
 *   users come from the cache), but none is confirmed to Telegram: the transport keeps them,
 *   delivers them again, and they are confirmed once the store has them. Handling that needs
 *   the store waits for it, in its chat's turn.
 * - A holder renews its lease while it works. Updates whose holder died (a crash, a SIGKILL)
 *   are taken over when the lease runs out; a clean stop lets go of the unfinished ones at
 *   once, so the next start handles them first.
 */
export class Intake {
  private readonly options: IntakeOptions;
  private readonly inbox: Inbox;
  private readonly slots: Slots;
  private readonly local = new Map<number, Local>();
  private readonly log: Logger;
  private timer: NodeJS.Timeout | undefined;
  private stopping = false;
  private recovering: Promise<void> | undefined;
  private probing: Promise<void> | undefined;

  constructor(options: IntakeOptions) {
    this.options = options;
    this.log = options.log;
    this.slots = new Slots(options.settings.maxInFlight);
    this.inbox = new Inbox({
      store: options.store,
      bot: options.bot,
      owner: randomUUID(),
      leaseSeconds: options.settings.leaseSeconds,
      rememberHours: options.settings.rememberHours,
    });
  }

  /** Creates the indexes, takes over what a stopped instance left, and starts the lease timer. */
  async start(): Promise<void> {
    await this.inbox.init();
    // The only instance (polling): what is pending was left by a stopped or dead process, and
    // is taken over now, before new updates, so each chat keeps its order across a crash.
    await this.recover(this.options.exclusive === true);
    const every = Math.max(500, (this.options.settings.leaseSeconds * 1000) / 3);
    this.timer = setInterval(() => void this.tick(), every);
    this.timer.unref();
  }

  /** How many updates are being handled right now. */
  get inFlight(): number {
    return this.slots.used;
  }

  /**
   * The transport's update handler: resolves once the update is safe, rejects while it is not
   * (the store is down), so the transport confirms only what is safe.
   */
  accept = async (update: Update, context: UpdateContext): Promise<void> => {
    if (this.stopping) throw closedError();
    const id = update.update_id;
    let entry = this.local.get(id);
    if (entry === undefined) {
      if (this.local.size >= this.options.settings.maxInFlight * 10) {
        // The store has been down long enough to build a backlog: take nothing more for now.
        throw closedError("The store is unavailable; updates wait at Telegram until it is back.");
      }
      await this.slots.acquire();
      entry = this.local.get(id);
      if (entry === undefined) {
        entry = { update, stored: false, state: "running" };
        this.local.set(id, entry);
        const claim = this.inbox.claim(update);
        // Queued now, in the order updates came in, whatever order the store answers in.
        this.run(entry, context.raw, claim);
        try {
          await claim;
        } catch (error) {
          // The store is down: Telegram keeps the update, and delivers it again.
          if (isStoreOutage(error)) throw error;
          // The store refuses this update for good: asking Telegram again would never end.
          this.log.error(
            { err: error, updateId: id },
            "an update could not be stored; it is handled without surviving a crash",
          );
          entry.stored = true;
          return;
        }
        // Confirmed to Telegram only once it would survive a crash of this process.
        await this.options.store.sync?.();
        entry.stored = true;
        return;
      }
      this.slots.release();
    }
    // Delivered again while this process still has it: confirmed once the store has it.
    if (!entry.stored) {
      await this.persist(id, entry);
      await this.options.store.sync?.();
    }
  };

  /** Handles an update in its chat's turn, then marks it done. */
  private run(entry: Local, raw: unknown, claim: Promise<Claim>): void {
    const { update } = entry;
    const { queue, keyOf } = this.options;
    void queue
      .run(keyOf(update), async () => {
        // Not stored (the store is down, or refused it): handled from memory all the same.
        const claimed = await claim.catch(() => "unstored" as const);
        if (claimed === "done" || claimed === "elsewhere") {
          entry.state = "skipped";
          return;
        }
        await this.handleUntilStored(update, raw);
      })
      .catch((error: unknown) => {
        this.log.error(
          { err: error, updateId: update.update_id },
          "an update could not be handled",
        );
      })
      .finally(() => {
        if (entry.state === "running") entry.state = "finished";
        this.slots.release();
        this.persist(update.update_id, entry).catch(() => {
          // The store is down: kept here until a redelivery or the timer writes it.
          entry.stored = false;
        });
      });
  }

  /**
   * Handles an update; when it fails because the store is down, waits for the store and tries
   * again (the chat keeps its order meanwhile). A stop ends the waiting: the update stays
   * pending in the store, or with Telegram, for the next start.
   */
  private async handleUntilStored(update: Update, raw: unknown): Promise<void> {
    for (;;) {
      try {
        await this.options.handle(update, raw);
        return;
      } catch (error) {
        if (this.stopping || !(await storeIsDown(this.options.store, error))) throw error;
        this.log.warn(
          { updateId: update.update_id },
          "the store is unavailable; the update waits for it",
        );
        await this.storeBack();
        if (this.stopping) throw error;
      }
    }
  }

  /** Resolves when the store answers a ping again (one prober for every waiting update). */
  private storeBack(): Promise<void> {
    this.probing ??= (async () => {
      while (!this.stopping) {
        await new Promise((resolve) => setTimeout(resolve, 250));
        if (
          await this.options.store.ping().then(
            () => true,
            () => false,
          )
        )
          return;
      }
    })().finally(() => {
      this.probing = undefined;
    });
    return this.probing;
  }

  /** Writes what this process knows of an update into the store; forgets it once written. */
  private persist(id: number, entry: Local): Promise<void> {
    entry.writing ??= this.write(id, entry).finally(() => {
      entry.writing = undefined;
    });
    return entry.writing;
  }

  private async write(id: number, entry: Local): Promise<void> {
    if (entry.state === "running") {
      // Still being handled (from memory, the store was down): stored as pending, held here.
      await this.inbox.claim(entry.update);
      entry.stored = true;
      return;
    }
    if (entry.state === "finished") await this.inbox.done(id);
    entry.stored = true;
    if (this.local.get(id) === entry) this.local.delete(id);
  }

  /** Renews leases, writes what the store missed, and takes over abandoned updates. */
  private async tick(): Promise<void> {
    const working: number[] = [];
    for (const [id, entry] of this.local) {
      if (entry.state === "running") {
        if (entry.stored) working.push(id);
        else await this.persist(id, entry).catch(() => {});
      } else await this.persist(id, entry).catch(() => {});
    }
    await this.inbox.renew(working).catch((error: unknown) => {
      this.log.warn({ err: error }, "leases on the updates in progress could not be renewed");
    });
    await this.recover().catch((error: unknown) => {
      this.log.warn({ err: error }, "updates left by a stopped instance could not be looked up");
    });
  }

  /**
   * Takes over pending updates whose holder is gone (its lease ran out), oldest first, as
   * slots allow; with `all`, every update another instance holds.
   */
  recover(all = false): Promise<void> {
    this.recovering ??= this.recoverNow(all).finally(() => {
      this.recovering = undefined;
    });
    return this.recovering;
  }

  private async recoverNow(all: boolean): Promise<void> {
    const maxAttempts = this.options.maxAttempts ?? 5;
    for (;;) {
      if (this.stopping) return;
      // At start (all), everything pending is queued before new updates, waiting for slots as
      // needed; later, only as many as there are free slots.
      const room = all ? 100 : Math.min(this.options.settings.maxInFlight - this.slots.used, 100);
      if (room <= 0) return;
      const abandoned = await this.inbox.abandoned(room, all);
      if (abandoned.length === 0) return;
      for (const found of abandoned) {
        if (this.local.has(found.updateId)) continue;
        await this.slots.acquire();
        const entry = await this.inbox.takeOver(found.updateId, all).catch((error: unknown) => {
          this.slots.release();
          throw error;
        });
        if (entry === null || entry.update === undefined || this.local.has(found.updateId)) {
          this.slots.release();
          continue;
        }
        if (entry.attempts > maxAttempts) {
          this.slots.release();
          this.log.error(
            { updateId: entry.updateId, attempts: entry.attempts },
            "an update was started too many times without finishing (it may crash the bot); it is dropped",
          );
          await this.inbox.done(entry.updateId);
          continue;
        }
        this.log.info(
          { updateId: entry.updateId, attempts: entry.attempts },
          "taking over an update a stopped instance did not finish",
        );
        const local: Local = { update: entry.update, stored: true, state: "running" };
        this.local.set(entry.updateId, local);
        const raw = this.options.contextFor?.(entry.update).raw;
        this.run(local, raw, Promise.resolve("taken-over"));
      }
      if (abandoned.length < room) return;
    }
  }

  /** Takes no more updates: those waiting for a slot are refused (they stay with Telegram). */
  close(): void {
    this.stopping = true;
    clearInterval(this.timer);
    this.slots.close();
  }

  /**
   * Stops taking updates, gives those in progress `updates.drainSeconds` to finish, writes
   * what the store missed and lets go of the rest, so the next start takes them at once.
   */
  async stop(drain: () => Promise<void>): Promise<void> {
    this.close();
    await this.recovering?.catch(() => {});
    const deadline = this.options.settings.drainSeconds * 1000;
    let timer: NodeJS.Timeout | undefined;
    const late = await Promise.race([
      drain().then(() => false),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(true), deadline);
      }),
    ]);
    clearTimeout(timer);
    const unfinished: number[] = [];
    for (const [id, entry] of this.local) {
      if (entry.state === "running") unfinished.push(id);
      else await this.persist(id, entry).catch(() => {});
    }
    if (late) {
      this.log.warn(
        { updates: unfinished.length, waitedMs: deadline },
        "updates still in progress at the stop deadline; the next start handles them again",
      );
    }
    await this.inbox.release(unfinished).catch((error: unknown) => {
      this.log.warn(
        { err: error },
        "unfinished updates could not be released; they are taken over when their lease runs out",
      );
    });
  }
}

function closedError(message = "The bot is stopping; it takes no more updates."): Error {
  return new KamihiError("KAMIHI_BOT_NOT_RUNNING", message);
}
