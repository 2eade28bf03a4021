import { type Collection, isKamihiError, type Store, type Update } from "@kamihi/core";

/** One update the bot took in, as kept in `kamihi_updates`. */
export interface InboxEntry extends Record<string, unknown> {
  /** `<bot id>:<update id>`: update ids are per bot, and a store may serve several bots. */
  _id: string;
  bot: number;
  updateId: number;
  /** `pending` until handled; a `done` entry only remembers the id, so a redelivery is skipped. */
  state: "pending" | "done";
  /** The update, while pending: another start or instance can handle it from here. */
  update?: Update;
  /** The instance handling it. */
  owner: string;
  /** Until when `owner` holds it; renewed while it works, then anyone may take it over. */
  leaseUntil: Date;
  /** How many times handling was started: an update that keeps crashing its instance is dropped. */
  attempts: number;
  /** When the store forgets it (`updates.rememberHours` after it came in). */
  expiresAt: Date;
}

/** What the inbox says of an update it is offered. */
export type Claim =
  /** Newly taken in: this instance handles it. */
  | "claimed"
  /** Left by an instance that stopped or died: this one takes it over. */
  | "taken-over"
  /** Handled already (a redelivery): skip it. */
  | "done"
  /** Another live instance is handling it: skip it. */
  | "elsewhere";

/** The store's view of the updates this bot took in: durable intake and de-duplication. */
export class Inbox {
  private readonly entries: Collection<InboxEntry>;
  private readonly bot: number;
  private readonly owner: string;
  private readonly leaseMs: number;
  private readonly rememberMs: number;
  private readonly now: () => number;

  constructor(options: {
    store: Store;
    bot: number;
    owner: string;
    leaseSeconds: number;
    rememberHours: number;
    now?: () => number;
  }) {
    this.entries = options.store.collection<InboxEntry>("updates");
    this.bot = options.bot;
    this.owner = options.owner;
    this.leaseMs = options.leaseSeconds * 1000;
    this.rememberMs = options.rememberHours * 3_600_000;
    this.now = options.now ?? Date.now;
  }

  async init(): Promise<void> {
    await Promise.all([
      this.entries.createIndex({ keys: { expiresAt: 1 }, expireAfterSeconds: 0 }),
      this.entries.createIndex({ keys: { state: 1, leaseUntil: 1 } }),
    ]);
  }

  private id(updateId: number): string {
    return `${this.bot}:${updateId}`;
  }

  private lease(): Date {
    return new Date(this.now() + this.leaseMs);
  }

  /**
   * Takes an update in: stored as pending and held by this instance, or recognised as one
   * already handled or held elsewhere. Rejects when the store cannot be written.
   */
  async claim(update: Update): Promise<Claim> {
    const now = this.now();
    try {
      await this.entries.insertOne({
        _id: this.id(update.update_id),
        bot: this.bot,
        updateId: update.update_id,
        state: "pending",
        update,
        owner: this.owner,
        leaseUntil: this.lease(),
        attempts: 1,
        expiresAt: new Date(now + this.rememberMs),
      });
      return "claimed";
    } catch (error) {
      if (!isKamihiError(error, "KAMIHI_DB_DUPLICATE_KEY")) throw error;
    }
    const existing = await this.entries.findOne({ _id: this.id(update.update_id) });
    if (existing === null) return this.claim(update);
    if (existing.state === "done") return "done";
    if (existing.owner === this.owner) return "elsewhere";
    return (await this.takeOver(update.update_id)) === null ? "elsewhere" : "taken-over";
  }

  /** Takes over a pending update whose holder's lease ran out; null when someone else did. */
  takeOver(updateId: number): Promise<InboxEntry | null> {
    return this.entries.findOneAndUpdate(
      {
        _id: this.id(updateId),
        state: "pending",
        leaseUntil: { $lt: new Date(this.now()) },
      },
      { $set: { owner: this.owner, leaseUntil: this.lease() }, $inc: { attempts: 1 } },
      { returnDocument: "after" },
    );
  }

  /** Pending updates whose holder's lease ran out, oldest first. */
  abandoned(limit: number): Promise<InboxEntry[]> {
    return this.entries.find(
      { bot: this.bot, state: "pending", leaseUntil: { $lt: new Date(this.now()) } },
      { sort: { updateId: 1 }, limit },
    );
  }

  /**
   * Marks an update handled: only its id stays, until `expiresAt`. Written even when the
   * update never made it into the store (taken in while the store was down).
   */
  async done(updateId: number): Promise<void> {
    const now = this.now();
    await this.entries.updateOne(
      { _id: this.id(updateId) },
      {
        $set: { state: "done", owner: this.owner, leaseUntil: new Date(now) },
        $unset: { update: true },
        $setOnInsert: {
          bot: this.bot,
          updateId,
          attempts: 1,
          expiresAt: new Date(now + this.rememberMs),
        },
      },
      { upsert: true },
    );
  }

  /** Renews this instance's hold on the updates it is still working on. */
  async renew(updateIds: readonly number[]): Promise<void> {
    if (updateIds.length === 0) return;
    await this.entries.updateMany(
      { _id: { $in: updateIds.map((id) => this.id(id)) }, owner: this.owner, state: "pending" },
      { $set: { leaseUntil: this.lease() } },
    );
  }

  /** Lets go of updates this instance will not finish: the next start takes them at once. */
  async release(updateIds: readonly number[]): Promise<void> {
    if (updateIds.length === 0) return;
    await this.entries.updateMany(
      { _id: { $in: updateIds.map((id) => this.id(id)) }, owner: this.owner, state: "pending" },
      { $set: { leaseUntil: new Date(0) } },
    );
  }

  /** Gives up on an update that kept failing: remembered as handled, never tried again. */
  async drop(updateId: number): Promise<void> {
    await this.done(updateId);
  }
}
