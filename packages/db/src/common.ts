import { type Collection, type Document, type IndexSpec, KamihiError } from "@kamihi/core";
import { ObjectId } from "bson";

/** The update operators every store supports. */
export const UPDATE_OPERATORS = [
  "$set",
  "$unset",
  "$inc",
  "$push",
  "$pull",
  "$addToSet",
  "$setOnInsert",
] as const;

/** A new document id: an ObjectId's hex form, so ids sort by creation time. */
export function newId(): string {
  return new ObjectId().toHexString();
}

/** Name of an index, derived from its keys as MongoDB does (`telegramId_1`). */
export function indexName(spec: IndexSpec): string {
  return (
    spec.name ??
    Object.entries(spec.keys)
      .map(([field, direction]) => `${field}_${direction}`)
      .join("_")
  );
}

/** A TTL rule: documents expire `seconds` after the date in `field`. */
export interface TtlRule {
  field: string;
  seconds: number;
}

/** The TTL rule of an index, if it is a TTL index. */
export function ttlRuleOf(spec: IndexSpec): TtlRule | undefined {
  if (spec.expireAfterSeconds === undefined) return undefined;
  const fields = Object.keys(spec.keys);
  const field = fields[0];
  if (fields.length !== 1 || field === undefined) return undefined;
  return { field, seconds: spec.expireAfterSeconds };
}

/**
 * The filter that hides expired documents: a document past its TTL is gone for every read,
 * whether or not the backend has removed it yet (MongoDB's TTL monitor runs once a minute).
 */
export function notExpired(rules: readonly TtlRule[], now: Date): Document | undefined {
  if (rules.length === 0) return undefined;
  const clauses = rules.map((rule) => ({
    [rule.field]: { $not: { $lte: new Date(now.getTime() - rule.seconds * 1000) } },
  }));
  return clauses.length === 1 ? clauses[0] : { $and: clauses };
}

/** The filter that selects expired documents (to purge them before an insert). */
export function expired(rules: readonly TtlRule[], now: Date): Document | undefined {
  if (rules.length === 0) return undefined;
  const clauses = rules.map((rule) => ({
    [rule.field]: { $lte: new Date(now.getTime() - rule.seconds * 1000) },
  }));
  return clauses.length === 1 ? clauses[0] : { $or: clauses };
}

/** `filter AND extra`, without nesting when either side is empty. */
export function andFilter(filter: Document, extra: Document | undefined): Document {
  if (extra === undefined) return filter;
  if (Object.keys(filter).length === 0) return extra;
  return { $and: [filter, extra] };
}

function invalid(collection: string, message: string): KamihiError {
  return new KamihiError("KAMIHI_DB_INVALID_QUERY", `${message} (collection ${collection})`, {
    details: { collection },
  });
}

/** Checks a filter is a plain object; operators inside are the caller's choice. */
export function checkFilter(collection: string, filter: unknown): Document {
  if (filter === undefined) return {};
  if (filter === null || typeof filter !== "object" || Array.isArray(filter)) {
    throw invalid(collection, "A filter must be an object such as { telegramId: 42 }");
  }
  return filter as Document;
}

/**
 * Refuses values a store cannot keep faithfully: invalid dates (they would poison the
 * embedded store's file and mean nothing to MongoDB), functions and symbols.
 */
export function assertStorable(collection: string, value: unknown, path = ""): void {
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) {
      throw invalid(collection, `The value at ${path || "the top"} is an invalid Date`);
    }
    return;
  }
  if (typeof value === "function" || typeof value === "symbol") {
    throw invalid(
      collection,
      `The value at ${path || "the top"} is a ${typeof value}, which cannot be stored`,
    );
  }
  if (value === null || typeof value !== "object") return;
  for (const [key, child] of Object.entries(value)) {
    assertStorable(collection, child, path === "" ? key : `${path}.${key}`);
  }
}

