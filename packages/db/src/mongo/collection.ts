import type {
  Collection,
  DeleteResult,
  Document,
  FindOneAndUpdateOptions,
  FindOptions,
  IndexSpec,
  Insertable,
  Stored,
  UpdateOptions,
  UpdateResult,
} from "@kamihi/core";
import type { Db } from "mongodb";
import { idOf, matches, project } from "../by-id.js";
import {
  andFilter,
  assertStorable,
  checkFilter,
  checkUpdate,
  withInsertFields,
  withUpdateFields,
} from "../common.js";
import { attemptedBy } from "./clash.js";
import { ensureIndex } from "./indexes.js";
import type { DocumentLocks } from "./locks.js";
import type { RunOperation } from "./operation.js";
import {
  type LockedCollection,
  type UpdateCounts,
  updateEachLocked,
  updateOneLocked,
} from "./serialized.js";
import type { TtlRules } from "./ttl.js";

/** What the collections of one MongoDB store share. */
export interface MongoCollectionContext {
  db: Db;
  run: RunOperation;
  ttl: TtlRules;
  locks: DocumentLocks;
  /** Whether single-document updates take locks (known once the store has connected). */
  serializeUpdates: () => boolean;
}

/**
 * On a server that needs serialized updates (FerretDB), a filter naming one `_id` is run as a
 * bare `{ _id }` lookup (its primary key) and the rest of the filter is tested here: anything
 * more than `{ _id }` makes FerretDB 1.x scan the whole collection. MongoDB gets the filter as
 * it is, so this is `undefined` there, and for projections of sub-fields (tested here, they
 * would need the whole document).
 */
export function primaryKeyLookup(
  filter: unknown,
  projection: Record<string, 0 | 1> | undefined,
  serialized: boolean,
): { id: unknown } | undefined {
  if (!serialized || filter === null || typeof filter !== "object") return undefined;
  if (projection !== undefined && Object.keys(projection).some((key) => key.includes("."))) {
    return undefined;
  }
  return idOf(filter as Document);
}

/**
 * The {@link Collection} `name` (stored as `fullName`) over the driver: every operation through
 * the store's runner, expired documents hidden, base fields maintained, and single-document
 * updates serialized where the server needs it.
 */
