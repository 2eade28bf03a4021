import { type Collection, isKamihiError, type Store, type Update } from "@kamihi/core";

/** An update taken in and not yet handled, as kept in `kamihi_updates`. */
export interface PendingUpdate extends Record<string, unknown> {
  /** `<bot id>:<update id>`: update ids are per bot, and a store may serve several bots. */
  _id: string;
  bot: number;
  updateId: number;
  /** The update: another start or instance can handle it from here. */
  update: Update;
  /** The instance handling it. */
  owner: string;
  /** Until when `owner` holds it; renewed while it works, then anyone may take it over. */
  leaseUntil: Date;
  /** How many times handling was started: an update that keeps crashing its instance is dropped. */
  attempts: number;
  /** Forgotten after `updates.rememberHours` even if nobody finished it. */
  expiresAt: Date;
}

/** A handled update's id, kept `updates.rememberHours` in `kamihi_updates_done`. */
interface HandledUpdate extends Record<string, unknown> {
  _id: string;
  expiresAt: Date;
}

/**
 * Updates finishing within this long are marked done in one write. Nobody waits for it (the
 * answer is sent, the slot free); a larger batch spares a slow store many small writes.
 */
const DONE_BATCH_MS = 50;

/** A batch of claims written together: whether all went in, and which were handled before. */
type ClaimBatch = { inserted: true; handled: ReadonlySet<string> } | { inserted: false };

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

/**
 * The store's view of the updates a bot took in: durable intake and de-duplication.
 *
 * Every step on the update path is an insert or a delete of a whole document, never an
 * update of one: those are atomic on every MongoDB-compatible server without extra locking
 * (FerretDB 1.x needs a lock for updates), and cheap. Finishing inserts the done marker before
 * deleting the pending entry, and taking in re-checks the marker after inserting, so an update
 * finished elsewhere meanwhile is never run again. Writes asked for together (a polling batch
 * taken in, updates finishing at about the same time) go to the store as one `insertMany` /
 * `deleteMany`: a burst costs a few round trips per batch, not per update.
 */
export class Inbox {
  private readonly pending: Collection<PendingUpdate>;
  private readonly handled: Collection<HandledUpdate>;
  private readonly bot: number;
  private readonly owner: string;
  private readonly leaseMs: number;
  private readonly rememberMs: number;
  private readonly now: () => number;
  private claims: Array<{ doc: PendingUpdate; settle: (batch: Promise<ClaimBatch>) => void }> = [];
  private finishing: Array<{ id: string; settle: (written: Promise<void>) => void }> = [];

  constructor(options: {
    store: Store;
    bot: number;
    owner: string;
    leaseSeconds: number;
    rememberHours: number;
    now?: () => number;
  }) {
    this.pending = options.store.collection<PendingUpdate>("updates");
    this.handled = options.store.collection<HandledUpdate>("updates_done");
    this.bot = options.bot;
    this.owner = options.owner;
    this.leaseMs = options.leaseSeconds * 1000;
    this.rememberMs = options.rememberHours * 3_600_000;
    this.now = options.now ?? Date.now;
  }