/** Checks an update uses only the supported operators, and nothing else. */
export function checkUpdate(collection: string, update: unknown): Document {
  if (update === null || typeof update !== "object" || Array.isArray(update)) {
    throw invalid(collection, "An update must be an object of operators such as { $set: { … } }");
  }
  const keys = Object.keys(update);
  if (keys.length === 0) throw invalid(collection, "An update needs at least one operator");
  for (const key of keys) {
    if (!(UPDATE_OPERATORS as readonly string[]).includes(key)) {
      throw invalid(
        collection,
        key.startsWith("$")
          ? `The update operator ${key} is not supported; use ${UPDATE_OPERATORS.join(", ")}`
          : `An update must use operators; to change "${key}" write { $set: { ${key}: … } }`,
      );
    }
    const operand = (update as Document)[key];
    if (operand === null || typeof operand !== "object" || Array.isArray(operand)) {
      throw invalid(collection, `The operand of ${key} must be an object of fields`);
    }
    assertStorable(collection, operand, key);
  }
  return update as Document;
}

/** Fields an update operator touches, as dotted paths. */
function touched(update: Document): Set<string> {
  const fields = new Set<string>();
  for (const [op, operand] of Object.entries(update)) {
    if (op === "$setOnInsert") continue;
    for (const field of Object.keys(operand as Document)) fields.add(field);
  }
  return fields;
}

/** A copy of a document to insert, with `_id`, `createdAt` and `updatedAt` filled in. */
export function withInsertFields<T extends Document>(doc: T, now: Date): Document {
  return { ...doc, _id: doc._id ?? newId(), createdAt: doc.createdAt ?? now, updatedAt: now };
}

/**
 * The update the store really runs: `updatedAt` set on every match; on an upsert's insert,
 * `createdAt` and a string `_id` (unless the filter or the update fixes them).
 */
export function withUpdateFields(
  filter: Document,
  update: Document,
  now: Date,
  upsert: boolean,
): Document {
  const fields = touched(update);
  const result: Document = { ...update };
  if (!fields.has("updatedAt")) {
    result.$set = { ...((update.$set as Document | undefined) ?? {}), updatedAt: now };
  }
  if (upsert) {
    const onInsert: Document = { ...((update.$setOnInsert as Document | undefined) ?? {}) };
    if (!fields.has("createdAt") && !("createdAt" in onInsert)) onInsert.createdAt = now;
    if (!fixesId(filter) && !("_id" in onInsert) && !fields.has("_id")) onInsert._id = newId();
    result.$setOnInsert = onInsert;
  }
  return result;
}

/** Whether an upsert's filter gives the new document its `_id` (by equality). */
function fixesId(filter: Document): boolean {
  if (!("_id" in filter)) return false;
  const id = filter._id;
  if (id === null || typeof id !== "object" || id instanceof Date) return true;
  return Object.keys(id).length === 1 && "$eq" in id;
}

/** A unique index said no: the error every store raises. */
export function duplicateKeyError(
  collection: string,
  key: Document | undefined,
  index: string | undefined,
  cause?: unknown,
): KamihiError {
  const shown = key === undefined ? "" : ` ${JSON.stringify(key)}`;
  return new KamihiError(
    "KAMIHI_DB_DUPLICATE_KEY",
    `A document with the key${shown} already exists in ${collection}${index === undefined ? "" : ` (unique index ${index})`}; update that document instead, or use another value.`,
    {
      cause,
      details: {
        collection,
        ...(index === undefined ? {} : { index }),
        ...(key === undefined ? {} : { key }),
      },
    },
  );
}

/** One collection object per name, made on first use. */
export function collectionCache(
  make: (name: string) => Collection<Document>,
): <T extends Document = Document>(name: string) => Collection<T> {
  const cache = new Map<string, Collection<Document>>();
  return <T extends Document = Document>(name: string) => {
    let collection = cache.get(name);
    if (collection === undefined) {
      collection = make(name);
      cache.set(name, collection);
    }
    return collection as unknown as Collection<T>;
  };
}

/**
 * Runs `start` once, however many callers wait for it; after a failure the next call tries
 * again (a database that was down at start-up may be up a moment later).
 */
export function startOnce(start: () => Promise<void>): () => Promise<void> {
  let started: Promise<void> | undefined;
  return () => {
    started ??= start().catch((error: unknown) => {
      started = undefined;
      throw error;
    });
    return started;
  };
}