export function createMongoCollection<T extends Document>(
  name: string,
  fullName: string,
  context: MongoCollectionContext,
): Collection<T> {
  const { run, ttl } = context;
  const raw = context.db.collection<Document>(fullName);
  const visible = async (filter: unknown) =>
    andFilter(checkFilter(fullName, filter), await ttl.unexpired(fullName));
  const retry = <R>(write: () => Promise<R>, beforeRetry?: (error: unknown) => void) =>
    ttl.retryAfterPurge(fullName, write, beforeRetry);
  const locked: LockedCollection = { name: fullName, raw, locks: context.locks, retry };
  const byId = (filter: unknown, projection?: Record<string, 0 | 1>) =>
    primaryKeyLookup(filter, projection, context.serializeUpdates());

  /** Runs `update` on one document, under its lock where the server needs it. */
  const updateFirst = <R>(
    query: Document,
    sort: FindOptions["sort"],
    id: { id: unknown } | undefined,
    update: (filter: Document) => Promise<R>,
  ) =>
    context.serializeUpdates() ? updateOneLocked(locked, query, sort, id, update) : update(query);

  async function updateWith(
    kind: "one" | "many",
    filter: unknown,
    update: unknown,
    opts: UpdateOptions = {},
  ): Promise<UpdateResult> {
    const base = checkFilter(fullName, filter);
    const upsert = opts.upsert === true;
    const change = withUpdateFields(base, checkUpdate(fullName, update), new Date(), upsert);
    const query = await visible(base);
    let result: UpdateCounts;
    if (kind === "one") {
      result = await updateFirst(query, undefined, byId(base), (target) =>
        retry(() => raw.updateOne(target, change, { upsert })),
      );
    } else if (context.serializeUpdates()) {
      result = await updateEachLocked(locked, query, change, upsert);
    } else {
      result = await retry(() => raw.updateMany(query, change, { upsert }));
    }
    return {
      matchedCount: result.matchedCount,
      modifiedCount: result.modifiedCount,
      upsertedId:
        result.upsertedId === null || result.upsertedId === undefined
          ? null
          : String(result.upsertedId),
    };
  }

  return {
    name,
    findOne: (filter, opts) =>
      run(fullName, "findOne", async () => {
        const query = await visible(filter);
        const id = byId(filter, opts?.projection);
        if (id !== undefined) {
          const found = await raw.findOne({ _id: id.id as never });
          return (
            found !== null && matches(query, found) ? project(found, opts?.projection) : null
          ) as Stored<T> | null;
        }
        const doc = await raw.findOne(query, {
          ...(opts?.sort ? { sort: opts.sort } : {}),
          ...(opts?.projection ? { projection: opts.projection } : {}),
        });
        return doc as unknown as Stored<T> | null;
      }),
    find: (filter, opts: FindOptions = {}) =>
      run(fullName, "find", async () => {
        let cursor = raw.find(await visible(filter));
        if (opts.sort) cursor = cursor.sort(opts.sort);
        if (opts.skip) cursor = cursor.skip(opts.skip);
        if (opts.limit) cursor = cursor.limit(opts.limit);
        if (opts.projection) cursor = cursor.project(opts.projection);
        return (await cursor.toArray()) as unknown as Stored<T>[];
      }),
    insertOne: (doc: Insertable<T>) =>
      run(
        fullName,
        "insertOne",
        async () => {
          assertStorable(fullName, doc);
          const stored = withInsertFields(structuredClone(doc), new Date());
          await retry(() => raw.insertOne({ ...stored }));
          return structuredClone(stored) as Stored<T>;
        },
        () => [doc],
      ),
    insertMany: (docs: readonly Insertable<T>[]) =>
      run(
        fullName,
        "insertMany",
        async () => {
          if (docs.length === 0) return [];
          for (const doc of docs) assertStorable(fullName, doc);
          const now = new Date();
          const stored = docs.map((doc) => withInsertFields(structuredClone(doc), now));
          // An ordered insert stops at the first clash; after purging expired documents,
          // only the rest is sent again.
          let from = 0;
          await retry(
            () =>
              raw.insertMany(
                stored.slice(from).map((doc) => ({ ...doc })),
                { ordered: true },
              ),
            (error) => {
              const index = (error as { writeErrors?: Array<{ index?: number }> }).writeErrors?.[0]
                ?.index;
              from += index ?? 0;
            },
          );
          return structuredClone(stored) as Stored<T>[];
        },
        () => docs,
      ),
    updateOne: (filter, update, opts?: UpdateOptions) =>
      run(
        fullName,
        "updateOne",
        () => updateWith("one", filter, update, opts),
        () => attemptedBy(filter, update),
      ),
    updateMany: (filter, update, opts?: UpdateOptions) =>
      run(
        fullName,
        "updateMany",
        () => updateWith("many", filter, update, opts),
        () => attemptedBy(filter, update),
      ),
    findOneAndUpdate: (filter, update, opts: FindOneAndUpdateOptions = {}) =>
      run(
        fullName,
        "findOneAndUpdate",
        async () => {
          const base = checkFilter(fullName, filter);
          const upsert = opts.upsert === true;
          const change = withUpdateFields(base, checkUpdate(fullName, update), new Date(), upsert);
          const query = await visible(base);
          const doc = await updateFirst(query, opts.sort, byId(base), (target) =>
            retry(() =>
              raw.findOneAndUpdate(target, change, {
                upsert,
                returnDocument: opts.returnDocument ?? "after",
                ...(opts.sort ? { sort: opts.sort } : {}),
                includeResultMetadata: false,
              }),
            ),
          );
          return doc as unknown as Stored<T> | null;
        },
        () => attemptedBy(filter, update),
      ),
    deleteOne: (filter) =>
      run(fullName, "deleteOne", async (): Promise<DeleteResult> => {
        const query = await visible(filter);
        const id = byId(filter);
        if (id !== undefined) {
          const found = await raw.findOne({ _id: id.id as never });
          if (found === null || !matches(query, found)) return { deletedCount: 0 };
          const result = await raw.deleteOne({ _id: found._id as never });
          return { deletedCount: result.deletedCount };
        }
        const result = await raw.deleteOne(query);
        return { deletedCount: result.deletedCount };
      }),
    deleteMany: (filter) =>
      run(fullName, "deleteMany", async (): Promise<DeleteResult> => {
        const result = await raw.deleteMany(await visible(filter));
        return { deletedCount: result.deletedCount };
      }),
    countDocuments: (filter) =>
      run(fullName, "countDocuments", async () => raw.countDocuments(await visible(filter))),
    createIndex: (spec: IndexSpec) =>
      run(fullName, "createIndex", () => ensureIndex(context.db, fullName, spec, ttl)),
  };
}