  async init(): Promise<void> {
    await Promise.all([
      this.pending.createIndex({ keys: { expiresAt: 1 }, expireAfterSeconds: 0 }),
      this.pending.createIndex({ keys: { bot: 1, leaseUntil: 1 } }),
      this.handled.createIndex({ keys: { expiresAt: 1 }, expireAfterSeconds: 0 }),
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
    const id = this.id(update.update_id);
    const doc: PendingUpdate = {
      _id: id,
      bot: this.bot,
      updateId: update.update_id,
      update,
      owner: this.owner,
      leaseUntil: this.lease(),
      attempts: 1,
      expiresAt: new Date(this.now() + this.rememberMs),
    };
    const batch = await new Promise<ClaimBatch>((resolve, reject) => {
      if (this.claims.length === 0) setImmediate(() => this.insertClaims());
      this.claims.push({ doc, settle: (result) => result.then(resolve, reject) });
    });
    let handled: boolean;
    if (batch.inserted) {
      handled = batch.handled.has(id);
    } else {
      if (!(await this.insertOne(doc))) {
        // Someone holds it already: another instance (alive or not) or this one.
        const held = await this.pending.findOne({ _id: id }, { projection: { owner: 1 } });
        if (held === null) return this.claim(update);
        if (held.owner !== this.owner) {
          return (await this.takeOver(update.update_id)) === null ? "elsewhere" : "taken-over";
        }
      }
      handled = (await this.handled.findOne({ _id: id }, { projection: { _id: 1 } })) !== null;
    }
    if (handled) {
      // Handled before (its pending entry was already gone): a redelivery.
      await this.pending.deleteOne({ _id: id });
      return "done";
    }
    return "claimed";
  }

  /**
   * Inserts the claims asked for since the last batch, then looks their done markers up in one
   * query (after the insert: an update finished elsewhere meanwhile is still seen). A clash
   * sends each claim on its own.
   */
  private insertClaims(): void {
    const batch = this.claims;
    this.claims = [];
    const docs = batch.map((claim) => claim.doc);
    const settled = this.pending.insertMany(docs).then(
      async (): Promise<ClaimBatch> => {
        const marked = await this.handled.find(
          { _id: { $in: docs.map((doc) => doc._id) } },
          { projection: { _id: 1 } },
        );
        return { inserted: true, handled: new Set(marked.map((doc) => doc._id)) };
      },
      (error: unknown): ClaimBatch => {
        if (isKamihiError(error, "KAMIHI_DB_DUPLICATE_KEY")) return { inserted: false };
        throw error;
      },
    );
    for (const claim of batch) claim.settle(settled);
  }

  /** Inserts one pending entry; false when its id is taken. */
  private async insertOne(doc: PendingUpdate): Promise<boolean> {
    try {
      await this.pending.insertOne(doc);
      return true;
    } catch (error) {
      if (isKamihiError(error, "KAMIHI_DB_DUPLICATE_KEY")) return false;
      throw error;
    }
  }

  /**
   * Takes over a pending update whose holder's lease ran out (with `any`, whoever holds it);
   * null when someone else did.
   */
  takeOver(updateId: number, any = false): Promise<PendingUpdate | null> {
    return this.pending.findOneAndUpdate(
      {
        _id: this.id(updateId),
        ...(any ? { owner: { $ne: this.owner } } : { leaseUntil: { $lt: new Date(this.now()) } }),
      },
      { $set: { owner: this.owner, leaseUntil: this.lease() }, $inc: { attempts: 1 } },
      { returnDocument: "after" },
    );
  }

  /** Pending updates whose holder's lease ran out (with `any`: held by others), oldest first. */
  abandoned(limit: number, any = false): Promise<PendingUpdate[]> {
    return this.pending.find(
      {
        bot: this.bot,
        ...(any ? { owner: { $ne: this.owner } } : { leaseUntil: { $lt: new Date(this.now()) } }),
      },
      { sort: { updateId: 1 }, limit, projection: { updateId: 1 } },
    );
  }

  /**
   * Marks an update handled: its id is remembered until `updates.rememberHours` have passed,
   * and its pending entry goes. Written even when the update never made it into the store
   * (it came in while the store was down).
   */
  done(updateId: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (this.finishing.length === 0) setTimeout(() => this.writeDone(), DONE_BATCH_MS);
      this.finishing.push({
        id: this.id(updateId),
        settle: (written) => written.then(resolve, reject),
      });
    });
  }

  /** Writes the done markers asked for since the last batch, then drops their entries. */
  private writeDone(): void {
    const batch = this.finishing;
    this.finishing = [];
    const ids = batch.map((item) => item.id);
    const expiresAt = new Date(this.now() + this.rememberMs);
    const written = (async () => {
      try {
        await this.handled.insertMany(ids.map((_id) => ({ _id, expiresAt })));
      } catch (error) {
        if (!isKamihiError(error, "KAMIHI_DB_DUPLICATE_KEY")) throw error;
        // Some were marked already (a redelivery): mark the others one by one.
        for (const _id of ids) {
          await this.handled.insertOne({ _id, expiresAt }).catch((clash: unknown) => {
            if (!isKamihiError(clash, "KAMIHI_DB_DUPLICATE_KEY")) throw clash;
          });
        }
      }
      await this.pending.deleteMany({ _id: { $in: ids } });
    })();
    for (const item of batch) item.settle(written);
  }

  /** Renews this instance's hold on the updates it is still working on. */
  async renew(updateIds: readonly number[]): Promise<void> {
    if (updateIds.length === 0) return;
    await this.pending.updateMany(
      { _id: { $in: updateIds.map((id) => this.id(id)) }, owner: this.owner },
      { $set: { leaseUntil: this.lease() } },
    );
  }

  /** Lets go of updates this instance will not finish: the next start takes them at once. */
  async release(updateIds: readonly number[]): Promise<void> {
    if (updateIds.length === 0) return;
    await this.pending.updateMany(
      { _id: { $in: updateIds.map((id) => this.id(id)) }, owner: this.owner },
      { $set: { leaseUntil: new Date(0) } },
    );
  }
}
