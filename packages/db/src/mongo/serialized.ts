import type { Document, FindOptions } from "@kamihi/core";
import type { Collection as DriverCollection } from "mongodb";
import { matches } from "../by-id.js";
import type { DocumentLocks } from "./locks.js";

/**
 * Updates that concurrent callers see as atomic, as MongoDB guarantees, on servers that do
 * not: FerretDB 1.x reads and writes a document in two steps, so two conditional updates can
 * both win. Each target document is locked first (see `locks.ts`).
 */
export interface LockedCollection {
  /** The collection's full name, which prefixes its lock ids. */
  name: string;
  raw: DriverCollection<Document>;
  locks: DocumentLocks;
  /** Runs a write, purging expired documents and trying again if one blocks it. */
  retry: <R>(write: () => Promise<R>) => Promise<R>;
}

/** Counts of an update, as the driver gives them. */
export interface UpdateCounts {
  matchedCount: number;
  modifiedCount: number;
  upsertedId: unknown;
}

/**
 * Runs `update` on the first document matching `query` (in `sort` order) under its lock.
 * `byId` is the `_id` the filter names, read by its bare primary key. `update` gets the filter
 * that targets the locked document; without a match, the plain `query` (an upsert's insert is
 * guarded by unique indexes).
 */
export async function updateOneLocked<R>(
  target: LockedCollection,
  query: Document,
  sort: FindOptions["sort"],
  byId: { id: unknown } | undefined,
  update: (filter: Document) => Promise<R>,
): Promise<R> {
  const { raw } = target;
  let candidate: Document | null;
  if (byId !== undefined) {
    candidate = await raw.findOne({ _id: byId.id as never });
    if (candidate !== null && !matches(query, candidate)) candidate = null;
  } else {
    candidate = await raw.findOne(query, { projection: { _id: 1 }, ...(sort ? { sort } : {}) });
  }
  if (candidate === null) return update(query);
  const id = candidate._id;
  return target.locks.holding(`${target.name}:${String(id)}`, async () =>
    update(await lockedFilter(raw, query, id)),
  );
}

/** `updateMany`, each matched document updated under its lock as {@link updateOneLocked} does. */
export async function updateEachLocked(
  target: LockedCollection,
  query: Document,
  change: Document,
  upsert: boolean,
): Promise<UpdateCounts> {
  const { raw } = target;
  const ids = (await raw.find(query, { projection: { _id: 1 } }).toArray()).map((d) => d._id);
  if (ids.length === 0) return target.retry(() => raw.updateMany(query, change, { upsert }));
  let matchedCount = 0;
  let modifiedCount = 0;
  for (const id of ids) {
    const one = await target.locks.holding(`${target.name}:${String(id)}`, async () => {
      const filter = await lockedFilter(raw, query, id);
      return target.retry(() => raw.updateOne(filter, change));
    });
    matchedCount += one.matchedCount;
    modifiedCount += one.modifiedCount;
  }
  return { matchedCount, modifiedCount, upsertedId: null };
}

/**
 * The filter that updates a locked document: its bare `_id` (answered from the primary key)
 * when it still matches `query`, which no other writer can change while it is locked;
 * otherwise the full filter, which then matches nothing (or upserts).
 */
async function lockedFilter(
  raw: DriverCollection<Document>,
  query: Document,
  id: unknown,
): Promise<Document> {
  const current = await raw.findOne({ _id: id as never });
  return current !== null && matches(query, current) ? { _id: id } : { $and: [query, { _id: id }] };
}
