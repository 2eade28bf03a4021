import type { Document } from "@kamihi/core";
import type { Db } from "mongodb";

/**
 * The unique key of `attempted` (documents a write tried to store) that a document of
 * `collection` already holds, and its index: for servers whose duplicate-key errors do not
 * name it (FerretDB 1.x).
 */
export async function findClash(
  db: Db,
  collection: string,
  attempted: readonly Document[],
): Promise<{ key: Document; index: string } | undefined> {
  const raw = db.collection<Document>(collection);
  const indexes = await raw.listIndexes().toArray();
  for (const index of indexes) {
    if (index.unique !== true && index.name !== "_id_") continue;
    const fields = Object.keys(index.key as Document);
    for (const doc of attempted) {
      if (fields.some((field) => !(field in doc))) continue;
      const key = Object.fromEntries(fields.map((field) => [field, doc[field]]));
      if ((await raw.countDocuments(key, { limit: 2 })) >= 1) {
        return { key, index: String(index.name) };
      }
    }
  }
  return undefined;
}

/** What an update tries to store, as far as a unique key can tell: filter and `$set` values. */
export function attemptedBy(filter: unknown, update: unknown): Document[] {
  const equalities = Object.fromEntries(
    Object.entries((filter ?? {}) as Document).filter(
      ([key, value]) =>
        !key.startsWith("$") &&
        (value === null || typeof value !== "object" || value instanceof Date),
    ),
  );
  const set = ((update ?? {}) as { $set?: Document }).$set ?? {};
  return [{ ...equalities, ...set }];
}
